"""Helpers every blueprint's views share: the one write helper (``perform``), safe redirects,
rule errors on forms, role homes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import IntegerConverter, Map

from lca.core.db import db
from lca.core.errors import RuleError, RuleErrors
from lca.core.uploads import Upload
from lca.models import User
from lca.models.hours import MAX_EVIDENCE_BYTES

#: the largest value of an INTEGER column (PostgreSQL's int4)
MAX_DATABASE_INT = 2**31 - 1


def is_local_path(target: str | None) -> bool:
    """Only a path on this site ("/cohorts/3?x=1"), never another host or scheme: what a
    ``next=`` may send the browser to.

    The value is checked as it is and once more after each round of percent-decoding (a
    server or a browser along the way may decode it): none may start with ``//``, hold a
    backslash, a control character or white space, or name a scheme or a host."""
    if not target or len(target) > 2000:
        return False
    seen = target
    for _round in range(4):
        if not _plain_local_path(seen):
            return False
        decoded = unquote(seen)
        if decoded == seen:
            return True
        seen = decoded
    return False  # encoded again and again: no real link is


def _plain_local_path(target: str) -> bool:
    if not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(not c.isprintable() or c.isspace() for c in target):
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


def refuse(form: FlaskForm | None, error: RuleError, field: str | None = None) -> None:
    """Undo what the failed action wrote, and show the message next to its field (or on top)."""
    db.session.rollback()
    _show_refusal(form, error, field)


def _show_refusal(form: FlaskForm | None, error: RuleError, default: str | None = None) -> None:
    for one in error.errors if isinstance(error, RuleErrors) else [error]:
        name = one.field or default
        field = form[name] if form is not None and name is not None and name in form else None
        if field is not None:
            if one.message not in field.errors:
                field.errors = [*field.errors, one.message]
        else:
            flash(one.message, "error")


T = TypeVar("T")


def perform(
    action: Callable[[], T],
    *,
    then: str | Callable[[T], ResponseReturnValue],
    done: str | Callable[[T], str] | None = None,
    form: FlaskForm | None = None,
    field: str | None = None,
    fail: str | Callable[[], ResponseReturnValue] | None = None,
    keep_refused: bool = False,
    each: Callable[[Any], bool] | None = None,
) -> ResponseReturnValue:
    """The one way a view writes: run ``action`` (one service call), commit once, flash
    ``done``, and answer with ``then`` (a URL to redirect to, or ``then(result)``).

    When a rule refuses (``RuleError``), what the action wrote is rolled back, the message goes
    next to its field of ``form`` (or on top of the page), and the answer is ``fail()``: the
    page again, showing the message; or a redirect to ``fail`` (by default to ``then``).
    ``done`` and ``then`` may read what the action returned; ``field`` is where a refusal
    naming no field of its own goes.

    ``keep_refused``: a refusal that is itself a record to keep (a failed sign-in's audit) is
    committed instead of rolled back.
    ``each``: the action returns an iterator of steps (a batch whose page shows each as it is
    done); every step is committed as it is yielded when ``each(step)`` is true, otherwise
    rolled back, so a long batch keeps what it did.
    """
    if fail is None:
        if not isinstance(then, str):
            raise TypeError("perform() needs fail= when then= is not a URL")
        fail = then
    try:
        result = _run_once_more_after_a_clash(action, commit=each is None)
    except RuleError as error:
        if keep_refused:
            db.session.commit()
            _show_refusal(form, error, field)
        else:
            refuse(form, error, field)
        return redirect(fail) if isinstance(fail, str) else fail()
    if each is not None:
        result = _step_by_step(result, each)  # type: ignore[arg-type, assignment]
    if done is not None:
        flash(done if isinstance(done, str) else done(result), "success")
    return redirect(then) if isinstance(then, str) else then(result)


def _run_once_more_after_a_clash(action: Callable[[], T], *, commit: bool) -> T:
    """Run ``action`` (and commit); when the database refuses a duplicate that another request
    saved a moment earlier (two identical POSTs at once: the same certificate, city, cohort,
    enrolment), run it once more after a rollback: now it sees the other request's row, and
    refuses with the same message as a duplicate sent later. Should the database refuse
    again, the person gets a plain refusal, never a server error."""
    for attempt in (1, 2):
        try:
            result = action()
            if commit:
                db.session.commit()
            return result
        except IntegrityError as error:
            db.session.rollback()
            current_app.logger.warning("a write clashed (attempt %d): %s", attempt, error)
    raise RuleError(
        _(
            "Someone else saved the same thing at the same moment. Reload the page to see it, "
            "and try again if it is still needed."
        )
    )


def _step_by_step(steps: Iterable[Any], keep: Callable[[Any], bool]) -> Iterator[Any]:
    for step in steps:
        if keep(step):
            db.session.commit()
        else:
            db.session.rollback()
        yield step


def uploads(field: str = "files", keep_place: bool = False) -> list[Upload]:
    """The files sent in a form field, each read up to one byte past the size limit;
    ``keep_place``: the person ticked the box to keep where their photos were taken."""
    return [
        Upload(
            name=f.filename or "",
            data=f.stream.read(MAX_EVIDENCE_BYTES + 1),
            keep_place=keep_place,
        )
        for f in request.files.getlist(field)
    ]


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in every URL: a non-negative number the database can hold (a 4-byte
    integer); anything larger is simply not found, instead of an error in the database."""

    def __init__(
        self,
        url_map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_DATABASE_INT,
        signed: bool = False,
    ) -> None:
        super().__init__(url_map, fixed_digits, min, max, signed)


#: the last page number a list accepts; beyond it a list is simply empty
MAX_PAGE = 100_000


def query_filters(names: Iterable[str]) -> dict[str, str]:
    """The list's own filters from the query string, to carry into its links (next page,
    export, the form's action): only the keys named, each once, and only when not empty.

    Never ``**request.args``: a key named like a parameter of ``url_for`` (``endpoint``,
    ``_external``, ``_scheme``, ``_anchor``, ``_method``) or like one of the route's own
    arguments would break the page or rewrite its links."""
    return {name: value for name in names if (value := request.args.get(name, ""))}


def page_number() -> int:
    """The ``page`` of a list from the query string: 1 when missing or not a number."""
    page = request.args.get("page", 1, type=int)
    return page if 1 <= page <= MAX_PAGE else 1 if page < 1 else MAX_PAGE
