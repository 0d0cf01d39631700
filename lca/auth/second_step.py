"""A sign-in waiting for its second step, kept in the signed session cookie.

After a correct password, a person with a second factor is not signed in yet: the cookie holds
who they are, whether to keep them signed in, where they were going and when the password was
right. No server session exists until the second step passes, and the wait ends after
``WAIT`` (the password must be typed again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import session

from lca.core.db import db
from lca.models import User

KEY = "second_step"
#: how long a correct password waits for its second step
WAIT_SECONDS = 5 * 60


@dataclass
class Waiting:
    user: User
    remember: bool
    next: str | None


def begin_second_step(user: User, remember: bool, target: str | None) -> None:
    """The password was right; the second step comes next (on this device only)."""
    session.pop("passkey_sign_in_challenge", None)
    session[KEY] = {
        "user": user.id,
        "remember": bool(remember),
        "next": target if isinstance(target, str) else None,
        "at": int(time.time()),
    }


def waiting_sign_in() -> Waiting | None:
    """The sign-in waiting on this device for its second step, or None (none, or too old)."""
    state = session.get(KEY)
    if not isinstance(state, dict):
        return None
    at, user_id = state.get("at"), state.get("user")
    if not isinstance(at, int) or not isinstance(user_id, int):
        return None
    if not 0 <= time.time() - at <= WAIT_SECONDS:
        end_second_step()
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        end_second_step()
        return None
    target = state.get("next")
    return Waiting(user, bool(state.get("remember")), target if isinstance(target, str) else None)


def end_second_step() -> None:
    session.pop(KEY, None)
    session.pop("passkey_sign_in_challenge", None)
