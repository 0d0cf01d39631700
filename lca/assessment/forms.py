from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, MultipleFileField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional

from lca.hours.forms import CheckboxesField
from lca.models import GradeResult, ReportStatus, Rubric
from lca.web.forms import BaseForm, max_length, multiline, options
from lca.web.i18n import LABELS


class ReportForm(BaseForm):
    summary = TextAreaField(
        _l("What you did in your city and what you learned"),
        description=_l(
            "Your work in the field, its results, how you shared them, and what you "
            "would do differently."
        ),
        filters=[multiline],
        validators=[DataRequired(_l("Write the summary of your field work.")), max_length(20_000)],
    )
    log_ids = CheckboxesField(_l("The field logs this report draws on"), coerce=int, default=[])
    files = MultipleFileField(
        _l("Attachments: photos or PDFs"),
        description=_l("Up to 5 files of at most 10 MB each: JPEG, PNG, WebP, HEIC or PDF."),
    )
    remove_files = CheckboxesField(_l("Remove these files"), coerce=int, default=[])


RESULT_CHOICES = [(result.value, LABELS[result]) for result in GradeResult]


def grade_form(rubric: Rubric, formdata=None) -> BaseForm:
    """A grading form for this rubric: points and a comment per criterion, result, feedback."""

    class GradeForm(BaseForm):
        result = RadioField(
            _l("Result"),
            choices=options(RESULT_CHOICES),
            validators=[InputRequired(_l("Choose pass, revise or fail."))],
        )
        feedback = TextAreaField(
            _l("Overall feedback"),
            description=_l("Required for revise: say what to change."),
            filters=[multiline],
            validators=[Optional(), max_length(5000)],
        )

    for criterion in rubric.criteria:
        setattr(
            GradeForm,
            f"points_{criterion.id}",
            IntegerField(
                _l("Points (0 to %(max)s)", max=criterion.max_points), validators=[Optional()]
            ),
        )
        setattr(
            GradeForm,
            f"comment_{criterion.id}",
            TextAreaField(
                _l("Comment"), filters=[multiline], validators=[Optional(), max_length(2000)]
            ),
        )
    return GradeForm(formdata=formdata) if formdata is not None else GradeForm()


class AssignForm(BaseForm):
    assessor_id = SelectField(_l("Assessor"), coerce=int, default=0)


class ReportFilterForm(BaseForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("State"),
        default="submitted",
        choices=options((s.value, LABELS[s]) for s in ReportStatus),
    )
    cohort = SelectField(_l("Cohort"), coerce=int, default=0)
