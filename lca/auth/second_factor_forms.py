"""The forms of the second step and of setting up a second factor."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired

from lca.web.forms import BaseForm, max_length


class CodeForm(BaseForm):
    """Six digits from an authenticator app."""

    code = StringField(
        _l("Code from the authenticator app"),
        validators=[DataRequired(_l("Enter the 6-digit code.")), max_length(64)],
    )


class RecoveryCodeForm(BaseForm):
    code = StringField(
        _l("Recovery code"),
        validators=[DataRequired(_l("Enter one of your recovery codes.")), max_length(64)],
    )


class PasskeyNameForm(BaseForm):
    """The label of a new passkey (the JavaScript sends it with the passkey)."""

    name = StringField(_l("Name of the passkey"), validators=[max_length(100)])
