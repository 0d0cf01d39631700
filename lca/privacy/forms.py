from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, TextAreaField
from wtforms.validators import DataRequired

from lca.privacy.erasure import MAX_REASON
from lca.web.forms import BaseForm, max_length, multiline


class AcknowledgeForm(BaseForm):
    """The privacy notice's "I have read it" button."""

    next = HiddenField()


class EraseForm(BaseForm):
    reason = TextAreaField(
        _l("Reason for the erasure"),
        description=_l(
            "For example: the learner's written request of 3 March 2570. "
            "It is kept in the audit log."
        ),
        filters=[multiline],
        validators=[
            DataRequired(_l("Give the reason for the erasure (it is kept in the audit log).")),
            max_length(MAX_REASON),
        ],
    )
    confirm = BooleanField(
        _l("I understand that the erasure cannot be undone"),
        validators=[DataRequired(_l("Tick the box to confirm that the erasure cannot be undone."))],
    )
