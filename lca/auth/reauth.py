"""A recent proof that the person is at the keyboard ("sudo mode", ASVS 5.0 V6.4 and V7.5.1):
changes to one's second factors (removing one, new recovery codes, setting up an app or a
passkey) need it, so that a stolen signed-in session alone cannot take them over.

The proof is the time of the last sign-in (password and, if there is one, the second step) or
of the last correct current password, kept in the signed session cookie under ``reauth_at``
(POSIX seconds). It lasts ``LCA_REAUTH_MINUTES``. A session restored from the remember-me
cookie has none until the password is typed again."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeGuard

from flask import current_app, has_request_context, session

from lca.core.db import utcnow

#: the session key holding the time of the last proof
PROOF_KEY = "reauth_at"


def is_proof_time(value: object) -> TypeGuard[int]:
    """The shape of ``reauth_at`` in a cookie: whole seconds, never a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**11


def mark_recent_proof() -> None:
    """The person has just proved it is them (signed in, or typed their password again)."""
    if has_request_context():
        session[PROOF_KEY] = int(utcnow().timestamp())


def has_recent_proof() -> bool:
    """Whether this session's proof is recent enough for a change to a second factor."""
    proved = session.get(PROOF_KEY)
    if not is_proof_time(proved):
        return False
    age = utcnow().timestamp() - proved
    lasts = timedelta(minutes=current_app.config["LCA_REAUTH_MINUTES"])
    return -60 <= age <= lasts.total_seconds()  # none from the future (beyond clock drift)
