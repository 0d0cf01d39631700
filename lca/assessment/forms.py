from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from lca.hours.forms import CheckboxesField
from lca.models import GradeResult, ReportStatus, Rubric, RubricCriterion
from lca.web.forms import BaseForm, max_length, multiline, options
from lca.web.i18n import LABELS, localized


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
    keep_place = BooleanField(
        _l("Keep where my photos were taken, as evidence"),
        description=_l(
            "The place saved in the photo by your phone is shown with the photo; the stored "
            "photo itself never keeps it. Without the tick no place is kept."
        ),
    )
    remove_files = CheckboxesField(_l("Remove these files"), coerce=int, default=[])


RESULT_CHOICES = [(result.value, LABELS[result]) for result in GradeResult]


class PointsField(IntegerField):
    """One criterion's points; a value that is not a whole number names the criterion."""

    def __init__(self, criterion: RubricCriterion, **kwargs) -> None:
        super().__init__(
            _l(
                "Points for criterion %(number)s (0 to %(max)s)",
                number=criterion.number,
                max=criterion.max_points,
            ),
            validators=[Optional()],
            render_kw={"data-points": ""},
            **kwargs,
        )
        self.criterion_number, self.criterion_name = criterion.number, localized(criterion, "name")

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(
                _(
                    "Criterion %(number)s, %(name)s: the points are a whole number, "
                    "for example 15.",
                    number=self.criterion_number,
                    name=self.criterion_name,
                )
            ) from error


def typed_total(form: BaseForm, rubric: Rubric) -> tuple[int, bool]:
    """The points typed so far, added up (what a grade would total), and whether every
    criterion has points within its range. The service computes the grade's own total."""
    total, complete = 0, True
    for criterion in rubric.criteria:
        points = form[f"points_{criterion.id}"].data
        if isinstance(points, int) and 0 <= points <= criterion.max_points:
            total += points
        else:
            complete = False
    return total, complete


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
        setattr(GradeForm, f"points_{criterion.id}", PointsField(criterion))
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


class ReopenForm(BaseForm):
    reason = TextAreaField(
        _l("Why the learner may hand in the report again"),
        description=_l("Kept with the report and shown to the learner."),
        filters=[multiline],
        validators=[
            DataRequired(_l("Give the reason for reopening the report.")),
            max_length(2000),
        ],
    )
