"""Helpers every blueprint's views share: safe redirects, rule errors on forms, role homes."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, request, url_for
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter

from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.uploads import Upload
from lca.models import User
from lca.models.hours import MAX_EVIDENCE_BYTES

#: the largest value of an INTEGER column (PostgreSQL's int4)
MAX_DATABASE_INT = 2**31 - 1


def is_local_path(target: str | None) -> bool:
    """Only a path on this site ("/cohorts/3?x=1"), never another host or scheme."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def role_home_url(user: User) -> str:
    """Where each role lands after signing in."""
    if user.is_admin:
        return url_for("admin.index")
    if user.is_instructor:
        return url_for("home.instructor")
    return url_for("home.learner")


def refuse(form: FlaskForm | None, error: RuleError) -> None:
    """Undo what the failed action wrote, and show the message next to its field (or on top)."""
    db.session.rollback()
    field = form[error.field] if form is not None and error.field in form else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def uploads(field: str = "files") -> list[Upload]:
    """The files sent in a form field, each read up to one byte past the size limit."""
    return [
        Upload(name=f.filename or "", data=f.stream.read(MAX_EVIDENCE_BYTES + 1))
        for f in request.files.getlist(field)
    ]


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in every URL: a non-negative number the database can hold (a 4-byte
    integer); anything larger is simply not found, instead of an error in the database."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_DATABASE_INT)
        super().__init__(url_map, *args, **kwargs)


#: the last page number a list accepts; beyond it a list is simply empty
MAX_PAGE = 100_000


def page_number() -> int:
    """The ``page`` of a list from the query string: 1 when missing or not a number."""
    page = request.args.get("page", 1, type=int)
    return page if 1 <= page <= MAX_PAGE else 1 if page < 1 else MAX_PAGE
