"""Wrong second-factor codes counted per account, like failed sign-ins (lca.auth.throttle).

The count lives in the rate limits' store (lca.web.rate_limits) under the account's id, with
the same limit as passwords (``LCA_LOGIN_ACCOUNT_RATE_LIMIT``): a stolen password gives no
more than that many guesses at the six digits, whichever address they come from. Only
failures count; an administrator's reset of the second factor clears the count.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItem, parse

from lca.web import rate_limits

SCOPE = "second-factor-account"


def _limit() -> RateLimitItem:
    return parse(current_app.config["LCA_LOGIN_ACCOUNT_RATE_LIMIT"])


def minutes_to_wait(user_id: int) -> int | None:
    """How long the account must wait before another code; None when it may try now."""
    limit = _limit()
    if rate_limits.test(limit, SCOPE, str(user_id)):
        return None
    reset_at, _remaining = rate_limits.window(limit, SCOPE, str(user_id))
    return max(1, math.ceil((reset_at - time.time()) / 60))


def count_failure(user_id: int) -> bool:
    """Count one wrong code; whether this one used up the account's tries (a lockout)."""
    rate_limits.hit(_limit(), SCOPE, str(user_id))
    return minutes_to_wait(user_id) is not None


def forget_failures(user_id: int) -> None:
    rate_limits.clear(_limit(), SCOPE, str(user_id))
