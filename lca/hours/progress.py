"""Progress toward the certificate: per enrolment and module, the approved, pending and required
hours, the field window, and what is still missing. One aggregate query, however many logs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from lca.core.dates import format_day, local_today
from lca.core.db import db
from lca.models import (
    Cohort,
    Enrolment,
    FieldReport,
    HourLog,
    LogStatus,
    Module,
    ModuleKind,
    ReportStatus,
    User,
)
from lca.web.i18n import format_hours


@dataclass
class ModuleProgress:
    module: Module
    approved_minutes: int = 0  #: counted: for field practice, only days inside the window
    pending_minutes: int = 0
    outside_window_minutes: int = 0  #: approved field minutes dated outside the window

    @property
    def required_minutes(self) -> int:
        return self.module.hours * 60

    @property
    def counted_minutes(self) -> int:
        """What counts toward the course: approved hours, up to the module's requirement."""
        return min(self.approved_minutes, self.required_minutes)

    @property
    def remaining_minutes(self) -> int:
        return self.required_minutes - self.counted_minutes

    @property
    def is_complete(self) -> bool:
        """A module is complete when its approved hours reach its required hours."""
        return self.approved_minutes >= self.required_minutes

    @property
    def state(self) -> str:
        if self.is_complete:
            return "complete"
        if self.approved_minutes or self.pending_minutes:
            return "started"
        return "not-started"


@dataclass
class EnrolmentProgress:
    enrolment: Enrolment
    modules: list[ModuleProgress]
    today: date
    report_status: ReportStatus | None = None  #: the field report's state, if handed in
    missing: list[str] = field(default_factory=list)

    @property
    def field_passed(self) -> bool:
        return self.report_status is ReportStatus.PASSED

    @property
    def is_eligible(self) -> bool:
        """Eligible for the certificate: every module complete and the field work passed."""
        return self.hours_complete and self.field_passed

    @property
    def required_minutes(self) -> int:
        return sum(m.required_minutes for m in self.modules)

    @property
    def counted_minutes(self) -> int:
        return sum(m.counted_minutes for m in self.modules)

    @property
    def pending_minutes(self) -> int:
        return sum(m.pending_minutes for m in self.modules)

    @property
    def hours_complete(self) -> bool:
        """Every module has its approved hours."""
        return all(m.is_complete for m in self.modules)

    @property
    def window_starts_on(self) -> date:
        return self.enrolment.field_window_starts_on

    @property
    def window_ends_on(self) -> date:
        return self.enrolment.field_window_ends_on

    @property
    def window_state(self) -> str:
        if self.today < self.window_starts_on:
            return "not-open"
        return "open" if self.today <= self.window_ends_on else "closed"

    @property
    def days_left(self) -> int:
        """Days left in the field window, today included; 0 once it has closed."""
        if self.window_state == "closed":
            return 0
        return (self.window_ends_on - max(self.today, self.window_starts_on)).days + 1

    @property
    def days_until_window(self) -> int:
        return max((self.window_starts_on - self.today).days, 0)

    def module(self, number: int) -> ModuleProgress:
        return next(m for m in self.modules if m.module.number == number)


def minutes_by_module(enrolment_filter) -> dict[int, dict[int, list[int]]]:
    """{enrolment_id: {module_id: [approved, pending, approved outside the field window]}}."""
    window_start = func.coalesce(Enrolment.field_starts_on, Cohort.field_starts_on)
    window_end = func.coalesce(Enrolment.field_ends_on, Cohort.field_ends_on)
    inside = and_(HourLog.worked_on >= window_start, HourLog.worked_on <= window_end)
    approved = HourLog.status == LogStatus.APPROVED
    is_field = Module.kind == ModuleKind.FIELD
    query = (
        select(
            HourLog.enrolment_id,
            HourLog.module_id,
            func.sum(case((approved & (~is_field | inside), HourLog.minutes), else_=0)),
            func.sum(case((HourLog.status == LogStatus.PENDING, HourLog.minutes), else_=0)),
            func.sum(case((approved & is_field & ~inside, HourLog.minutes), else_=0)),
        )
        .join(Enrolment, Enrolment.id == HourLog.enrolment_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .join(Module, Module.id == HourLog.module_id)
        # No filter on the status: the sums above ignore the other states, and a filter on it
        # would tempt SQLite into the review queue's status index, reading every cohort's logs.
        .where(enrolment_filter)
        .group_by(HourLog.enrolment_id, HourLog.module_id)
    )
    minutes: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for enrolment_id, module_id, counted, pending, outside in db.session.execute(query):
        minutes[enrolment_id][module_id] = [int(counted or 0), int(pending or 0), int(outside or 0)]
    return minutes


def report_statuses(enrolment_filter) -> dict[int, ReportStatus]:
    """{enrolment_id: the state of its field report}."""
    query = (
        select(FieldReport.enrolment_id, FieldReport.status)
        .join(Enrolment, Enrolment.id == FieldReport.enrolment_id)
        .where(enrolment_filter)
    )
    return dict(db.session.execute(query).tuples().all())


def _build(
    enrolment: Enrolment,
    modules: list[Module],
    minutes: dict[int, list[int]],
    today: date,
    report_status: ReportStatus | None,
) -> EnrolmentProgress:
    rows = []
    for module in modules:
        approved, pending, outside = minutes.get(module.id, (0, 0, 0))
        rows.append(ModuleProgress(module, approved, pending, outside))
    progress = EnrolmentProgress(enrolment, rows, today, report_status)
    progress.missing = next_steps(progress)
    return progress


def _modules() -> list[Module]:
    return list(db.session.scalars(select(Module).order_by(Module.number)))


def progress_of(enrolments: list[Enrolment]) -> list[EnrolmentProgress]:
    """Progress of the given enrolments (their cohorts loaded), in one aggregate query."""
    if not enrolments:
        return []
    modules, today = _modules(), local_today()
    ids = [enrolment.id for enrolment in enrolments]
    minutes = minutes_by_module(HourLog.enrolment_id.in_(ids))
    reports = report_statuses(Enrolment.id.in_(ids))
    return [_build(e, modules, minutes.get(e.id, {}), today, reports.get(e.id)) for e in enrolments]


def cohort_progress(cohort: Cohort) -> list[EnrolmentProgress]:
    """Progress of every learner of a cohort, for the cohort matrix."""
    enrolments = list(
        db.session.scalars(
            select(Enrolment)
            .join(Enrolment.learner)
            .where(Enrolment.cohort_id == cohort.id)
            .options(
                joinedload(Enrolment.learner).joinedload(User.city), joinedload(Enrolment.cohort)
            )
            .order_by(User.full_name_th)
        )
    )
    modules, today = _modules(), local_today()
    minutes = minutes_by_module(Enrolment.cohort_id == cohort.id)
    reports = report_statuses(Enrolment.cohort_id == cohort.id)
    return [_build(e, modules, minutes.get(e.id, {}), today, reports.get(e.id)) for e in enrolments]


def next_steps(progress: EnrolmentProgress) -> list[str]:
    """What the learner still has to do, in words, most urgent first."""
    steps = []
    for row in progress.modules:
        if row.is_complete:
            continue
        still = format_hours(row.remaining_minutes / 60)
        if row.module.is_field:
            if progress.window_state == "closed":
                steps.append(
                    _(
                        "Field practice: %(hours)s hours are missing and your field window "
                        "closed on %(date)s. Ask the programme staff about an extension.",
                        hours=still,
                        date=format_day(progress.window_ends_on),
                    )
                )
                continue
            if progress.window_state == "not-open":
                steps.append(
                    _(
                        "Field practice: your field window opens on %(start)s; you will have until "
                        "%(end)s for %(hours)s hours of field work.",
                        start=format_day(progress.window_starts_on),
                        end=format_day(progress.window_ends_on),
                        hours=still,
                    )
                )
                continue
            steps.append(
                _(
                    "Field practice: log %(hours)s more hours of field work by %(date)s.",
                    hours=still,
                    date=format_day(progress.window_ends_on),
                )
            )
        else:
            steps.append(
                _(
                    "Module %(number)s: %(hours)s more hours to be approved.",
                    number=row.module.number,
                    hours=still,
                )
            )
    if progress.pending_minutes:
        steps.append(
            _(
                "%(hours)s hours are waiting for your instructor's review.",
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
    ReportStatus.FAILED: _l("Your field report did not pass. Please contact the programme staff."),
}
