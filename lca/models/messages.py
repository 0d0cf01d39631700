"""Messages to people (the outbox): written with the change that causes them, delivered by the
worker, listed in the app."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, text_enum, utcnow

if TYPE_CHECKING:
    from lca.models.users import User


class MessageKind(enum.Enum):
    """What a message is about; each kind has its subject and templates in templates/mail/."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of message, not a password
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a kind of message, not a password
    NEW_SIGN_IN = "new_sign_in"
    LOG_RETURNED = "log_returned"
    LOG_REJECTED = "log_rejected"
    REPORT_GRADED = "report_graded"
    CERTIFICATE_ISSUED = "certificate_issued"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_SUPERSEDED = "certificate_superseded"
    WINDOW_EXTENDED = "window_extended"
    WINDOW_REMINDER = "window_reminder"
    INSTRUCTOR_DIGEST = "instructor_digest"
    ADMIN_DIGEST = "admin_digest"


#: messages a person cannot turn off (their account's safety)
SECURITY_KINDS = frozenset(
    {
        MessageKind.INVITATION,
        MessageKind.PASSWORD_RESET,
        MessageKind.PASSWORD_CHANGED,
        MessageKind.NEW_SIGN_IN,
    }
)
#: the optional messages, by the preference that turns them off
OPTIONAL_KINDS = {
    MessageKind.WINDOW_REMINDER: "reminders",
    MessageKind.INSTRUCTOR_DIGEST: "digests",
    MessageKind.ADMIN_DIGEST: "digests",
}


class EmailStatus(enum.Enum):
    WAITING = "waiting"  #: to be sent (again, from next_attempt_at)
    SENT = "sent"  #: the mail server took it
    FAILED = "failed"  #: refused for good, or out of attempts; shown to administrators
    NOT_SENT = "not_sent"  #: nothing to send it to (a deactivated account): in the app only


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("language IN ('th', 'en')", name="language_known"),
        Index("ix_messages_due", "email_status", "next_attempt_at"),
        Index("ix_messages_recipient_unread", "recipient_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[MessageKind] = mapped_column(text_enum(MessageKind))
    language: Mapped[str] = mapped_column(String(2))  #: the recipient's, when it was written
    #: the object it is about (table name and id), for the app's list and for tests
    about_type: Mapped[str | None] = mapped_column(String(40))
    about_id: Mapped[int | None]
    #: where to act: an endpoint and its arguments, made absolute with LCA_PUBLIC_URL when sent
    link_endpoint: Mapped[str] = mapped_column(String(80))
    link_args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: what the message says (names, dates, hours, reasons), frozen when it was written; a
    #: one-use link's secret (``token``) is wiped once the message is sent
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: at most one message per key (a day's digest, a reminder): several workers, one message
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    email_status: Mapped[EmailStatus] = mapped_column(
        text_enum(EmailStatus), default=EmailStatus.WAITING
    )
    #: the stable Message-ID of its e-mail: a second delivery is the same mail to the reader
    email_id: Mapped[str] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: a worker holds the message until then (a killed worker's claim runs out)
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None]  #: opened in the app

    recipient: Mapped[User] = relationship()

    @property
    def is_security(self) -> bool:
        return self.kind in SECURITY_KINDS

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.kind.value} to {self.recipient_id}>"
