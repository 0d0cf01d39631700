"""Moving a cohort to another curriculum version: the preview of what the move does to each
learner, and the move itself (an administrator's act, with its reason kept).

Logs follow their module by number: every hour log (in any state) and class session of the
cohort whose module has a module of the same number and the same kind in the target version is
re-pointed to it. The others stay on their module: never deleted, they are carried over (shown,
not counted; lca.hours.progress.carried_over). The cohort's field window follows the version
when it was the old version's (not set by hand), and the learners' own windows with it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, Row, Update, case, func, select, update
from sqlalchemy.orm import joinedload

from lca.cohorts.field_window import field_window_after, refresh_field_windows
from lca.core.audit import record
from lca.core.collation import thai_order
from lca.core.dates import local_today
from lca.core.db import db
from lca.core.errors import RuleError
from lca.curriculum.services import field_module, modules_of
from lca.hours.progress import (
    MINUTES_OF_COHORT,
    REPORTS_OF_COHORT,
    EnrolmentProgress,
    carried_over,
    minutes_by_module,
    module_progress,
    report_statuses,
)
from lca.models import (
    Certificate,
    CertificateStatus,
    ClassSession,
    Cohort,
    CurriculumMove,
    CurriculumVersion,
    Enrolment,
    HourLog,
    LogStatus,
    Module,
    ModuleKind,
    ReportStatus,
    User,
)
from lca.models.cohorts import MAX_FIELD_WINDOW_MONTHS
from lca.web.pages import MAX_DATABASE_INT

#: the states of a log that a learner or a reviewer still acts on: the preview names each one
#: whose module changes or is carried over
OPEN_STATES = (LogStatus.PENDING, LogStatus.RETURNED)

#: a pending or returned log as the preview reads it: enrolment, id, module, day, minutes, state
OpenLog = Row[tuple[int, int, int, date, int, LogStatus]]


# --------------------------------------------------------------------------- pure rules


def counterparts_in(
    target_modules: Iterable[Module], modules: Iterable[Module]
) -> dict[int, Module]:
    """{module id: the target version's module of the same number and kind}, for each of
    ``modules`` that has one: where its logs and sessions go when the cohort moves."""
    by_key = {(m.number, m.kind): m for m in target_modules}
    return {m.id: by_key[(m.number, m.kind)] for m in modules if (m.number, m.kind) in by_key}


def minutes_after_move(
    minutes: dict[int, list[int]], counterparts: dict[int, Module]
) -> dict[int, list[int]]:
    """One enrolment's entry of lca.hours.progress.minutes_by_module as it would read after the
    move: each module's sums under its counterpart in the target version, the sums of a module
    without one under that module still (carried over)."""
    after: dict[int, list[int]] = {}
    for module_id, sums in minutes.items():
        target = counterparts.get(module_id)
        into = after.setdefault(target.id if target else module_id, [0, 0, 0])
        for place, value in enumerate(sums):
            into[place] += value
    return after


@dataclass(frozen=True)
class FieldDay:
    """An approved field log of the cohort: its module, day and minutes (to count it against
    a field window that the move changes)."""

    enrolment_id: int
    module_id: int
    worked_on: date
    minutes: int


def rewindowed(
    minutes: dict[int, list[int]],
    field_days: Iterable[FieldDay],
    field_module_id: int,
    window: tuple[date, date],
    counterparts: dict[int, Module],
) -> dict[int, list[int]]:
    """``minutes`` (already after the move) with the approved field minutes of the target's
    field module counted again against the learner's field window after the move (``window``,
    both days inside): inside it they count, outside they are shown as outside the window."""
    inside = outside = 0
    for day in field_days:
        target = counterparts.get(day.module_id)
        if (target.id if target else day.module_id) != field_module_id:
            continue
        if window[0] <= day.worked_on <= window[1]:
            inside += day.minutes
        else:
            outside += day.minutes
    if not inside and not outside and field_module_id not in minutes:
        return minutes
    pending = minutes.get(field_module_id, [0, 0, 0])[1]
    return {**minutes, field_module_id: [inside, pending, outside]}


def progress_after_move(
    enrolment: Enrolment,
    minutes: dict[int, list[int]],
    counterparts: dict[int, Module],
    target_modules: list[Module],
    today: date,
    report: ReportStatus | None,
    *,
    field_window: tuple[date, date] | None = None,
    field_days: Iterable[FieldDay] = (),
) -> EnrolmentProgress:
    """A learner's progress against the target version, from their entry of
    ``minutes_by_module`` re-keyed onto its modules (nothing written). When the move changes
    the learner's field window (``field_window``: its first and last day after the move), the
    approved field logs (``field_days``) are counted against it instead."""
    after = minutes_after_move(minutes, counterparts)
    target_field = field_module(target_modules)
    if field_window is not None and target_field is not None:
        after = rewindowed(after, field_days, target_field.id, field_window, counterparts)
    return EnrolmentProgress(
        enrolment,
        module_progress(target_modules, after),
        today,
        report,
        carried_over_minutes=carried_over(target_modules, after),
    )


def field_window_months_after(
    cohort: Cohort, source_modules: list[Module], target_modules: list[Module]
) -> tuple[bool, int]:
    """(whether the cohort's field window follows the version, its length after the move): it
    follows when it is the old version's field window (not set by hand for the cohort) and the
    target's fits a cohort's limits; otherwise it stays as it is."""
    old, new = field_module(source_modules), field_module(target_modules)
    follows = (
        old is not None
        and new is not None
        and new.field_window_months is not None
        and cohort.field_window_months == old.field_window_months
        and 1 <= new.field_window_months <= MAX_FIELD_WINDOW_MONTHS
    )
    if follows and new is not None and new.field_window_months is not None:  # (for the types)
        return True, new.field_window_months
    return False, cohort.field_window_months


# --------------------------------------------------------------------------- the preview


@dataclass(frozen=True)
class LogChange:
    """A log the move re-points to another module (``to_module``) or carries over (None)."""

    log_id: int
    enrolment_id: int
    worked_on: date
    minutes: int
    status: LogStatus
    from_module: Module
    to_module: Module | None


@dataclass
class LearnerPreview:
    """What the move does to one learner."""

    enrolment: Enrolment
    before: EnrolmentProgress
    after: EnrolmentProgress
    #: approved minutes that count now and would be carried over (no longer count), per module
    no_longer_counted: list[tuple[Module, int]] = field(default_factory=list)
    #: pending or returned logs whose module changes
    logs_changing: list[LogChange] = field(default_factory=list)
    #: pending or returned logs that would be carried over
    logs_carried_over: list[LogChange] = field(default_factory=list)
    holds_valid_certificate: bool = False

    @property
    def no_longer_counted_minutes(self) -> int:
        return sum(minutes for _module, minutes in self.no_longer_counted)

    @property
    def changes(self) -> bool:
        """The move changes something this learner sees."""
        return bool(
            self.no_longer_counted
            or self.logs_changing
            or self.logs_carried_over
            or self.before.hours_complete != self.after.hours_complete
            or self.before.is_eligible != self.after.is_eligible
        )


@dataclass
class MovePreview:
    """What moving a cohort to ``target`` would do, written nowhere."""

    cohort: Cohort
    source: CurriculumVersion
    target: CurriculumVersion
    source_modules: list[Module]
    target_modules: list[Module]
    counterparts: dict[int, Module]
    learners: list[LearnerPreview]
    window_follows: bool
    window_months_after: int
    window_months_of_source: int | None
    logs_moved: int
    logs_carried_over: int
    sessions_moved: int
    sessions_staying: int

    @property
    def module_rows(self) -> list[tuple[Module, Module | None]]:
        """Each module of the cohort's version with where its logs go (None: carried over)."""
        return [(m, self.counterparts.get(m.id)) for m in self.source_modules]

    @property
    def new_modules(self) -> list[Module]:
        """The target's modules that no module of the cohort's version becomes."""
        reached = {new.id for _old, new in self.module_rows if new is not None}
        return [m for m in self.target_modules if m.id not in reached]

    @property
    def window_changes(self) -> bool:
        return self.window_months_after != self.cohort.field_window_months

    @property
    def certificate_holders(self) -> list[Enrolment]:
        return [one.enrolment for one in self.learners if one.holds_valid_certificate]

    @property
    def needs_confirmation(self) -> bool:
        """Certificates already issued: the administrator must confirm that they stand."""
        return bool(self.certificate_holders)

    @property
    def complete_before(self) -> int:
        return sum(one.before.hours_complete for one in self.learners)

    @property
    def complete_after(self) -> int:
        return sum(one.after.hours_complete for one in self.learners)

    @property
    def eligible_before(self) -> int:
        return sum(one.before.is_eligible for one in self.learners)

    @property
    def eligible_after(self) -> int:
        return sum(one.after.is_eligible for one in self.learners)

    @property
    def no_longer_counted_minutes(self) -> int:
        return sum(one.no_longer_counted_minutes for one in self.learners)

    @property
    def logs_changing(self) -> list[LogChange]:
        return [change for one in self.learners for change in one.logs_changing]

    @property
    def open_logs_carried_over(self) -> list[LogChange]:
        return [change for one in self.learners for change in one.logs_carried_over]


def valid_certificate_holders(cohort: Cohort) -> set[int]:
    """The ids of the cohort's enrolments that hold a valid certificate."""
    return set(
        db.session.scalars(
            select(Certificate.enrolment_id)
            .join(Enrolment, Enrolment.id == Certificate.enrolment_id)
            .where(Enrolment.cohort_id == cohort.id, Certificate.status == CertificateStatus.VALID)
        )
    )


def _every_module() -> dict[int, Module]:
    """Every module of every version, by id (a few dozen rows): what a cohort's logs may name."""
    return {m.id: m for m in db.session.scalars(select(Module).order_by(Module.number))}


def _counted_by_module(cohort: Cohort) -> tuple[dict[int, int], dict[int, int]]:
    """({module id: the cohort's hour logs on it}, {module id: the cohort's sessions of it})."""
    logs = db.session.execute(
        select(HourLog.module_id, func.count())
        .join(Enrolment, Enrolment.id == HourLog.enrolment_id)
        .where(Enrolment.cohort_id == cohort.id)
        .group_by(HourLog.module_id)
    )
    sessions = db.session.execute(
        select(ClassSession.module_id, func.count())
        .where(ClassSession.cohort_id == cohort.id)
        .group_by(ClassSession.module_id)
    )
    return dict(logs.tuples().all()), dict(sessions.tuples().all())


def _enrolments_of(cohort: Cohort) -> list[Enrolment]:
    """Every enrolment of the cohort (withdrawn ones too), in Thai name order."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .join(Enrolment.learner)
            .where(Enrolment.cohort_id == cohort.id)
            .options(
                joinedload(Enrolment.learner).joinedload(User.city), joinedload(Enrolment.cohort)
            )
            .order_by(thai_order(User.full_name_th), Enrolment.id)
        )
    )


def _open_logs(cohort: Cohort) -> dict[int, list[OpenLog]]:
    """{enrolment id: its pending and returned logs (id, module, day, minutes, state)}."""
    rows = db.session.execute(
        select(
            HourLog.enrolment_id,
            HourLog.id,
            HourLog.module_id,
            HourLog.worked_on,
            HourLog.minutes,
            HourLog.status,
        )
        .join(Enrolment, Enrolment.id == HourLog.enrolment_id)
        .where(Enrolment.cohort_id == cohort.id, HourLog.status.in_(OPEN_STATES))
        .order_by(HourLog.worked_on, HourLog.id)
    )
    found: dict[int, list[OpenLog]] = defaultdict(list)
    for row in rows:
        found[row.enrolment_id].append(row)
    return found


def _field_days(cohort: Cohort) -> dict[int, list[FieldDay]]:
    """{enrolment id: its approved field logs}, to count them against a changed window."""
    rows = db.session.execute(
        select(HourLog.enrolment_id, HourLog.module_id, HourLog.worked_on, HourLog.minutes)
        .join(Enrolment, Enrolment.id == HourLog.enrolment_id)
        .join(Module, Module.id == HourLog.module_id)
        .where(
            Enrolment.cohort_id == cohort.id,
            HourLog.status == LogStatus.APPROVED,
            Module.kind == ModuleKind.FIELD,
        )
    )
    found: dict[int, list[FieldDay]] = defaultdict(list)
    for row in rows:
        found[row.enrolment_id].append(FieldDay(*row))
    return found


def preview_move(cohort: Cohort, target_version: CurriculumVersion) -> MovePreview:
    """What moving ``cohort`` to ``target_version`` would do, for each learner and in all:
    complete and eligible before and after, approved hours that would no longer count, the
    open logs that change module or are carried over, the sessions and logs that follow, the
    field window, and the learners holding a valid certificate. Nothing is written."""
    source = cohort.curriculum_version
    source_modules = modules_of(source.id)
    target_modules = modules_of(target_version.id)
    every = _every_module()
    counterparts = counterparts_in(target_modules, every.values())
    follows, months_after = field_window_months_after(cohort, source_modules, target_modules)
    old_field = field_module(source_modules)

    enrolments = _enrolments_of(cohort)
    minutes = minutes_by_module(MINUTES_OF_COHORT, {"cohort_id": cohort.id})
    reports = report_statuses(REPORTS_OF_COHORT, {"cohort_id": cohort.id})
    open_logs = _open_logs(cohort)
    holders = valid_certificate_holders(cohort)
    window_changes = months_after != cohort.field_window_months
    field_days = _field_days(cohort) if window_changes else {}
    today = local_today()

    learners = []
    for enrolment in enrolments:
        own = minutes.get(enrolment.id, {})
        report = reports.get(enrolment.id)
        before = EnrolmentProgress(
            enrolment,
            module_progress(source_modules, own),
            today,
            report,
            carried_over_minutes=carried_over(source_modules, own),
        )
        after = progress_after_move(
            enrolment,
            own,
            counterparts,
            target_modules,
            today,
            report,
            field_window=field_window_after(enrolment, months_after) if window_changes else None,
            field_days=field_days.get(enrolment.id, ()),
        )
        learner = LearnerPreview(
            enrolment, before, after, holds_valid_certificate=enrolment.id in holders
        )
        for module in source_modules:
            sums = own.get(module.id)
            if module.id not in counterparts and sums and sums[0] + sums[2]:
                learner.no_longer_counted.append((module, sums[0] + sums[2]))
        for log in open_logs.get(enrolment.id, []):
            target = counterparts.get(log.module_id)
            if target is not None and target.id == log.module_id:
                continue  # already on the target's module
            module = every[log.module_id]
            change = LogChange(
                log.id, enrolment.id, log.worked_on, log.minutes, log.status, module, target
            )
            if target is not None:
                learner.logs_changing.append(change)
            elif module.version_id == source.id:  # not one carried over by an earlier move
                learner.logs_carried_over.append(change)
        learners.append(learner)

    logs, sessions = _counted_by_module(cohort)
    moved = {m for m, target in counterparts.items() if target.id != m}
    return MovePreview(
        cohort=cohort,
        source=source,
        target=target_version,
        source_modules=source_modules,
        target_modules=target_modules,
        counterparts=counterparts,
        learners=learners,
        window_follows=follows,
        window_months_after=months_after,
        window_months_of_source=old_field.field_window_months if old_field else None,
        logs_moved=sum(n for m, n in logs.items() if m in moved),
        logs_carried_over=sum(n for m, n in logs.items() if m not in counterparts),
        sessions_moved=sum(n for m, n in sessions.items() if m in moved),
        sessions_staying=sum(n for m, n in sessions.items() if m not in counterparts),
    )


# --------------------------------------------------------------------------- the move


def _updated(statement: Update) -> int:
    """Run an UPDATE (the session's objects are not touched) and say how many rows it changed."""
    # Session.execute is typed as returning a plain Result; an UPDATE gives a CursorResult
    result = cast(
        CursorResult[Any],
        db.session.execute(statement.execution_options(synchronize_session=False)),
    )
    return result.rowcount


def _moved_meanwhile() -> RuleError:
    return RuleError(
        _(
            "Another administrator moved this cohort to another curriculum a moment ago, so "
            "nothing was changed. Look at the cohort's curriculum now and at a new preview "
            "before you move it again."
        )
    )


def version_by_id(version_id: object) -> CurriculumVersion | None:
    """The version of this id; None for anything else (no such version, not a number, a
    number larger than the database holds)."""
    if not isinstance(version_id, int) or not 1 <= version_id <= MAX_DATABASE_INT:
        return None
    return db.session.get(CurriculumVersion, version_id)


def find_target_version(version_id: object) -> CurriculumVersion:
    """The version a cohort is to move to, or a message when there is no such version."""
    version = version_by_id(version_id)
    if version is None:
        raise RuleError(
            _("There is no such curriculum version. Choose one from the list."),
            field="version_id",
        )
    return version


def move_cohort(
    cohort: Cohort,
    target_version: CurriculumVersion,
    *,
    expected_version_id: int,
    reason: str,
    certificates_stand: bool,
    actor: User,
) -> CurriculumMove:
    """Move a cohort to another curriculum version, keeping the reason: its logs and sessions
    follow their module by number (and kind), the others are carried over and kept; the field
    window follows the version unless it was set by hand. Refused for the version it has, with
    no reason, while a learner holds a valid certificate unless the administrator confirms that
    those certificates stand as issued, and when another administrator moved it meanwhile
    (``expected_version_id``: the version the preview was made from)."""
    source_id = cohort.curriculum_version_id
    if expected_version_id != source_id:
        raise _moved_meanwhile()
    if target_version.id == source_id:
        raise RuleError(
            _("The cohort already follows this curriculum. Choose another version."),
            field="version_id",
        )
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give the reason for the move."), field="reason")
    holders = valid_certificate_holders(cohort)
    if holders and not certificates_stand:
        raise RuleError(
            _(
                "Some learners of this cohort already hold a valid certificate. Tick the box "
                "to confirm that their certificates stand as issued."
            ),
            field="certificates_stand",
        )
    source = cohort.curriculum_version
    source_modules = modules_of(source_id)
    target_modules = modules_of(target_version.id)
    follows, months_after = field_window_months_after(cohort, source_modules, target_modules)

    # The cohort's row first, and only if it still follows the version the preview was made
    # from: of two administrators moving it at once, the second finds no such row (PostgreSQL
    # waits for the first to commit, then reads again; SQLite lets one writer at a time).
    won = _updated(
        update(Cohort)
        .where(Cohort.id == cohort.id, Cohort.curriculum_version_id == expected_version_id)
        .values(curriculum_version_id=target_version.id)
    )
    if won != 1:
        raise _moved_meanwhile()
    db.session.expire(cohort, ["curriculum_version_id", "curriculum_version", "updated_at"])

    counterparts = {
        module_id: target
        for module_id, target in counterparts_in(target_modules, _every_module().values()).items()
        if target.id != module_id
    }
    logs_moved = sessions_moved = 0
    if counterparts:
        new_module = case({k: v.id for k, v in counterparts.items()}, value=HourLog.module_id)
        logs_moved = _updated(
            update(HourLog)
            .where(
                HourLog.module_id.in_(list(counterparts)),
                HourLog.enrolment_id.in_(
                    select(Enrolment.id).where(Enrolment.cohort_id == cohort.id)
                ),
            )
            .values(module_id=new_module, version=HourLog.version + 1)
        )
        sessions_moved = _updated(
            update(ClassSession)
            .where(
                ClassSession.module_id.in_(list(counterparts)), ClassSession.cohort_id == cohort.id
            )
            .values(
                module_id=case(
                    {k: v.id for k, v in counterparts.items()}, value=ClassSession.module_id
                )
            )
        )

    months_before = cohort.field_window_months
    if follows and months_after != months_before:
        cohort.field_window_months = months_after
        db.session.flush()
        refresh_field_windows(cohort)

    logs_carried_over = db.session.scalar(
        select(func.count())
        .select_from(HourLog)
        .join(Enrolment, Enrolment.id == HourLog.enrolment_id)
        .join(Module, Module.id == HourLog.module_id)
        .where(Enrolment.cohort_id == cohort.id, Module.version_id != target_version.id)
    )
    stand = bool(holders) and certificates_stand
    move = CurriculumMove(
        cohort_id=cohort.id,
        from_version_id=source_id,
        to_version_id=target_version.id,
        reason=reason,
        certificates_stand=stand,
        moved_by=actor,
    )
    db.session.add(move)
    details = {
        "from_version": source.number,
        "to_version": target_version.number,
        "reason": reason,
        "logs_moved": logs_moved,
        "logs_carried_over": logs_carried_over or 0,
        "sessions_moved": sessions_moved,
        "certificates_stand": stand,
    }
    if months_after != months_before and follows:
        details["field_window_months"] = [months_before, months_after]
    record(actor, "cohort.curriculum_move", cohort, **details)
    db.session.flush()
    return move


def cohort_moves(cohort: Cohort) -> list[CurriculumMove]:
    """The cohort's moves from one curriculum version to another, oldest first, with who."""
    return list(
        db.session.scalars(
            select(CurriculumMove)
            .where(CurriculumMove.cohort_id == cohort.id)
            .options(
                joinedload(CurriculumMove.from_version),
                joinedload(CurriculumMove.to_version),
                joinedload(CurriculumMove.moved_by),
            )
            .order_by(CurriculumMove.moved_at, CurriculumMove.id)
        )
    )
