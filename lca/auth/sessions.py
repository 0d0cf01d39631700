"""Signed-in devices, kept on the server.

Each sign-in starts a ``UserSession``; the session cookie (and the remember-me cookie) carries
only its random token. Every request looks the token up, so signing out, a password change, a
deactivation or "sign out everywhere" ends a session for good, even if someone kept a copy of
the cookie. A session ends by itself when it is idle too long or too old:

- without "keep me signed in": after ``LCA_SESSION_IDLE_MINUTES`` without a request, and at the
  latest ``PERMANENT_SESSION_LIFETIME`` (12 hours) after the sign-in;
- with it: ``REMEMBER_COOKIE_DURATION`` (14 days) after the sign-in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask, Request, current_app, g, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from sqlalchemy import CursorResult, bindparam, delete, select, update
from sqlalchemy.orm import joinedload

from lca.auth.reauth import PROOF_KEY, is_proof_time
from lca.core.db import db, utcnow
from lca.models import User, UserSession


def _text(value: object, longest: int = 200) -> bool:
    return isinstance(value, str) and len(value) <= longest and value.isprintable()


def _flashes(value: object) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(one, list | tuple) and len(one) == 2 and all(isinstance(p, str) for p in one)
        for one in value
    )


#: the session's keys that Flask, Flask-Login, Flask-WTF and LCA read, and the shape each
#: must have; a cookie holding anything else under them is not used (its signature may be
#: good: a leaked or guessed key must not turn into a server error)
SESSION_SHAPES: dict[str, Callable[[object], bool]] = {
    "_user_id": lambda v: _text(v, 100) and str(v).isascii(),
    "_fresh": lambda v: isinstance(v, bool),
    "_id": _text,
    "_remember": _text,
    "_remember_seconds": lambda v: (
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 10**8
    ),
    "_flashes": _flashes,
    "lang": _text,
    "csrf_token": _text,
    PROOF_KEY: is_proof_time,
}


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed session cookie, its HMAC on SHA-256 instead of the legacy SHA-1.

    A cookie whose contents are not what LCA writes (a key of the wrong type, an id that no
    token can be) is treated as no cookie at all: the visitor is simply not signed in."""

    digest_method = staticmethod(hashlib.sha256)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        opened = super().open_session(app, request)
        if opened is None or all(
            check(opened[key]) for key, check in SESSION_SHAPES.items() if key in opened
        ):
            return opened
        return self.session_class()


#: how often a session's last activity is written (not on every request)
SEEN_EVERY = timedelta(minutes=5)
#: ended sessions are kept this long for the account page, then removed
KEEP_ENDED = timedelta(days=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, remember: bool = False, second_factor: str | None = None) -> str:
    """A new session for ``user`` on this device; returns its token (for the cookie only).
    ``second_factor``: how the sign-in's second step was done ("totp", "passkey", "recovery")."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.ended_at < now - KEEP_ENDED
        )
    )
    db.session.add(
        UserSession(
            user=user,
            token_hash=_hash(token),
            remember=remember,
            user_agent=request.user_agent.string[:300] if has_request_context() else None,
            address=request.remote_addr if has_request_context() else None,
            created_at=now,
            last_seen_at=now,
            second_factor=second_factor,
        )
    )
    db.session.flush()
    user.session_token = token
    return token


def _expired(row: UserSession, now: datetime) -> bool:
    config = current_app.config
    age = now - row.created_at
    if row.remember:
        return age > config["REMEMBER_COOKIE_DURATION"]
    idle = timedelta(minutes=config["LCA_SESSION_IDLE_MINUTES"])
    return age > config["PERMANENT_SESSION_LIFETIME"] or now - row.last_seen_at > idle


#: built once (every signed-in request runs it): SQLAlchemy keeps a statement's cache key with
#: it, so a statement built anew for each request costs more than the lookup itself
_SESSION_OF_TOKEN = (
    select(UserSession)
    .options(joinedload(UserSession.user))
    .where(UserSession.token_hash == bindparam("token_hash"), UserSession.ended_at.is_(None))
)


def load_session(token: str | None) -> User | None:
    """The active account of a session token, or None when the session has ended.

    Runs at the start of a request (Flask-Login's user loader), before the view has written
    anything, so it may commit the session's last activity or its expiry on its own."""
    if not isinstance(token, str) or not token or len(token) > 100 or not token.isascii():
        return None  # no session ever had such a token (a forged or broken cookie)
    row = db.session.scalar(_SESSION_OF_TOKEN, {"token_hash": _hash(token)})
    if row is None or not row.user.is_active:
        return None
    now = utcnow()
    if _expired(row, now):
        row.ended_at = now
        db.session.commit()
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        row.last_seen_at = now
        db.session.commit()
    row.user.session_token = token
    g.session_second_factor = row.second_factor
    return row.user


def end_session(token: str | None) -> None:
    """Sign this device out (the caller commits)."""
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_session_now(token: str | None) -> None:
    """End this device's session for good before the request goes on (a staff session from
    before a second factor, asked to pass it): committed here, like the loader's expiry."""
    end_session(token)
    db.session.commit()


def passed_second_factor() -> bool:
    """Whether this request's session was started (or stepped up) with a second factor."""
    return g.get("session_second_factor") is not None


def mark_second_factor(token: str | None, method: str) -> None:
    """This device's session has now passed a second factor (the person just enrolled one)."""
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
            .values(second_factor=method)
        )
    g.session_second_factor = method


def end_sessions(user: User, keep: str | None = None) -> int:
    """End every session of ``user``, except the one of token ``keep``; how many ended."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.token_hash != _hash(keep))
    # Session.execute is typed as returning a plain Result; an UPDATE gives a CursorResult
    result = cast(CursorResult[Any], db.session.execute(query.values(ended_at=utcnow())))
    return result.rowcount


def open_sessions(user: User) -> list[UserSession]:
    """The account's sessions that still work, the most recently used first."""
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    now = utcnow()
    return [row for row in rows if not _expired(row, now)]


def is_current(row: UserSession, user: User) -> bool:
    return user.session_token is not None and row.token_hash == _hash(user.session_token)


BROWSERS = (
    ("Edg", "Edge"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Line/", "LINE"),
    ("Firefox", "Firefox"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_names(user_agent: str | None) -> list[str]:
    """The browser and the system a User-Agent names (those LCA knows), e.g. Chrome, Android."""
    text = user_agent or ""
    browser = next((name for key, name in BROWSERS if re.search(re.escape(key), text)), None)
    system = next((name for key, name in SYSTEMS if key in text), None)
    return [part for part in (browser, system) if part]


def describe_device(user_agent: str | None) -> str:
    """ "Chrome · Android" from a browser's User-Agent, enough to recognise one's own phone."""
    return " · ".join(device_names(user_agent)) or _("Unknown device")


def _device(user_agent: str | None, address: str | None) -> tuple[str, ...]:
    """A device as the account page shows it (browser and system, not their versions) and
    its address family (IPv4 or IPv6): an update of the browser is not a new device."""
    family = "ipv6" if address and ":" in address else "ipv4" if address else "none"
    return (*(device_names(user_agent) or [user_agent or ""]), family)


def is_new_device(user: User) -> bool:
    """Whether this request's device (browser, system and address family) is one that none of
    the account's earlier sessions (open, or ended in the last 30 days) came from; an account
    signing in for the first time (or whose earlier devices are not known) has no earlier
    device to compare with, so it is not new."""
    earlier = db.session.execute(
        select(UserSession.user_agent, UserSession.address).where(
            UserSession.user_id == user.id,
            UserSession.created_at >= utcnow() - KEEP_ENDED,
            UserSession.user_agent.is_not(None),  # not signed in through a browser: unknown
        )
    ).all()
    if not earlier or not has_request_context():
        return False
    this = _device(request.user_agent.string[:300], request.remote_addr)
    return this not in {_device(agent, address) for agent, address in earlier}
