"""Writing the audit trail, in the same transaction as the change it records."""

from __future__ import annotations

import enum
from datetime import date, time
from typing import Any

from flask import has_request_context, request

from lca.core.db import db
from lca.core.request_ids import request_id
from lca.models import AuditEvent, User


def current_origin() -> str:
    """Where the action came from: the client address in a request, "cli" otherwise."""
    if has_request_context():
        return (request.remote_addr or "unknown")[:64]
    return "cli"


def record(actor: User | None, action: str, target: Any = None, **details: Any) -> AuditEvent:
    """Add an audit event to the session; the caller's commit makes it durable with the change."""
    if target is not None and getattr(target, "id", 0) is None:
        db.session.flush()  # a new object gets its id before it is named in the trail
    event = AuditEvent(
        actor=actor,
        action=action,
        target_type=getattr(target, "__tablename__", None),
        target_id=getattr(target, "id", None),
        details=details,
        origin=current_origin(),
        request_id=request_id(),
    )
    db.session.add(event)
    return event


def _plain(value: Any) -> Any:
    """A value as the audit trail's JSON keeps it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def apply_changes(obj: Any, wanted: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the attributes that differ; return {name: [old, new]} for the audit trail."""
    changes = {}
    for name, new in wanted.items():
        old = getattr(obj, name)
        if old != new:
            changes[name] = [_plain(old), _plain(new)]
            setattr(obj, name, new)
    return changes
