"""The rules of a person's messages: what optional messages they get (security messages are
never optional), one-click unsubscribe, and reading messages in the app."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import update

from lca.core.audit import record
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.models import Message, User
from lca.notifications.preferences import TOPICS


def choose_notifications(user: User, *, reminders: bool, digests: bool) -> None:
    """A person chooses whether they get reminders and digests; the choice is audited."""
    before = {"reminders": user.wants_reminders, "digests": user.wants_digests}
    user.wants_reminders, user.wants_digests = reminders, digests
    after = {"reminders": reminders, "digests": digests}
    if before != after:
        record(user, "notifications.choose", user, before=before, after=after)
    db.session.flush()


def unsubscribe(user: User, topic: str) -> bool:
    """Turn one topic of optional messages off from a mail's link (its signature checked by
    the caller); audited; whether anything changed."""
    column = TOPICS.get(topic)
    if column is None:
        raise RuleError(_("This link does not name messages that can be turned off."))
    if not getattr(user, column):
        return False
    setattr(user, column, False)
    record(user, "notifications.unsubscribe", user, topic=topic)
    db.session.flush()
    return True


def mark_read(message: Message) -> None:
    """A message opened in the app is read (once: the first time is kept)."""
    if message.read_at is None:
        message.read_at = utcnow()
        db.session.flush()


def mark_all_read(user: User) -> int:
    """Every unread message of a person is read; how many."""
    result = db.session.execute(
        update(Message)
        .where(Message.recipient_id == user.id, Message.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
