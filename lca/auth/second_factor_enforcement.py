"""Staff cannot use LCA on a session that has not passed a second factor."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import logout_user

from lca.auth.second_factor import has_second_factor, must_have_second_factor
from lca.auth.second_step import begin_second_step
from lca.auth.sessions import end_session_now, passed_second_factor
from lca.models import User


def step_up(user: User) -> ResponseReturnValue | None:
    """None when ``user`` may go on; otherwise where to go first. A staff session from before
    the person enrolled (or from before second factors existed) ends and asks for the second
    step; staff without a second factor are sent to set one up."""
    if not must_have_second_factor(user) or passed_second_factor():
        return None
    if has_second_factor(user):
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        end_session_now(user.session_token)  # the old session ends, whatever comes next
        logout_user()
        begin_second_step(user, remember=False, target=target)
        return redirect(url_for("auth.second_step"))
    if request.method == "GET":
        flash(_("Staff must set up a second factor before going on."), "info")
    return redirect(url_for("auth.second_factor"))
