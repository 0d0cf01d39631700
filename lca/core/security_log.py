"""Security events as structured log lines, for an operator to ship (PDPA breach readiness).

Each event is one JSON object on the ``lca.security`` logger: what happened (``event``), when
(UTC, ISO 8601), from where and in which request (``request_id``), who did it and to whom
(account ids, never passwords or codes).
The audit trail keeps the same facts in the database; these lines are what a log shipper
collects, so that a breach can be seen, bounded and reported within the PDPC's 72 hours.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from lca.core.audit import current_origin
from lca.core.db import utcnow
from lca.core.request_ids import request_id

log = logging.getLogger("lca.security")


def security_event(event: str, *, actor_id: int | None = None, **fields: Any) -> None:
    """Write one security event (e.g. ``"second_factor.reset"``) as a JSON log line."""
    line = {
        "event": event,
        "at": utcnow().isoformat(timespec="seconds"),
        "origin": current_origin(),
        "actor_id": actor_id,
        "request_id": request_id(),
        **fields,
    }
    log.warning(json.dumps(line, ensure_ascii=False, sort_keys=True, default=str))
