"""Languages (Thai first, English second) and the Buddhist-era date formats."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from babel.support import NullTranslations
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import LazyString, force_locale, get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from lca.core.dates import (
    LANGUAGE_KEY,
    current_language,
    format_buddhist_year,
    format_clock,
    format_day,
    format_moment,
)
from lca.models import (
    AttendanceStatus,
    CertificateStatus,
    EnrolmentStatus,
    GradeResult,
    LogSource,
    LogStatus,
    ModuleKind,
    NoteKind,
    ReportStatus,
    Role,
)
from lca.web.addresses import this_page
from lca.web.extensions import babel


def select_locale() -> str:
    """The visitor's language: ?lang=, then this session's choice, then the user's preference.

    Outside a request (the command line) the shell's LANG decides: Thai for th_*, else English.
    """
    languages = current_app.config["LCA_LANGUAGES"]
    if not has_request_context():
        return "th" if os.environ.get("LANG", "").startswith("th") else "en"
    chosen = session.get("lang")
    if chosen in languages:
        return str(chosen)
    if current_user and current_user.is_authenticated and current_user.preferred_language:
        return str(current_user.preferred_language)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def requested_language() -> str | None:
    """The language asked for with ``?lang=xx``, when LCA speaks it."""
    wanted = request.args.get("lang")
    return wanted if wanted in current_app.config["LCA_LANGUAGES"] else None


def remember_language_choice() -> None:
    """Handle ``?lang=xx``: remember it for this session. (A request hook writes nothing to
    the database: saving a signed-in person's preference is the auth blueprint's.)"""
    wanted = requested_language()
    if wanted is not None:
        session["lang"] = wanted


def format_hours(value: int | float | Decimal | None) -> str:
    """Hours without needless decimals: 6, 1.5, 2.25."""
    if value is None:
        return ""
    text = f"{Decimal(str(value)).normalize():f}"
    return text


def minutes_as_hours(minutes: int | None) -> str:
    """Minutes kept in the database, shown as hours: 90 → 1.5."""
    return "" if minutes is None else format_hours(Decimal(minutes) / 60)


def hours_plural(hours: int | float | Decimal | None) -> int:
    """The number ``ngettext`` picks the form by for a number of hours: 1 for exactly one
    hour, else 2 ("1 hour", "1.5 hours", "0.25 hours"; Thai has one form)."""
    return 1 if hours is not None and Decimal(str(hours)) == 1 else 2


def minutes_plural(minutes: int | None) -> int:
    """``hours_plural`` for minutes kept in the database: 60 minutes is "1 hour"."""
    return 1 if minutes == 60 else 2


def hours_text(minutes: int) -> str:
    """Minutes as a number of hours in words: "1 hour", "1.5 hours" ("1 ชั่วโมง")."""
    return str(
        ngettext(
            "%(hours)s hour",
            "%(hours)s hours",
            minutes_plural(minutes),
            hours=minutes_as_hours(minutes),
        )
    )


def localized(obj: object, field: str) -> str:
    """``obj.<field>_en`` in English when it has one, else ``obj.<field>_th`` (also for dicts)."""

    def read(name: str) -> object:
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)

    if current_language() == "en":
        english = read(f"{field}_en")
        if english:
            return str(english)
    return str(read(f"{field}_th") or "")


def language_switch_url(language: str) -> str:
    """This page in another language: the same path and query with ``lang`` replaced."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return this_page([*args, ("lang", language)])


def gettext(string: str, **variables: Any) -> str:
    """``flask_babel.gettext``, through the request's translations found once
    (``translations``): for the words said in loops (table cells, the audit list's sentences,
    labels), where Flask-Babel's lookup of the translations on every call was most of the cost."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """``flask_babel.ngettext``, through the request's translations found once."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """``flask_babel.lazy_gettext``, translated through ``gettext`` above when read."""
    return LazyString(gettext, string, **variables)


_l = lazy_gettext  #: the name pybabel extracts lazy words by (babel.cfg, make i18n-update)


LABELS = {
    Role.LEARNER: _l("Learner"),
    Role.INSTRUCTOR: _l("Instructor"),
    Role.ADMIN: _l("Administrator"),
    ModuleKind.CLASSROOM: _l("Classroom"),
    ModuleKind.FORUM: _l("Forum"),
    ModuleKind.FIELD: _l("Field practice"),
    ModuleKind.FESTIVAL: _l("Festival"),
    EnrolmentStatus.ACTIVE: _l("Studying"),
    EnrolmentStatus.WITHDRAWN: _l("Withdrawn"),
    EnrolmentStatus.COMPLETED: _l("Completed"),
    LogStatus.PENDING: _l("Waiting for review"),
    LogStatus.APPROVED: _l("Approved"),
    LogStatus.REJECTED: _l("Not approved"),
    LogStatus.RETURNED: _l("Returned with a question"),
    LogStatus.WITHDRAWN: _l("Withdrawn by the learner"),
    LogSource.LEARNER: _l("Logged by the learner"),
    LogSource.ATTENDANCE: _l("Attendance at a class session"),
    AttendanceStatus.PRESENT: _l("Present"),
    AttendanceStatus.LATE: _l("Late"),
    AttendanceStatus.ABSENT: _l("Absent"),
    AttendanceStatus.EXCUSED: _l("Excused"),
    NoteKind.QUESTION: _l("Question from the instructor"),
    NoteKind.ANSWER: _l("The learner's answer"),
    NoteKind.REJECTION: _l("Reason for not approving"),
    ReportStatus.SUBMITTED: _l("Waiting to be graded"),
    ReportStatus.REVISE: _l("To be revised"),
    ReportStatus.PASSED: _l("Passed"),
    ReportStatus.FAILED: _l("Failed"),
    GradeResult.PASS: _l("Pass"),
    GradeResult.REVISE: _l("Revise and resubmit"),
    GradeResult.FAIL: _l("Fail"),
    CertificateStatus.VALID: _l("Valid"),
    CertificateStatus.REVOKED: _l("Revoked"),
    CertificateStatus.SUPERSEDED: _l("Replaced by a re-issue"),
}


def label(member: enum.Enum) -> str:
    """The words for a role, module kind or status, in the visitor's language."""
    return str(LABELS[member])


def translations() -> NullTranslations:
    """The visitor's translations, found once per request and kept in ``g``.

    Flask-Babel finds them anew on every call, through several context lookups; a page of 50
    learners translates hundreds of words, and that lookup was most of its rendering time. (It
    would miss a language change made by ``flask_babel.refresh()`` or ``force_locale`` in the
    middle of a request: ``in_language`` is LCA's way to write in another language.)"""
    if not has_app_context():  # a module's words read outside the app: as written
        return NullTranslations()
    found: NullTranslations | None = g.get("_lca_translations")
    if found is None:
        found = g._lca_translations = get_translations()
    return found


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Write in ``language`` for a while (a message to a person, their calendar), whatever
    the request's: the words and the language found for the request are put aside and come
    back after."""
    with force_locale(language):
        _forget_language()
        try:
            yield
        finally:
            _forget_language()


def _forget_language() -> None:
    g.pop("_lca_translations", None)
    g.pop(LANGUAGE_KEY, None)


def _written(eval_ctx: EvalContext, text: str, variables: dict[str, Any]) -> str:
    """A translated text as Jinja's new-style gettext gives it: markup in an HTML template
    (the variables escaped into it), always read as a format string (a text without a ``%``
    reads the same without the formatting, which most words of a page skip)."""
    if eval_ctx.autoescape:
        words = Markup(text)  # noqa: S704 - as Jinja takes them  # nosec B704
        return words % variables if variables or "%" in text else words
    return text % variables if variables or "%" in text else text


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    return _written(eval_ctx, translations().ugettext(string), variables)


@pass_eval_context
def _template_ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, number: int, /, **variables: Any
) -> str:
    variables.setdefault("num", number)
    return _written(eval_ctx, translations().ungettext(singular, plural, number), variables)


@pass_eval_context
def _template_pgettext(
    eval_ctx: EvalContext, context: str, string: str, /, **variables: Any
) -> str:
    variables.setdefault("context", context)
    return _written(eval_ctx, translations().upgettext(context, string), variables)


@pass_eval_context
def _template_npgettext(
    eval_ctx: EvalContext,
    context: str,
    singular: str,
    plural: str,
    number: int,
    /,
    **variables: Any,
) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", number)
    text = translations().unpgettext(context, singular, plural, number)
    return _written(eval_ctx, text, variables)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined] # jinja2.ext.i18n
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    # The same new-style callables, taking the evaluation context rather than the whole
    # context: Jinja copies the whole context for each call of a context function inside a
    # loop or a block that sets variables, and that copy was most of the cost of a word in a
    # table (a review queue of 50 logs translates about 500).
    app.jinja_env.globals.update(
        _=_template_gettext,
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
    )
    app.before_request(remember_language_choice)
    app.add_template_filter(format_day, "day")
    app.add_template_filter(format_moment, "moment")
    app.add_template_filter(format_clock, "clock")
    app.add_template_filter(format_hours, "hours")
    app.add_template_filter(minutes_as_hours, "as_hours")
    app.add_template_filter(hours_plural, "hours_plural")
    app.add_template_filter(minutes_plural, "minutes_plural")
    app.add_template_filter(format_buddhist_year, "be_year")
    app.add_template_filter(localized, "l10n")
    app.add_template_filter(label, "label")
    app.add_template_global(current_language)
    app.add_template_global(language_switch_url)
