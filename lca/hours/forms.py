from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from lca.core.errors import RuleError
from lca.hours.services import check_minutes
from lca.models import AttendanceStatus
from lca.web.forms import BaseForm, DayField, clean_text, max_length, multiline, options
from lca.web.i18n import LABELS
from lca.web.pages import MAX_DATABASE_INT
from lca.web.time_field import ClockField


def hours_to_minutes(hours: Decimal | None) -> int | None:
    """Hours typed as a decimal (1.5) in whole minutes (90); None when not whole minutes."""
    if hours is None or not hours.is_finite():  # "Infinity" and "NaN" parse as decimals
        return None
    try:
        minutes = hours * 60
    except InvalidOperation:
        return None
    return int(minutes) if minutes == minutes.to_integral_value() else None


def quarter_hours(form, field) -> None:
    """Positive, at most 12, on the quarter-hour grid (the same rule the service enforces)."""
    if field.data is None:
        return
    minutes = hours_to_minutes(field.data)
    try:
        check_minutes(minutes if minutes is not None else 1)
    except RuleError as error:
        raise ValidationError(error.message) from error


class CheckboxesField(SelectMultipleField):
    """Several choices as ticked boxes; a value not offered is "Not a valid choice"."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        offered = {value for value, *_rest in self.iter_choices()}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError(self.gettext("Not a valid choice."))


class IdsField(SelectMultipleField):
    """Record ids carried by the page (hidden inputs); what is not one is ignored, as the
    page never sends it."""

    def process_formdata(self, valuelist):
        self.data = [
            int(value)
            for value in valuelist
            if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_DATABASE_INT
        ]

    def pre_validate(self, form):
        pass


def hours_field() -> DecimalField:
    """Hours typed as a decimal on the quarter-hour grid."""
    return DecimalField(
        _l("Hours"),
        description=_l("In hours, by quarter hours: 1, 1.5, 2.25 …"),
        places=2,
        validators=[InputRequired(_l("Enter the hours.")), quarter_hours],
    )


class LogForm(BaseForm):
    enrolment_id = SelectField(_l("Cohort"), coerce=int, validators=[InputRequired()])
    module_id = SelectField(
        _l("Module"), coerce=int, validators=[InputRequired(_l("Choose the module."))]
    )
    worked_on = DayField(_l("Day"), validators=[InputRequired(_l("Enter the day."))])
    starts_at = ClockField(
        _l("Started at"),
        description=_l("Optional: the time you began, on a 24-hour clock, such as 09:00."),
        validators=[Optional()],
    )
    hours = hours_field()
    description = TextAreaField(
        _l("What did you do?"),
        filters=[multiline],
        validators=[DataRequired(_l("Describe what you did.")), max_length(4000)],
    )
    mechanism_id = SelectField(_l("Mechanism"), coerce=int, default=0)
    tool_ids = CheckboxesField(_l("Tools used"), coerce=int, default=[])
    place = StringField(_l("Place"), filters=[clean_text], validators=[Optional(), max_length(200)])
    files = MultipleFileField(
        _l("Evidence: photos or PDFs"),
        description=_l("Up to 5 files of at most 10 MB each: JPEG, PNG, WebP, HEIC or PDF."),
    )
    keep_place = BooleanField(
        _l("Keep where my photos were taken, as evidence"),
        description=_l(
            "The place saved in the photo by your phone is shown with the photo; the stored "
            "photo itself never keeps it. Without the tick no place is kept."
        ),
    )
    remove_evidence = CheckboxesField(_l("Remove these files"), coerce=int, default=[])
    #: files chosen on an earlier try of this form, kept as the learner's drafts (drafts.py)
    draft_ids = IdsField(_l("Files kept from your last try"), coerce=int, default=[])
    remove_drafts = CheckboxesField(_l("Remove these kept files"), coerce=int, default=[])


class NoteForm(BaseForm):
    body = TextAreaField(
        _l("Message"), filters=[multiline], validators=[Optional(), max_length(2000)]
    )


class BulkApproveForm(BaseForm):
    log_ids = SelectMultipleField(_l("Logs"), coerce=int, validate_choice=False, default=[])


class BulkReviewForm(BulkApproveForm):
    """The ticked logs of the queue, and the one message a bulk return or rejection sends."""

    body = TextAreaField(
        _l("Message for the ticked logs"),
        description=_l(
            "Required to return the ticked logs with a question or not to approve them."
        ),
        filters=[multiline],
        validators=[Optional(), max_length(2000)],
    )


class QueueFilterForm(BaseForm):
    class Meta:
        csrf = False

    cohort = SelectField(_l("Cohort"), coerce=int, default=0)
    module = SelectField(_l("Module"), coerce=int, default=0)
    status = SelectField(_l("State"), default="pending")


class SessionForm(BaseForm):
    module_id = SelectField(
        _l("Module"), coerce=int, validators=[InputRequired(_l("Choose the module."))]
    )
    held_on = DayField(_l("Day"), validators=[InputRequired(_l("Enter the day."))])
    starts_at = TimeField(_l("Starts at"), validators=[InputRequired(_l("Enter the time."))])
    hours = hours_field()
    place = StringField(
        _l("Place"),
        filters=[clean_text],
        validators=[DataRequired(_l("Say where the session takes place.")), max_length(200)],
    )


class CancelSessionForm(BaseForm):
    """Calling a session off: the reason is kept in the audit trail."""

    reason = TextAreaField(
        _l("Reason for cancelling"),
        filters=[multiline],
        validators=[DataRequired(_l("Say why the session is cancelled.")), max_length(500)],
    )


ATTENDANCE_CHOICES = [(status.value, LABELS[status]) for status in AttendanceStatus]


class MarkForm(BaseForm):
    class Meta:
        csrf = False

    enrolment_id = HiddenField()
    #: a row starts unmarked: nobody is present until the instructor says so
    status = RadioField(
        _l("Attendance"), choices=options(ATTENDANCE_CHOICES), validators=[Optional()]
    )
    hours = DecimalField(_l("Hours if late"), places=2, validators=[Optional(), quarter_hours])


class AttendanceForm(BaseForm):
    marks = FieldList(FormField(MarkForm))
    #: marks every row not yet marked present, on the page (not saved until "Save attendance")
    all_present = SubmitField(_l("All present"))


class FieldStartForm(BaseForm):
    field_starts_on = DayField(
        _l("This learner's field practice starts"),
        description=_l("Leave empty to follow the cohort's field window."),
        validators=[Optional()],
    )
