"""Mail deliveries for administrators: the messages that failed for good (who, what, when,
why) with a way to try one again, and how many wait for the worker."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lca.admin import bp
from lca.core.db import db, utcnow
from lca.models import EmailStatus, Message, MessageKind, Role
from lca.notifications.delivery import retry_message
from lca.web.pages import page_number, perform
from lca.web.permissions import get_or_404, role_required

#: what each kind of message is, as an administrator reads it
KIND_LABELS = {
    MessageKind.INVITATION: _l("Invitation"),
    MessageKind.PASSWORD_RESET: _l("Password reset"),
    MessageKind.PASSWORD_CHANGED: _l("Password changed"),
    MessageKind.NEW_SIGN_IN: _l("New sign-in"),
    MessageKind.LOG_RETURNED: _l("Log returned with a question"),
    MessageKind.LOG_REJECTED: _l("Log rejected"),
    MessageKind.REPORT_GRADED: _l("Field report graded"),
    MessageKind.CERTIFICATE_ISSUED: _l("Certificate issued"),
    MessageKind.CERTIFICATE_REVOKED: _l("Certificate revoked"),
    MessageKind.CERTIFICATE_SUPERSEDED: _l("Certificate superseded"),
    MessageKind.WINDOW_EXTENDED: _l("Field window extended"),
    MessageKind.WINDOW_REMINDER: _l("Field window reminder"),
    MessageKind.INSTRUCTOR_DIGEST: _l("Instructor's daily digest"),
    MessageKind.ADMIN_DIGEST: _l("Administrator's digest"),
}


def _waiting_counts() -> dict[str, int]:
    """How many messages wait: due now, and to be tried again later after a failure."""
    now = utcnow()
    due, later = db.session.execute(
        select(
            func.count().filter(Message.next_attempt_at <= now),
            func.count().filter(Message.next_attempt_at > now),
        ).where(Message.email_status == EmailStatus.WAITING)
    ).one()
    return {"due": due or 0, "later": later or 0}


@bp.get("/messages")
@role_required(Role.ADMIN)
def messages():
    failed = (
        select(Message)
        .options(joinedload(Message.recipient))
        .where(Message.email_status == EmailStatus.FAILED)
        .order_by(Message.next_attempt_at.desc(), Message.id.desc())
    )
    page = db.paginate(
        failed,
        page=page_number(),
        per_page=current_app.config["LCA_PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "admin/messages.html", page=page, waiting=_waiting_counts(), kinds=KIND_LABELS
    )


@bp.post("/messages/<int:message_id>/retry")
@role_required(Role.ADMIN)
def retry_delivery(message_id: int):
    message = get_or_404(Message, message_id)
    return perform(
        lambda: retry_message(message, current_user),
        done=_("The message will be sent again in a moment."),
        then=url_for(".messages"),
    )
