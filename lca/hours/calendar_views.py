"""The calendar feed a person's calendar app subscribes to: public, its address the secret."""

from flask import Response, abort, current_app, request
from flask_limiter.util import get_remote_address

from lca.hours import bp
from lca.hours.calendar_feed import calendar_feed, feed_owner
from lca.web.extensions import limiter
from lca.web.permissions import public


def _calendar_limit() -> str:
    return current_app.config["LCA_CALENDAR_RATE_LIMIT"]


def _address_and_feed() -> str:
    """Counted per client address and feed: one calendar server reading many people's feeds
    (they all come from the same few addresses) is not throttled for reading them all."""
    user_id = (request.view_args or {}).get("user_id")
    return f"{get_remote_address()}:{user_id}"


@bp.get("/calendar/<int:user_id>/<feed_token>.ics")
@limiter.limit(_calendar_limit, key_func=_address_and_feed)
@public
def calendar(user_id: int, feed_token: str):
    """Every address that is not someone's current feed gets the same 404."""
    user = feed_owner(user_id, feed_token)
    if user is None:
        abort(404)
    response = Response(calendar_feed(user), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = "inline; filename=lca.ics"
    # the owner's own calendar app may keep it five minutes; no shared cache may keep it
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
