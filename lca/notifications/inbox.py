"""A person's messages in the app: the list, newest first, the unread count for the bell, and a
one-line summary of each (its mail's subject, in the reader's language)."""

from __future__ import annotations

from datetime import date

from flask import g, render_template
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from jinja2 import TemplateError
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError

from lca.core.dates import current_language
from lca.core.db import db
from lca.models import Message, User

PER_PAGE = 20


def messages_of(user: User, page: int) -> Pagination:
    """One page of a person's own messages, newest first."""
    query = (
        select(Message)
        .where(Message.recipient_id == user.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
    )
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)


#: built once, as every page's bell asks (a statement keeps its cache key with it)
_UNREAD = select(func.count(Message.id)).where(
    Message.recipient_id == bindparam("user_id"), Message.read_at.is_(None)
)


def unread_count() -> int:
    """How many of the signed-in person's messages are unread (one query a page, for the
    bell); 0 for a visitor."""
    if "_lca_unread" not in g:
        user = current_user
        if not getattr(user, "is_authenticated", False):
            return 0
        try:
            count = db.session.scalar(_UNREAD, {"user_id": user.id})
        except SQLAlchemyError:  # the error page of a database outage still renders
            db.session.rollback()
            count = 0
        g._lca_unread = int(count or 0)
    return int(g._lca_unread)


def summary_of(message: Message) -> str:
    """The message in one line, in the language of the page: its mail's subject."""
    language = current_language()
    context = {
        "message": message,
        "recipient": message.recipient,
        "params": message.params,
        "date_of": date.fromisoformat,
        "pick": lambda th, en: (en or th) if language == "en" else th,
    }
    try:
        text = render_template(f"mail/{message.kind.value}.subject.txt", **context)
    except (TemplateError, TypeError, ValueError, KeyError):
        return _("A message from LCA")
    return " ".join(text.split())
