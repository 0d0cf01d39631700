from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, Regexp

from lca.models.cohorts import MAX_FIELD_WINDOW_MONTHS
from lca.web.forms import BaseForm, DayField, clean_email, clean_text, max_length, multiline
from lca.web.pages import MAX_DATABASE_INT


def _upper(value):
    value = clean_text(value)
    return value.upper() if value else value


class CohortForm(BaseForm):
    code = StringField(
        _l("Cohort code"),
        description=_l("Capital letters, digits and hyphens, for example CA-2569-01."),
        filters=[_upper],
        validators=[
            DataRequired(_l("Enter the cohort code.")),
            max_length(32),
            Regexp(
                r"^[A-Z0-9][A-Z0-9-]{2,31}$",
                message=_l("Use capital letters, digits and hyphens, for example CA-2569-01."),
            ),
        ],
    )
    host_city_id = SelectField(
        _l("Host city"), coerce=int, validators=[InputRequired(_l("Choose the host city."))]
    )
    starts_on = DayField(_l("First day"), validators=[InputRequired(_l("Enter the first day."))])
    ends_on = DayField(_l("Last day"), validators=[InputRequired(_l("Enter the last day."))])
    field_starts_on = DayField(
        _l("Field practice starts"),
        description=_l("Leave empty to start on the cohort's first day."),
        validators=[Optional()],
    )
    field_window_months = IntegerField(
        _l("Field window (months)"),
        default=6,
        validators=[
            InputRequired(_l("Enter the length of the field window in months.")),
            NumberRange(
                min=1,
                max=MAX_FIELD_WINDOW_MONTHS,
                message=_l("The field window is from %(min)d to %(max)d months."),
            ),
        ],
    )


class NewCohortForm(CohortForm):
    """A new cohort also chooses its curriculum (the current version unless another is picked);
    afterwards it changes only by a move (CurriculumMoveForm)."""

    curriculum_version_id = SelectField(
        _l("Curriculum"),
        coerce=int,
        description=_l("The current version unless the cohort should follow an earlier one."),
        # not sent (an older form, a script): the current version, as the list preselects
        validators=[Optional()],
    )


class AssignInstructorForm(BaseForm):
    instructor_id = SelectField(
        _l("Instructor"), coerce=int, validators=[InputRequired(_l("Choose an instructor."))]
    )


class EnrolForm(BaseForm):
    email = EmailField(
        _l("Learner's e-mail address"),
        filters=[clean_email],
        validators=[DataRequired(_l("Enter the learner's e-mail address."))],
    )


class WithdrawForm(BaseForm):
    reason = TextAreaField(
        _l("Reason for the withdrawal"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Give the reason for the withdrawal.")),
            max_length(1000),
        ],
    )


class FieldWindowForm(BaseForm):
    extended_to = DayField(
        _l("New last day of the field window"),
        description=_l(
            "A later day extends the window; an earlier one corrects a mistaken extension."
        ),
        validators=[InputRequired(_l("Enter the new last day."))],
    )
    reason = TextAreaField(
        _l("Reason"),
        filters=[multiline],
        validators=[DataRequired(_l("Give the reason for the extension.")), max_length(1000)],
    )
    confirm = BooleanField(_l("Confirm this date"))


def _a_version_id(message):
    """A hidden version id the page sent: a whole number the database can hold."""
    return [InputRequired(message), NumberRange(min=1, max=MAX_DATABASE_INT, message=message)]


class CurriculumMoveForm(BaseForm):
    """Moving a cohort to another curriculum version (lca.cohorts.curriculum_move). The two
    version ids are hidden inputs of the preview's page."""

    version_id = IntegerField(
        _l("Curriculum version to move to"),
        validators=_a_version_id(_l("Choose the curriculum version to move the cohort to.")),
    )
    expected_version_id = IntegerField(
        _l("The cohort's curriculum when the preview was made"),
        validators=_a_version_id(
            _l("Open the preview again: the form did not say which curriculum the cohort follows.")
        ),
    )
    reason = TextAreaField(
        _l("Reason for the move"),
        description=_l("Kept with the move and shown on the cohort's page."),
        filters=[multiline],
        validators=[DataRequired(_l("Give the reason for the move.")), max_length(1000)],
    )
    certificates_stand = BooleanField(_l("The certificates already issued stand as issued"))
