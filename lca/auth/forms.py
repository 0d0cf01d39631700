from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, SelectField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, NumberRange
from wtforms.widgets import HiddenInput

from lca.web.forms import BaseForm, clean_email, max_length, options

LANGUAGE_CHOICES = [("th", "ไทย"), ("en", "English")]


class LoginForm(BaseForm):
    email = EmailField(
        _l("E-mail address"),
        filters=[clean_email],
        validators=[DataRequired(_l("Enter your e-mail address."))],
    )
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(BaseForm):
    """The address of the account whose password was forgotten."""

    email = EmailField(
        _l("E-mail address"),
        filters=[clean_email],
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            max_length(254),
            Email(_l("This is not a valid e-mail address."), check_deliverability=False),
        ],
    )


class PreferencesForm(BaseForm):
    preferred_language = SelectField(
        _l("Language"), choices=options(LANGUAGE_CHOICES), validators=[InputRequired()]
    )


#: made before the new-password fields so that WTForms (which orders fields by creation) lists
#: it first in the error summary of ChangePasswordForm
CURRENT_PASSWORD = PasswordField(
    _l("Current password"), validators=[InputRequired(_l("Enter your current password."))]
)


class SetPasswordForm(BaseForm):
    """A new password, typed twice: from a set-password link."""

    new_password = PasswordField(
        _l("New password"), validators=[InputRequired(_l("Enter a new password."))]
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(_l("Type the new password again.")),
            EqualTo("new_password", _l("The two new passwords are not the same.")),
        ],
    )


class ChangePasswordForm(SetPasswordForm):
    """A signed-in person's change: the current password first."""

    current_password = CURRENT_PASSWORD


class SignOutEverywhereForm(BaseForm):
    """The password again before ending the account's other sessions."""

    current_password = CURRENT_PASSWORD


class RenewCalendarForm(BaseForm):
    """A new address for one's calendar feed (the button alone; CSRF is the check)."""


class ConfirmPasswordForm(BaseForm):
    """The password again before a change to one's second factors (lca/auth/reauth.py)."""

    current_password = CURRENT_PASSWORD


class EndSessionForm(BaseForm):
    """One other session of the account to end, by its id (a hidden field of its row)."""

    session_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1)]
    )


class ConfirmEndSessionForm(EndSessionForm):
    """The same session, and the password again before it ends."""

    current_password = CURRENT_PASSWORD
