"""What a message says: its subject and its plain-text and HTML parts, from the templates in
templates/mail/ (``<kind>.subject.txt``, ``<kind>.txt``, ``<kind>.html``), in the recipient's
language, with the app's translations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, render_template, url_for

from lca.models import Message
from lca.models.messages import OPTIONAL_KINDS
from lca.web.i18n import in_language


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str
    link: str  #: the absolute address where the reader acts
    unsubscribe: str | None  #: the one-click unsubscribe address (optional messages only)


def absolute_url(endpoint: str, **values: Any) -> str:
    """An address on the public site (LCA_PUBLIC_URL), also outside a request (the worker)."""
    base = current_app.config["LCA_PUBLIC_URL"]
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)


def unsubscribe_url(message: Message) -> str | None:
    """The link that turns this kind of optional message off, or None for one that cannot be."""
    topic = OPTIONAL_KINDS.get(message.kind)
    if topic is None:
        return None
    from lca.notifications.preferences import unsubscribe_token

    user_id = message.recipient_id
    token = unsubscribe_token(user_id, topic)
    return absolute_url("notifications.unsubscribe", user_id=user_id, topic=topic, signature=token)


def render_message(message: Message) -> Content:
    """The message's subject and parts, in its language."""
    link = absolute_url(message.link_endpoint, **message.link_args)
    unsubscribe = unsubscribe_url(message)
    context = {
        "message": message,
        "recipient": message.recipient,
        "params": message.params,
        "link": link,
        "unsubscribe": unsubscribe,
        "public_url": current_app.config["LCA_PUBLIC_URL"],
    }
    context["date_of"] = date.fromisoformat
    context["pick"] = lambda th, en: (en or th) if message.language == "en" else th
    kind = message.kind.value
    with in_language(message.language):  # the language of this message, not the request's
        subject = render_template(f"mail/{kind}.subject.txt", **context)
        text = render_template(f"mail/{kind}.txt", **context)
        html = render_template(f"mail/{kind}.html", **context)
    return Content(" ".join(subject.split()), text.strip() + "\n", html, link, unsubscribe)
