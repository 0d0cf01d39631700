"""The request id: one per request, taken from the proxy's X-Request-ID when it looks like one,
made here otherwise; the logs, the audit trail and the response carry it."""

from __future__ import annotations

import re
import uuid

from flask import g, has_request_context, request

HEADER = "X-Request-ID"
#: what an id from outside may look like (nginx's $request_id is 32 hex digits); anything else
#: (too long, a newline, other letters) is replaced, never copied into a log line
VALID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id() -> str | None:
    """The current request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    found: str | None = g.get("request_id")
    if found is None:
        offered = request.headers.get(HEADER, "")
        found = offered if VALID.fullmatch(offered) else uuid.uuid4().hex
        g.request_id = found
    return found
