"""Class sessions and attendance: one form for the whole roll; hours credited as approved logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload

from lca.core.audit import apply_changes, record
from lca.core.collation import thai_order
from lca.core.dates import format_day, local_today
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.hours.day_limit import check_day_limit
from lca.hours.services import check_minutes
from lca.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    ClassSession,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    HourLog,
    LogSource,
    LogStatus,
    Module,
    User,
)
from lca.web.i18n import format_hours, minutes_plural


@dataclass
class SessionPlan:
    module: Module
    held_on: date
    starts_at: time
    minutes: int
    place: str


@dataclass
class Mark:
    """One row of the attendance form."""

    enrolment_id: int
    status: AttendanceStatus
    minutes: int | None = None  #: for a late arrival: the minutes to credit


def check_session_plan(cohort: Cohort, plan: SessionPlan) -> None:
    """Sessions are classroom, forum or festival days inside the cohort's dates."""
    if plan.module.is_field:
        raise RuleError(
            _("Field practice is logged by each learner, not scheduled as a session."),
            field="module_id",
        )
    if not cohort.starts_on <= plan.held_on <= cohort.ends_on:
        raise RuleError(
            _(
                "The session must fall within the cohort's dates, %(start)s to %(end)s.",
                start=format_day(cohort.starts_on),
                end=format_day(cohort.ends_on),
            ),
            field="held_on",
        )
    check_minutes(plan.minutes)
    if not plan.place:
        raise RuleError(_("Say where the session takes place."), field="place")


def schedule_session(cohort: Cohort, plan: SessionPlan, actor: User) -> ClassSession:
    """Put a session on a cohort's calendar."""
    check_session_plan(cohort, plan)
    session = ClassSession(
        cohort=cohort,
        module=plan.module,
        held_on=plan.held_on,
        starts_at=plan.starts_at,
        minutes=plan.minutes,
        place=plan.place,
        created_by_id=actor.id,
    )
    db.session.add(session)
    db.session.flush()
    record(
        actor,
        "class_session.create",
        session,
        cohort_id=cohort.id,
        module=plan.module.number,
        held_on=str(plan.held_on),
    )
    return session


#: the changes a calendar shows: each one is a new version (SEQUENCE) of the session's event
CALENDAR_FIELDS = {"module_id", "held_on", "starts_at", "minutes", "place"}


def check_not_cancelled(session: ClassSession) -> None:
    """A cancelled session stays as it was: it is neither changed nor attended."""
    if session.cancelled_at is not None:
        raise RuleError(
            _(
                "This session was cancelled on %(date)s: it can no longer be changed or "
                "attended. Schedule a new session instead.",
                date=format_day(session.cancelled_at),
            )
        )


def update_session(session: ClassSession, plan: SessionPlan, actor: User) -> None:
    """Change a session; learners marked present are credited its new length, as long as
    each learner's day stays within 12 hours. A change of time, length, place or module is a
    new version of the session in the calendar feeds."""
    check_not_cancelled(session)
    check_session_plan(session.cohort, plan)
    changes = apply_changes(
        session,
        {
            "module_id": plan.module.id,
            "held_on": plan.held_on,
            "starts_at": plan.starts_at,
            "minutes": plan.minutes,
            "place": plan.place,
        },
    )
    session.module = plan.module
    if changes.keys() & {"module_id", "held_on", "minutes"}:
        for attendance, log in _attendance_with_logs(session):
            if attendance.status is AttendanceStatus.PRESENT:
                attendance.minutes = plan.minutes
            else:  # a late arrival cannot be credited more than the session
                attendance.minutes = min(attendance.minutes, plan.minutes)
            if log is not None:
                learner = attendance.enrolment.learner
                check_day_limit(
                    learner.id,
                    plan.held_on,
                    attendance.minutes,
                    replacing=log,
                    name=learner.full_name_th,
                    field=None,
                )
                log.module, log.worked_on = plan.module, plan.held_on
                log.minutes = attendance.minutes
    if changes.keys() & CALENDAR_FIELDS:
        session.sequence += 1
    if changes:
        record(actor, "class_session.update", session, changes=changes)
    db.session.flush()


def cancel_session(session: ClassSession, reason: str, actor: User) -> None:
    """Call a session off, with the reason kept in the audit trail. Only a session nobody has
    attended yet: no attendance recorded and no check-in. It stays in the list and in the
    calendar feeds, marked cancelled (a new version of the same event)."""
    check_not_cancelled(session)
    reason = reason.strip()
    if not reason:
        raise RuleError(_("Say why the session is cancelled."), field="reason")
    attended = db.session.scalar(
        select(
            exists().where(Attendance.class_session_id == session.id)
            | exists().where(CheckIn.class_session_id == session.id)
        )
    )
    if attended:
        raise RuleError(
            _(
                "Attendance has already been taken or learners have checked in for this "
                "session, so it cannot be cancelled. Correct the attendance instead."
            )
        )
    session.cancelled_at = utcnow()
    session.sequence += 1
    record(actor, "class_session.cancel", session, reason=reason, held_on=str(session.held_on))
    db.session.flush()


def _attendance_with_logs(session: ClassSession) -> list[tuple[Attendance, HourLog | None]]:
    attendances = db.session.scalars(
        select(Attendance).where(Attendance.class_session_id == session.id)
    ).all()
    logs = {
        log.enrolment_id: log
        for log in db.session.scalars(select(HourLog).where(HourLog.class_session_id == session.id))
    }
    return [(a, logs.get(a.enrolment_id)) for a in attendances]


def session_roll(session: ClassSession) -> list[tuple[Enrolment, Attendance | None]]:
    """The cohort's active learners (and anyone already marked), with their attendance."""
    marked = {
        a.enrolment_id: a
        for a in db.session.scalars(
            select(Attendance).where(Attendance.class_session_id == session.id)
        )
    }
    enrolments = db.session.scalars(
        select(Enrolment)
        .join(Enrolment.learner)
        .where(Enrolment.cohort_id == session.cohort_id)
        .options(joinedload(Enrolment.learner))
        .order_by(thai_order(User.full_name_th))
    ).all()
    return [
        (e, marked.get(e.id))
        for e in enrolments
        if e.status is EnrolmentStatus.ACTIVE or e.id in marked
    ]


def _credit(session: ClassSession, mark: Mark, name: str) -> int:
    if mark.status is AttendanceStatus.PRESENT:
        return session.minutes
    if mark.status is AttendanceStatus.LATE:
        if not mark.minutes:
            raise RuleError(_("%(name)s arrived late: enter the hours to credit.", name=name))
        check_minutes(mark.minutes)
        if mark.minutes > session.minutes:
            raise RuleError(
                ngettext(
                    "%(name)s: a late arrival cannot be credited more than the "
                    "session's %(hours)s hour.",
                    "%(name)s: a late arrival cannot be credited more than the "
                    "session's %(hours)s hours.",
                    minutes_plural(session.minutes),
                    name=name,
                    hours=format_hours(session.minutes / 60),
                )
            )
        return mark.minutes
    return 0


def record_attendance(session: ClassSession, marks: list[Mark], actor: User) -> dict[str, int]:
    """Take or correct attendance for the whole roll. Present credits the session's hours, late
    the hours entered, absent and excused none; corrections are audited one by one. A credit
    that would take a learner's day over 12 hours refuses the whole form, naming the learner.
    A cancelled session takes no attendance."""
    check_not_cancelled(session)
    if session.held_on > local_today():
        raise RuleError(
            _(
                "Attendance can be taken from the day of the session (%(date)s).",
                date=format_day(session.held_on),
            )
        )
    if not marks:
        raise RuleError(
            _(
                "Nobody is marked yet: choose present, late, absent or excused for each "
                "learner, or press “All present” first."
            )
        )
    roll = {
        enrolment.id: (enrolment, attendance) for enrolment, attendance in session_roll(session)
    }
    logs = {
        log.enrolment_id: log
        for log in db.session.scalars(select(HourLog).where(HourLog.class_session_id == session.id))
    }
    counts = {"recorded": 0, "corrected": 0}
    for mark in marks:
        if mark.enrolment_id not in roll:
            raise RuleError(_("Someone on the form is not a learner of this cohort."))
        enrolment, attendance = roll[mark.enrolment_id]
        minutes = _credit(session, mark, enrolment.learner.full_name_th)
        if minutes:  # a day holds at most 12 hours, attendance included
            check_day_limit(
                enrolment.learner_id,
                session.held_on,
                minutes,
                replacing=logs.get(enrolment.id),
                name=enrolment.learner.full_name_th,
                field=None,
            )
        if attendance is None:
            attendance = Attendance(
                class_session_id=session.id,
                enrolment_id=enrolment.id,
                status=mark.status,
                minutes=minutes,
                recorded_by_id=actor.id,
            )
            db.session.add(attendance)
            counts["recorded"] += 1
        elif (attendance.status, attendance.minutes) != (mark.status, minutes):
            record(
                actor,
                "attendance.correct",
                session,
                enrolment_id=enrolment.id,
                status=[attendance.status.value, mark.status.value],
                minutes=[attendance.minutes, minutes],
            )
            attendance.status, attendance.minutes = mark.status, minutes
            attendance.recorded_by_id, attendance.recorded_at = actor.id, utcnow()
            attendance.by_check_in = False  # the roll's mark stands: scans no longer change it
            counts["corrected"] += 1
        credit_log(session, enrolment, logs.get(enrolment.id), minutes, actor)
    if counts["recorded"]:
        record(actor, "attendance.record", session, learners=counts["recorded"])
    db.session.flush()
    return counts


def credit_log(
    session: ClassSession,
    enrolment: Enrolment,
    log: HourLog | None,
    minutes: int,
    actor: User | None,
    description: str | None = None,
) -> None:
    """Keep the approved hour log that credits this attendance in step with it (``actor``:
    who marked it; None for a learner's own check-in and check-out)."""
    if minutes == 0:
        if log is not None:
            db.session.delete(log)
        return
    credit = {
        "module": session.module,
        "worked_on": session.held_on,
        "minutes": minutes,
        "description": description or session.place,
        "status": LogStatus.APPROVED,
        "reviewed_by": actor,
        "reviewed_at": utcnow(),
    }
    if log is None:
        db.session.add(
            HourLog(
                enrolment=enrolment, source=LogSource.ATTENDANCE, class_session=session, **credit
            )
        )
        return
    for name, value in credit.items():
        setattr(log, name, value)


def list_sessions(cohort: Cohort) -> list[ClassSession]:
    """A cohort's sessions, in date order."""
    return list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.cohort_id == cohort.id)
            .options(joinedload(ClassSession.module))
            .order_by(ClassSession.held_on, ClassSession.starts_at)
        )
    )


def unmarked_learners(session: ClassSession) -> list[Enrolment]:
    """The learners on a session's roll with no attendance recorded yet."""
    return [enrolment for enrolment, attendance in session_roll(session) if attendance is None]


@dataclass
class RollCount:
    """How much of a session's roll has been marked."""

    marked: int
    learners: int

    @property
    def is_complete(self) -> bool:
        return self.learners > 0 and self.marked >= self.learners


def roll_counts(cohort: Cohort, sessions: list[ClassSession]) -> dict[int, RollCount]:
    """For each session, how many learners are marked out of its roll (the cohort's active
    learners and anyone else already marked), in three statements whatever the number."""
    ids = [s.id for s in sessions]
    active = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE)
    )
    counted = select(Attendance.class_session_id, func.count()).where(
        Attendance.class_session_id.in_(ids)
    )
    marked: dict[int, int] = {
        session_id: count
        for session_id, count in db.session.execute(counted.group_by(Attendance.class_session_id))
    }
    not_active: dict[int, int] = {
        session_id: count
        for session_id, count in db.session.execute(
            counted.join(Enrolment, Enrolment.id == Attendance.enrolment_id)
            .where(Enrolment.status != EnrolmentStatus.ACTIVE)
            .group_by(Attendance.class_session_id)
        )
    }
    return {i: RollCount(marked.get(i, 0), (active or 0) + not_active.get(i, 0)) for i in ids}
