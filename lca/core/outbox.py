"""The outbox: a message to a person is recorded in the same transaction as the change that
causes it, so a rolled-back change sends nothing and a committed one is never forgotten. Only
the worker (lca.notifications.delivery) talks to a mail server."""

from __future__ import annotations

import uuid
from typing import Any

from lca.core.db import db
from lca.models import EmailStatus, Message, MessageKind, User

#: the host part of every Message-ID LCA makes
MESSAGE_ID_DOMAIN = "lca.invalid"


def new_email_id() -> str:
    """A Message-ID for a new message, the same on every delivery of it (RFC 5322 §3.6.4)."""
    return f"<{uuid.uuid4().hex}@{MESSAGE_ID_DOMAIN}>"


def record_message(
    recipient: User,
    kind: MessageKind,
    *,
    link: str,
    about: Any = None,
    dedupe_key: str | None = None,
    link_args: dict[str, Any] | None = None,
    **params: Any,
) -> Message:
    """Add a message to ``recipient`` (in their language) to the session; the caller's commit
    makes it durable with the change. ``link`` is the endpoint where they act (with
    ``link_args``); ``params`` are what it says, as plain JSON values."""
    if about is not None and getattr(about, "id", 0) is None:
        db.session.flush()  # a new object gets its id before a message names it
    message = Message(
        recipient=recipient,
        kind=kind,
        language=recipient.preferred_language or "th",
        about_type=getattr(about, "__tablename__", None),
        about_id=getattr(about, "id", None),
        link_endpoint=link,
        link_args=dict(link_args or {}),
        params=params,
        dedupe_key=dedupe_key,
        email_id=new_email_id(),
        email_status=EmailStatus.WAITING if recipient.is_active else EmailStatus.NOT_SENT,
    )
    db.session.add(message)
    return message
