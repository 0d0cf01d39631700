from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from lca.web.forms import BaseForm


class NotificationChoicesForm(BaseForm):
    wants_reminders = BooleanField(
        _l("Reminders: when my field window is about to close and something is still missing")
    )
    wants_digests = BooleanField(
        _l("Daily digests: what waits for me to review or grade, and for administrators")
    )


class ConfirmForm(BaseForm):
    """A button that only needs the CSRF token."""
