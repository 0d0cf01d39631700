"""Progress toward the certificate: per enrolment and module, the approved, pending and required
hours, and the field window. One aggregate query, however many logs. What the hours add up to
(eligibility, what is still missing) is decided in lca.certificates.eligibility."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, case, func, select
from sqlalchemy.orm import joinedload

from lca.certificates import eligibility
from lca.core.collation import thai_order
from lca.core.dates import local_today, programme_timezone
from lca.core.db import db
from lca.curriculum.services import modules_by_version, modules_of
from lca.models import (
    Cohort,
    Enrolment,
    FieldReport,
    Grade,
    GradeResult,
    HourLog,
    LogStatus,
    Module,
    ModuleKind,
    ReportStatus,
    User,
)


@dataclass
class ModuleProgress:
    module: Module
    approved_minutes: int = 0  #: counted: for field practice, only days inside the window
    pending_minutes: int = 0
    outside_window_minutes: int = 0  #: approved field minutes dated outside the window
    # read from the module once: a cohort matrix asks thousands of times, and each read of a
    # mapped attribute goes through SQLAlchemy's instrumentation
    required_minutes: int = field(init=False)
    #: what counts toward the course: approved hours, up to the module's requirement
    counted_minutes: int = field(init=False)
    #: a module is complete when its approved hours reach its required hours
    is_complete: bool = field(init=False)

    def __post_init__(self) -> None:
        self.required_minutes = self.module.hours * 60
        self.counted_minutes = min(self.approved_minutes, self.required_minutes)
        self.is_complete = self.approved_minutes >= self.required_minutes

    @property
    def remaining_minutes(self) -> int:
        return self.required_minutes - self.counted_minutes

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
    #: approved minutes of modules that are not in the cohort's curriculum version (the cohort
    #: moved to a version without them): kept and shown as carried over, never counted
    carried_over_minutes: int = 0

    @property
    def is_eligible(self) -> bool:
        """Eligible for the certificate, as lca.certificates.eligibility decides."""
        return eligibility.is_eligible(self.modules, self.report_status)

    #: what is still missing for the certificate, in the words of the language in use when
    #: the progress was read (lca.certificates.eligibility.missing_steps)
    missing: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.missing = eligibility.missing_steps(self)

    @property
    def missing_for_staff(self) -> list[str]:
        """What is still missing, as staff read it: about the learner, not to them."""
        return eligibility.staff_missing_steps(self)

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
        """Every module complete, as lca.certificates.eligibility decides."""
        return eligibility.hours_complete(self.modules)

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
        return "open" if self.enrolment.in_field_window(self.today) else "closed"

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


def minutes_statement(enrolment_filter: ColumnElement[bool]) -> Select[Any]:
    """The sums of ``minutes_by_module`` for the enrolments matching ``enrolment_filter``."""
    inside = Enrolment.in_field_window(HourLog.worked_on)
    approved = HourLog.status == LogStatus.APPROVED
    is_field = Module.kind == ModuleKind.FIELD
    return (
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


def report_statement(enrolment_filter: ColumnElement[bool]) -> Select[Any]:
    """The field reports' states of ``report_statuses`` for the enrolments matching it."""
    return (
        select(FieldReport.enrolment_id, FieldReport.status)
        .join(Enrolment, Enrolment.id == FieldReport.enrolment_id)
        .where(enrolment_filter)
    )


# The statements of the pages that read progress most, built once with parameters: SQLAlchemy
# keeps a statement's cache key with it, and building the sums anew for each learner home took
# longer than SQLite took to add them up.
_ENROLMENT_IDS: BindParameter[list[int]] = bindparam("enrolment_ids", expanding=True)
_OF_COHORT = Enrolment.cohort_id == bindparam("cohort_id")
MINUTES_OF_ENROLMENTS = minutes_statement(HourLog.enrolment_id.in_(_ENROLMENT_IDS))
MINUTES_OF_COHORT = minutes_statement(_OF_COHORT)
REPORTS_OF_ENROLMENTS = report_statement(Enrolment.id.in_(_ENROLMENT_IDS))
REPORTS_OF_COHORT = report_statement(_OF_COHORT)


def minutes_by_module(
    statement: Select[Any], params: dict[str, Any]
) -> dict[int, dict[int, list[int]]]:
    """{enrolment_id: {module_id: [approved, pending, approved outside the field window]}}, by
    a statement of ``minutes_statement`` (``MINUTES_OF_ENROLMENTS``, ``MINUTES_OF_COHORT``, a
    report's) with its ``params``."""
    minutes: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for enrolment_id, module_id, counted, pending, outside in db.session.execute(statement, params):
        minutes[enrolment_id][module_id] = [int(counted or 0), int(pending or 0), int(outside or 0)]
    return minutes


def report_statuses(statement: Select[Any], params: dict[str, Any]) -> dict[int, ReportStatus]:
    """{enrolment_id: the state of its field report}, by a statement of ``report_statement``
    (``REPORTS_OF_ENROLMENTS``, ``REPORTS_OF_COHORT``, a report's) with its ``params``."""
    return dict(db.session.execute(statement, params).tuples().all())


def module_progress(modules: list[Module], minutes: dict[int, list[int]]) -> list[ModuleProgress]:
    """One enrolment's row for each module, from its entry of ``minutes_by_module``."""
    return [ModuleProgress(module, *minutes.get(module.id, (0, 0, 0))) for module in modules]


def carried_over(modules: list[Module], minutes: dict[int, list[int]]) -> int:
    """Approved minutes of modules outside ``modules`` (another version's)."""
    ids = {module.id for module in modules}
    return sum(sums[0] + sums[2] for module_id, sums in minutes.items() if module_id not in ids)


def _progress(
    enrolment: Enrolment,
    modules: list[Module],
    minutes: dict[int, list[int]],
    today: date,
    report: ReportStatus | None,
) -> EnrolmentProgress:
    return EnrolmentProgress(
        enrolment,
        module_progress(modules, minutes),
        today,
        report,
        carried_over_minutes=carried_over(modules, minutes),
    )


def progress_of(enrolments: list[Enrolment]) -> list[EnrolmentProgress]:
    """Progress of the given enrolments (their cohorts loaded), each against the curriculum
    version of its cohort, in one aggregate query and one query of the versions' modules."""
    if not enrolments:
        return []
    today = local_today()
    modules = modules_by_version({e.cohort.curriculum_version_id for e in enrolments})
    ids = [enrolment.id for enrolment in enrolments]
    minutes = minutes_by_module(MINUTES_OF_ENROLMENTS, {"enrolment_ids": ids})
    reports = report_statuses(REPORTS_OF_ENROLMENTS, {"enrolment_ids": ids})
    return [
        _progress(
            e,
            modules[e.cohort.curriculum_version_id],
            minutes.get(e.id, {}),
            today,
            reports.get(e.id),
        )
        for e in enrolments
    ]


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
            .order_by(thai_order(User.full_name_th))
        )
    )
    modules, today = modules_of(cohort.curriculum_version_id), local_today()
    minutes = minutes_by_module(MINUTES_OF_COHORT, {"cohort_id": cohort.id})
    reports = report_statuses(REPORTS_OF_COHORT, {"cohort_id": cohort.id})
    return [
        _progress(e, modules, minutes.get(e.id, {}), today, reports.get(e.id)) for e in enrolments
    ]


def _local_day(moment: datetime) -> date:
    """The programme's calendar day of a stored moment (UTC; SQLite returns it naive)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(programme_timezone()).date()


def completed_on(enrolment: Enrolment) -> date | None:
    """The day the learner met the certificate's last requirement, or None while one is
    missing: for each module, the day of the approval that brought its counted hours up to
    its requirement (approvals in the order they were given; field hours only inside the
    window, as progress counts them), and the day the field report's passing grade was given.
    The certificate's period ends on it (lca.certificates.services.activity_ended_on)."""
    modules = modules_of(enrolment.cohort.curriculum_version_id)
    approved = db.session.execute(
        select(HourLog.module_id, HourLog.minutes, HourLog.worked_on, HourLog.reviewed_at)
        .where(HourLog.enrolment_id == enrolment.id, HourLog.status == LogStatus.APPROVED)
        .order_by(HourLog.reviewed_at, HourLog.id)
    ).all()
    days = []
    for module in modules:
        if module.hours <= 0:
            continue
        counted, reached = 0, None
        # An approval without a moment (an import, a seeded log) counts on the day worked.
        logs = sorted(
            (
                (_local_day(reviewed_at) if reviewed_at else worked_on, minutes)
                for module_id, minutes, worked_on, reviewed_at in approved
                if module_id == module.id
                and (not module.is_field or enrolment.in_field_window(worked_on))
            ),
            key=lambda log: log[0],
        )
        for day, minutes in logs:
            counted += minutes
            if counted >= module.hours * 60:
                reached = day
                break
        if reached is None:
            return None
        days.append(reached)
    report = db.session.scalar(select(FieldReport).where(FieldReport.enrolment_id == enrolment.id))
    if report is None or report.status is not ReportStatus.PASSED:
        return None
    passed_at = db.session.scalar(
        select(func.max(Grade.graded_at)).where(
            Grade.field_report_id == report.id, Grade.result == GradeResult.PASS
        )
    )
    days.append(_local_day(passed_at or report.updated_at))
    return max(days)
