"""The pages of messages: the list in the app, the choices of what to get, one-click
unsubscribe."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from lca.core.db import db
from lca.models import Message, MessageKind, User
from lca.models.messages import SECURITY_KINDS
from lca.notifications import bp
from lca.notifications.forms import ConfirmForm, NotificationChoicesForm
from lca.notifications.inbox import messages_of, summary_of, unread_count
from lca.notifications.preferences import TOPICS, unsubscribe_token_matches
from lca.notifications.services import choose_notifications, mark_all_read, mark_read
from lca.notifications.services import unsubscribe as turn_off
from lca.web.extensions import csrf
from lca.web.pages import MAX_DATABASE_INT, page_number, perform
from lca.web.permissions import public, signed_in

#: the messages a person cannot turn off, as the choices page lists them
SECURITY_LABELS = {
    MessageKind.INVITATION: _l("The invitation to set your password"),
    MessageKind.PASSWORD_RESET: _l("Password reset links you ask for"),
    MessageKind.PASSWORD_CHANGED: _l("A notice that your password was changed"),
    MessageKind.NEW_SIGN_IN: _l("A notice of a sign-in from a new device"),
}


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    return {"unread_messages": unread_count}


@bp.get("/notifications")
@signed_in
def index():
    page = messages_of(current_user, page_number())
    rows = [(message, summary_of(message)) for message in page.items]
    return render_template("notifications/index.html", page=page, rows=rows, form=ConfirmForm())


def _own_message_or_403(message_id: int) -> Message:
    message = db.session.get(Message, message_id) if 0 < message_id <= MAX_DATABASE_INT else None
    if message is None:
        abort(404)
    if message.recipient_id != current_user.id:
        abort(403)
    return message


def _link_of(message: Message) -> str:
    try:
        return url_for(message.link_endpoint, **message.link_args)
    except (BuildError, TypeError, ValueError):
        return url_for(".index")


@bp.post("/notifications/<int:message_id>/open")
@signed_in
def open_message(message_id: int):
    message = _own_message_or_403(message_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return perform(lambda: mark_read(message), then=_link_of(message))


@bp.post("/notifications/read-all")
@signed_in
def read_all():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return perform(
        lambda: mark_all_read(current_user),
        done=_("Every message is marked read."),
        then=url_for(".index"),
    )


def _choices_page(form: NotificationChoicesForm) -> str:
    return render_template(
        "notifications/choices.html",
        form=form,
        security=[SECURITY_LABELS[k] for k in MessageKind if k in SECURITY_KINDS],
    )


@bp.route("/account/notifications", methods=["GET", "POST"])
@signed_in
def choices():
    form = NotificationChoicesForm()
    if request.method == "GET":
        form.wants_reminders.data = current_user.wants_reminders
        form.wants_digests.data = current_user.wants_digests
        return _choices_page(form)
    if not form.validate_on_submit():
        return _choices_page(form)
    return perform(
        lambda: choose_notifications(
            current_user,
            reminders=bool(form.wants_reminders.data),
            digests=bool(form.wants_digests.data),
        ),
        form=form,
        fail=lambda: _choices_page(form),
        done=_("Your choice of messages is saved."),
        then=url_for(".choices"),
    )


def _refused(status: int) -> tuple[str, int]:
    if status == 400:
        title = _("This link names no messages that can be turned off")
    else:
        title = _("This unsubscribe link is not valid")
    explanation = _(
        "Nothing was changed. Use the link from your latest message, or sign in and choose "
        "your messages on your account page."
    )
    page = render_template("errors/error.html", status=status, title=title, explanation=explanation)
    return page, status


def _unsubscriber(user_id: int, topic: str, signature: str) -> User | tuple[str, int]:
    """The person a link is for, or the refusal page: its signature is the only check."""
    if topic not in TOPICS:
        return _refused(400)
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_DATABASE_INT else None
    if user is None or not unsubscribe_token_matches(user_id, topic, signature):
        return _refused(404)
    return user


@bp.route("/unsubscribe/<int:user_id>/<topic>/<signature>", methods=["GET", "POST"])
@public
@csrf.exempt
def unsubscribe(user_id: int, topic: str, signature: str) -> ResponseReturnValue:
    """GET shows what stops and a button; POST stops it. A mail provider's RFC 8058 one-click
    POST (``List-Unsubscribe=One-Click``) comes with no cookie and no CSRF token: the link's
    signature is the check."""
    user = _unsubscriber(user_id, topic, signature)
    if not isinstance(user, User):
        return user
    if request.method == "GET":
        wanted = bool(getattr(user, TOPICS[topic]))
        return _unsubscribe_page(user, topic, wanted=wanted, done=False)
    return perform(
        lambda: turn_off(user, topic),
        then=lambda _changed: _unsubscribe_page(user, topic, wanted=False, done=True),
        fail=lambda: _unsubscribe_page(user, topic, wanted=True, done=False),
    )


def _unsubscribe_page(user: User, topic: str, *, wanted: bool, done: bool) -> str:
    return render_template(
        "notifications/unsubscribe.html", user=user, topic=topic, wanted=wanted, done=done
    )
