"""The rotating code a check-in point shows: a short signature of the point and the 30-second
time step, made with the point's own secret.

A code is good in its own step and the one before (a learner who scanned just before the code
changed is not turned away), never older: a photo of yesterday's code, or of the code a minute
ago, does nothing. The server's clock decides, never the phone's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from lca.models import CheckInPoint

STEP_SECONDS = 30
SIGNATURE_CHARS = 16  #: 96 bits of HMAC-SHA256, base64url
CODE_SHAPE = re.compile(rf"(\d{{1,9}})-(\d{{1,12}})-([A-Za-z0-9_-]{{{SIGNATURE_CHARS}}})")


def current_step(now: float | None = None) -> int:
    """The 30-second step of ``now`` (seconds since the epoch; the server's clock)."""
    return int((time.time() if now is None else now) // STEP_SECONDS)


def seconds_left(now: float | None = None) -> int:
    """How long the current step's code is shown before the next one."""
    moment = time.time() if now is None else now
    return STEP_SECONDS - int(moment % STEP_SECONDS)


def _signature(point: CheckInPoint, step: int) -> str:
    mac = hmac.new(point.secret.encode(), f"{point.id}:{step}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode()[:SIGNATURE_CHARS]


def code_for(point: CheckInPoint, step: int) -> str:
    """The text of the point's code in ``step`` (what the QR code's link ends with)."""
    return f"{point.id}-{step}-{_signature(point, step)}"


@dataclass(frozen=True)
class Code:
    """A code as read from a link, not yet checked."""

    point_id: int
    step: int
    signature: str


def read_code(text: str) -> Code | None:
    """The parts of a code, or None for anything that is not shaped like one."""
    found = CODE_SHAPE.fullmatch(text or "")
    if found is None:
        return None
    return Code(int(found[1]), int(found[2]), found[3])


def is_signed(point: CheckInPoint, code: Code) -> bool:
    """The code was made with this point's secret (compared in constant time)."""
    return hmac.compare_digest(_signature(point, code.step), code.signature)


def is_fresh(code: Code, now_step: int) -> bool:
    """Shown now or in the step before; a code from the future is no code at all."""
    return now_step - 1 <= code.step <= now_step
