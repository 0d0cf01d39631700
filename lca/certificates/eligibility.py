"""Eligibility for the certificate: every module complete and the field work passed; and, in
words, what a learner still has to do to get there. Progress (lca.hours.progress) counts the
hours of each module; this module decides what they add up to. It reads progress through the
two protocols below, so that progress can ask it without an import circle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import ClassVar, Protocol

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from lca.core.dates import format_day
from lca.models import Module, ReportStatus
from lca.web.i18n import format_hours, minutes_plural


class ModuleProgress(Protocol):
    """One module's hours, as lca.hours.progress.ModuleProgress counts them."""

    @property
    def module(self) -> Module: ...
    @property
    def is_complete(self) -> bool: ...
    @property
    def remaining_minutes(self) -> int: ...


class EnrolmentProgress(Protocol):
    """One learner's progress, as lca.hours.progress.EnrolmentProgress computes it."""

    @property
    def modules(self) -> Sequence[ModuleProgress]: ...
    @property
    def report_status(self) -> ReportStatus | None: ...
    @property
    def pending_minutes(self) -> int: ...
    @property
    def window_state(self) -> str: ...
    @property
    def window_starts_on(self) -> date: ...
    @property
    def window_ends_on(self) -> date: ...


def hours_complete(modules: Iterable[ModuleProgress]) -> bool:
    """The hours are complete when every module is complete."""
    return all(row.is_complete for row in modules)


def field_passed(report_status: ReportStatus | None) -> bool:
    """The field work has passed when the field report's assessment is a pass."""
    return report_status is ReportStatus.PASSED


def is_eligible(modules: Iterable[ModuleProgress], report_status: ReportStatus | None) -> bool:
    """Eligible for the certificate: every module complete and the field work passed."""
    return hours_complete(modules) and field_passed(report_status)


def missing_steps(progress: EnrolmentProgress) -> list[str]:
    """What the learner still has to do for the certificate, in words, most urgent first."""
    return _steps(progress, ToTheLearner)


def staff_missing_steps(progress: EnrolmentProgress) -> list[str]:
    """``missing_steps`` as staff read it: about the learner, not addressed to them."""
    return _steps(progress, AboutTheLearner)


def _steps(progress: EnrolmentProgress, words: type[ToTheLearner]) -> list[str]:
    """The steps still missing, most urgent first, said in ``words``."""
    steps = []
    for row in progress.modules:
        if row.is_complete:
            continue
        hours, count = (
            format_hours(row.remaining_minutes / 60),
            minutes_plural(row.remaining_minutes),
        )
        if not row.module.is_field:
            steps.append(words.module(row.module.number, hours, count))
        elif progress.window_state == "closed":
            steps.append(words.window_closed(hours, format_day(progress.window_ends_on), count))
        elif progress.window_state == "not-open":
            start, end = format_day(progress.window_starts_on), format_day(progress.window_ends_on)
            steps.append(words.window_not_open(start, end, hours, count))
        else:
            steps.append(words.field_work(hours, format_day(progress.window_ends_on), count))
    if progress.pending_minutes:
        hours = format_hours(progress.pending_minutes / 60)
        steps.append(words.waiting(hours, minutes_plural(progress.pending_minutes)))
    report_step = words.REPORT.get(progress.report_status)
    if report_step is not None:
        steps.append(str(report_step))
    return steps


class ToTheLearner:
    """The steps as the learner reads them, addressed to them."""

    REPORT: ClassVar[Mapping[ReportStatus | None, object]] = {
        None: _l("Hand in your field report: what you did in your city and what you learned."),
        ReportStatus.SUBMITTED: _l("Your field report is waiting to be graded."),
        ReportStatus.REVISE: _l(
            "Revise your field report as your instructor asked, and resubmit it."
        ),
        ReportStatus.FAILED: _l(
            "Your field report did not pass. The programme staff can reopen it so that you may "
            "hand in a new one: ask them."
        ),
    }

    @staticmethod
    def module(number: int, hours: str, count: int) -> str:
        return str(
            ngettext(
                "Module %(number)s: %(hours)s more hour to be approved.",
                "Module %(number)s: %(hours)s more hours to be approved.",
                count,
                number=number,
                hours=hours,
            )
        )

    @staticmethod
    def window_closed(hours: str, date: str, count: int) -> str:
        return str(
            ngettext(
                "Field practice: %(hours)s hour is missing and your field window "
                "closed on %(date)s. Ask the programme staff about an extension.",
                "Field practice: %(hours)s hours are missing and your field window "
                "closed on %(date)s. Ask the programme staff about an extension.",
                count,
                hours=hours,
                date=date,
            )
        )

    @staticmethod
    def window_not_open(start: str, end: str, hours: str, count: int) -> str:
        return str(
            ngettext(
                "Field practice: your field window opens on %(start)s; you will have until "
                "%(end)s for %(hours)s hour of field work.",
                "Field practice: your field window opens on %(start)s; you will have until "
                "%(end)s for %(hours)s hours of field work.",
                count,
                start=start,
                end=end,
                hours=hours,
            )
        )

    @staticmethod
    def field_work(hours: str, date: str, count: int) -> str:
        return str(
            ngettext(
                "Field practice: log %(hours)s more hour of field work by %(date)s.",
                "Field practice: log %(hours)s more hours of field work by %(date)s.",
                count,
                hours=hours,
                date=date,
            )
        )

    @staticmethod
    def waiting(hours: str, count: int) -> str:
        return str(
            ngettext(
                "%(hours)s hour is waiting for your instructor's review.",
                "%(hours)s hours are waiting for your instructor's review.",
                count,
                hours=hours,
            )
        )


class AboutTheLearner(ToTheLearner):
    """The same steps as staff read them: about the learner, not addressed to them."""

    REPORT: ClassVar[Mapping[ReportStatus | None, object]] = {
        None: _l("The learner has not handed in the field report yet."),
        ReportStatus.SUBMITTED: _l("The learner's field report is waiting to be graded."),
        ReportStatus.REVISE: _l("The learner is to revise the field report and hand it in again."),
        ReportStatus.FAILED: _l(
            "The learner's field report did not pass; an administrator can reopen it so that the "
            "learner may hand in a new one."
        ),
    }

    @staticmethod
    def window_closed(hours: str, date: str, count: int) -> str:
        return str(
            ngettext(
                "Field practice: %(hours)s hour is missing and the learner's field window "
                "closed on %(date)s; an administrator can extend it.",
                "Field practice: %(hours)s hours are missing and the learner's field window "
                "closed on %(date)s; an administrator can extend it.",
                count,
                hours=hours,
                date=date,
            )
        )

    @staticmethod
    def window_not_open(start: str, end: str, hours: str, count: int) -> str:
        return str(
            ngettext(
                "Field practice: the learner's field window opens on %(start)s and runs "
                "until %(end)s, for %(hours)s hour of field work.",
                "Field practice: the learner's field window opens on %(start)s and runs "
                "until %(end)s, for %(hours)s hours of field work.",
                count,
                start=start,
                end=end,
                hours=hours,
            )
        )

    @staticmethod
    def field_work(hours: str, date: str, count: int) -> str:
        return str(
            ngettext(
                "Field practice: the learner still needs %(hours)s hour of field work, "
                "by %(date)s.",
                "Field practice: the learner still needs %(hours)s hours of field work, "
                "by %(date)s.",
                count,
                hours=hours,
                date=date,
            )
        )

    @staticmethod
    def waiting(hours: str, count: int) -> str:
        return str(
            ngettext(
                "%(hours)s hour is waiting for review.",
                "%(hours)s hours are waiting for review.",
                count,
                hours=hours,
            )
        )
