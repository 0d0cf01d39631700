"""Failed sign-ins counted per account, wherever they come from; so are wrong current
passwords typed by a signed-in person (their own count, per account id).

The count lives in the rate limits' store (lca.web.rate_limits: the database, or Redis with
``LCA_RATELIMIT_STORAGE_URL``), shared by every worker and server, under the e-mail typed,
known or not, so that the throttle says nothing about which accounts exist. Only failures
count; an administrator's password reset clears the count.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItem, parse
from sqlalchemy import select

from lca.core.db import db
from lca.core.security_log import security_event
from lca.models import User
from lca.web import rate_limits

SCOPE = "sign-in-account"


def _limit() -> RateLimitItem:
    return parse(current_app.config["LCA_LOGIN_ACCOUNT_RATE_LIMIT"])


def _key(email: str | None) -> str:
    return (email or "").strip().lower()[:254]


def minutes_to_wait(email: str | None) -> int | None:
    """How long the account must wait before another attempt; None when it may try now."""
    limit = _limit()
    if rate_limits.test(limit, SCOPE, _key(email)):
        return None
    reset_at, _remaining = rate_limits.window(limit, SCOPE, _key(email))
    return max(1, math.ceil((reset_at - time.time()) / 60))


def count_failure(email: str | None) -> None:
    """Count a refused sign-in; the one that trips the throttle is a security event."""
    limit, key = _limit(), _key(email)
    was_open = rate_limits.test(limit, SCOPE, key)
    rate_limits.hit(limit, SCOPE, key)
    if was_open and not rate_limits.test(limit, SCOPE, key):
        account = db.session.scalar(select(User.id).where(User.email == key))
        security_event(
            "auth.sign_in_throttled",
            account_id=account,
            known_account=account is not None,
            limit=str(limit),
        )


def forget_failures(email: str) -> None:
    """Start the account afresh (after an administrator gave it a new password)."""
    rate_limits.clear(_limit(), SCOPE, _key(email))


PASSWORD_CHECK_SCOPE = "current-password"  # noqa: S105 - a limiter scope, not a password


def _check_limit() -> RateLimitItem:
    return parse(current_app.config["LCA_PASSWORD_CHECK_RATE_LIMIT"])


def password_checks_locked(user_id: int) -> bool:
    """Whether the account typed a wrong current password too often in the window."""
    return not rate_limits.test(_check_limit(), PASSWORD_CHECK_SCOPE, str(user_id))


def count_password_check(user_id: int) -> None:
    rate_limits.hit(_check_limit(), PASSWORD_CHECK_SCOPE, str(user_id))


def forget_password_checks(user_id: int) -> None:
    """Start afresh (after an administrator gave the account a new password)."""
    rate_limits.clear(_check_limit(), PASSWORD_CHECK_SCOPE, str(user_id))
