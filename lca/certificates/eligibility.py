"""Eligibility for the certificate: every module complete and the field work passed; and, in
words, what a learner still has to do to get there. Progress (lca.hours.progress) counts the
hours of each module; this module decides what they add up to. It reads progress through the
two protocols below, so that progress can ask it without an import circle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol

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
    steps = []
    for row in progress.modules:
        if row.is_complete:
            continue
        still = format_hours(row.remaining_minutes / 60)
        if row.module.is_field:
            if progress.window_state == "closed":
                steps.append(
                    ngettext(
                        "Field practice: %(hours)s hour is missing and your field window "
                        "closed on %(date)s. Ask the programme staff about an extension.",
                        "Field practice: %(hours)s hours are missing and your field window "
                        "closed on %(date)s. Ask the programme staff about an extension.",
                        minutes_plural(row.remaining_minutes),
                        hours=still,
                        date=format_day(progress.window_ends_on),
                    )
                )
                continue
            if progress.window_state == "not-open":
                steps.append(
                    ngettext(
                        "Field practice: your field window opens on %(start)s; you will have until "
                        "%(end)s for %(hours)s hour of field work.",
                        "Field practice: your field window opens on %(start)s; you will have until "
                        "%(end)s for %(hours)s hours of field work.",
                        minutes_plural(row.remaining_minutes),
                        start=format_day(progress.window_starts_on),
                        end=format_day(progress.window_ends_on),
                        hours=still,
                    )
                )
                continue
            steps.append(
                ngettext(
                    "Field practice: log %(hours)s more hour of field work by %(date)s.",
                    "Field practice: log %(hours)s more hours of field work by %(date)s.",
                    minutes_plural(row.remaining_minutes),
                    hours=still,
                    date=format_day(progress.window_ends_on),
                )
            )
        else:
            steps.append(
                ngettext(
                    "Module %(number)s: %(hours)s more hour to be approved.",
                    "Module %(number)s: %(hours)s more hours to be approved.",
                    minutes_plural(row.remaining_minutes),
                    number=row.module.number,
                    hours=still,
                )
            )
    if progress.pending_minutes:
        steps.append(
            ngettext(
                "%(hours)s hour is waiting for your instructor's review.",
                "%(hours)s hours are waiting for your instructor's review.",
                minutes_plural(progress.pending_minutes),
                hours=format_hours(progress.pending_minutes / 60),
            )
        )
    report_step = REPORT_STEPS.get(progress.report_status)
    if report_step is not None:
        steps.append(str(report_step))
    return steps


REPORT_STEPS = {
    None: _l("Hand in your field report: what you did in your city and what you learned."),
    ReportStatus.SUBMITTED: _l("Your field report is waiting to be graded."),
    ReportStatus.REVISE: _l("Revise your field report as your instructor asked, and resubmit it."),
    ReportStatus.FAILED: _l(
        "Your field report did not pass. The programme staff can reopen it so that you may "
        "hand in a new one: ask them."
    ),
}


def staff_missing_steps(progress: EnrolmentProgress) -> list[str]:
    """``missing_steps`` as staff read it: about the learner, not addressed to them."""
    steps = []
    for row in progress.modules:
        if row.is_complete:
            continue
        still = format_hours(row.remaining_minutes / 60)
        count = minutes_plural(row.remaining_minutes)
        if not row.module.is_field:
            steps.append(
                ngettext(
                    "Module %(number)s: %(hours)s more hour to be approved.",
                    "Module %(number)s: %(hours)s more hours to be approved.",
                    count,
                    number=row.module.number,
                    hours=still,
                )
            )
        elif progress.window_state == "closed":
            steps.append(
                ngettext(
                    "Field practice: %(hours)s hour is missing and the learner's field window "
                    "closed on %(date)s; an administrator can extend it.",
                    "Field practice: %(hours)s hours are missing and the learner's field window "
                    "closed on %(date)s; an administrator can extend it.",
                    count,
                    hours=still,
                    date=format_day(progress.window_ends_on),
                )
            )
        elif progress.window_state == "not-open":
            steps.append(
                ngettext(
                    "Field practice: the learner's field window opens on %(start)s and runs "
                    "until %(end)s, for %(hours)s hour of field work.",
                    "Field practice: the learner's field window opens on %(start)s and runs "
                    "until %(end)s, for %(hours)s hours of field work.",
                    count,
                    start=format_day(progress.window_starts_on),
                    end=format_day(progress.window_ends_on),
                    hours=still,
                )
            )
        else:
            steps.append(
                ngettext(
                    "Field practice: the learner still needs %(hours)s hour of field work, "
                    "by %(date)s.",
                    "Field practice: the learner still needs %(hours)s hours of field work, "
                    "by %(date)s.",
                    count,
                    hours=still,
                    date=format_day(progress.window_ends_on),
                )
            )
    if progress.pending_minutes:
        steps.append(
            ngettext(
                "%(hours)s hour is waiting for review.",
                "%(hours)s hours are waiting for review.",
                minutes_plural(progress.pending_minutes),
                hours=format_hours(progress.pending_minutes / 60),
            )
        )
    report_step = STAFF_REPORT_STEPS.get(progress.report_status)
    if report_step is not None:
        steps.append(str(report_step))
    return steps


STAFF_REPORT_STEPS = {
    None: _l("The learner has not handed in the field report yet."),
    ReportStatus.SUBMITTED: _l("The learner's field report is waiting to be graded."),
    ReportStatus.REVISE: _l("The learner is to revise the field report and hand it in again."),
    ReportStatus.FAILED: _l(
        "The learner's field report did not pass; an administrator can reopen it so that the "
        "learner may hand in a new one."
    ),
}
