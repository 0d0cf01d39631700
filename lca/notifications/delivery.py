"""Delivering the outbox: a worker claims due messages (on PostgreSQL with ``FOR UPDATE SKIP
LOCKED``, so several workers never take the same one), renders and sends each, and marks it
sent; a failure is tried again later with a growing wait, and after the last attempt (or at
once for a permanent refusal) is recorded as failed for the administrators to see."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from lca.core.audit import record
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.models import EmailStatus, Message, User
from lca.notifications.channels import Channel, DeliveryError
from lca.notifications.content import render_message

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: how long a claim holds unless LCA_MAIL_CLAIM_SECONDS says otherwise: longer than any
#: delivery; a killed worker's messages come back then
CLAIM_SECONDS = 120
#: params wiped once sent: one-use link secrets are not kept in the outbox
SECRET_PARAMS = ("token",)


def retry_delay(attempts: int) -> timedelta:
    """Wait 1, 2, 4 … minutes after each failure, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def claim_seconds() -> int:
    """How long a claim holds (LCA_MAIL_CLAIM_SECONDS)."""
    return int(current_app.config.get("LCA_MAIL_CLAIM_SECONDS", CLAIM_SECONDS))


def claim_due(limit: int = 50) -> list[int]:
    """Take up to ``limit`` waiting messages that are due and not held by another worker."""
    now = utcnow()
    query = (
        select(Message.id)
        .where(
            Message.email_status == EmailStatus.WAITING,
            Message.next_attempt_at <= now,
            or_(Message.claimed_until.is_(None), Message.claimed_until < now),
        )
        .order_by(Message.next_attempt_at, Message.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if ids:
        # the claim states again what it takes, so where rows are not locked (SQLite: the
        # writes take turns) a message another worker claimed meanwhile is left to it
        claim = (
            update(Message)
            .where(
                Message.id.in_(ids),
                Message.email_status == EmailStatus.WAITING,
                or_(Message.claimed_until.is_(None), Message.claimed_until < now),
            )
            .values(claimed_until=now + timedelta(seconds=claim_seconds()))
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
        taken = set(db.session.scalars(claim))
        ids = [message_id for message_id in ids if message_id in taken]
    db.session.commit()
    return ids


def deliver_one(message_id: int, channel: Channel) -> EmailStatus:
    """Send one claimed message and record what happened (committed)."""
    message = db.session.get(Message, message_id)
    if message is None or message.email_status is not EmailStatus.WAITING:
        db.session.rollback()
        return EmailStatus.SENT if message else EmailStatus.NOT_SENT
    if not message.recipient.is_active:
        message.email_status, message.claimed_until = EmailStatus.NOT_SENT, None
        db.session.commit()
        return message.email_status
    try:
        try:
            content = render_message(message)
        except Exception as error:  # a template fault must not stop the worker for everyone
            log.exception("message %s could not be rendered", message.id)
            raise DeliveryError(f"rendering failed: {type(error).__name__}: {error}") from error
        channel.deliver(message, content)
    except DeliveryError as error:
        _record_failure(message, error)
        db.session.commit()
        return message.email_status
    message.attempts += 1
    message.email_status, message.sent_at, message.claimed_until = EmailStatus.SENT, utcnow(), None
    message.last_error = None
    message.params = _without_secrets(message.params)
    db.session.commit()
    return message.email_status


def _record_failure(message: Message, error: DeliveryError) -> None:
    message.attempts += 1
    message.last_error = error.reason[:500]
    message.claimed_until = None
    if error.permanent or message.attempts >= MAX_ATTEMPTS:
        message.email_status = EmailStatus.FAILED
        message.params = _without_secrets(message.params)
        log.warning("message %s failed for good: %s", message.id, error.reason)
    else:
        message.next_attempt_at = utcnow() + retry_delay(message.attempts)
        log.info("message %s will be tried again: %s", message.id, error.reason)


def retry_message(message: Message, admin: User) -> None:
    """An administrator sends a failed message again: it waits for the worker with its
    attempts counted from zero (its Message-ID stays, so a reader who got it sees one mail)."""
    if message.email_status is not EmailStatus.FAILED:
        raise RuleError(_("Only a message that failed can be tried again."))
    if not message.recipient.is_active:
        raise RuleError(_("The recipient's account is deactivated: nothing to send it to."))
    message.email_status, message.attempts = EmailStatus.WAITING, 0
    message.next_attempt_at, message.claimed_until = utcnow(), None
    record(admin, "message.retry", message, error=message.last_error)
    db.session.flush()


def deliver_due(
    channel: Channel, limit: int = 50, stopping: Callable[[], bool] = lambda: False
) -> int:
    """Deliver what is due now, in batches; how many were handed over. When ``stopping()``
    turns true (SIGTERM), the message in hand is finished and the rest of the batch released
    for another worker."""
    sent = 0
    while ids := claim_due(limit):
        for position, message_id in enumerate(ids):
            if stopping():
                release(ids[position:])
                return sent
            if deliver_one(message_id, channel) is EmailStatus.SENT:
                sent += 1
        if len(ids) < limit:
            break
    return sent


def release(ids: list[int]) -> None:
    """Give claimed messages back at once (a worker stopping)."""
    db.session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.email_status == EmailStatus.WAITING)
        .values(claimed_until=None)
    )
    db.session.commit()


def _without_secrets(params: dict) -> dict:
    return {key: value for key, value in params.items() if key not in SECRET_PARAMS}
