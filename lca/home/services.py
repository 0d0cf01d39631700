"""What the home pages gather: an instructor's desk (per cohort, what waits and what comes
next) and a learner's timetable."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from lca.cohorts.services import list_cohorts
from lca.core.dates import local_today
from lca.core.db import db
from lca.models import (
    Attendance,
    ClassSession,
    Cohort,
    Enrolment,
    FieldReport,
    ReportStatus,
    User,
)

#: how many of a cohort's next sessions the instructor's home lists
UPCOMING_SESSIONS = 3


@dataclass
class CohortDesk:
    """One cohort an instructor teaches, as their home shows it."""

    cohort: Cohort
    learners: int
    logs_waiting: int
    reports_waiting: int = 0
    upcoming: list[ClassSession] = field(default_factory=list)
    #: sessions held (today or before) whose attendance nobody has taken
    untaken: int = 0


def instructor_desk(instructor: User) -> list[CohortDesk]:
    """Each cohort the instructor teaches: logs and field reports waiting, the next sessions
    and the held sessions without attendance; in a fixed number of statements."""
    desks = {
        cohort.id: CohortDesk(cohort, learners, waiting)
        for cohort, learners, waiting in list_cohorts(instructor)
    }
    if not desks:
        return []
    ids, today = list(desks), local_today()
    reports = db.session.execute(
        select(Enrolment.cohort_id, func.count())
        .join(FieldReport, FieldReport.enrolment_id == Enrolment.id)
        .where(Enrolment.cohort_id.in_(ids), FieldReport.status == ReportStatus.SUBMITTED)
        .group_by(Enrolment.cohort_id)
    )
    for cohort_id, count in reports:
        desks[cohort_id].reports_waiting = count
    upcoming = db.session.scalars(
        select(ClassSession)
        .where(ClassSession.cohort_id.in_(ids), ClassSession.held_on >= today)
        .options(joinedload(ClassSession.module))
        .order_by(ClassSession.held_on, ClassSession.starts_at)
    )
    for session in upcoming:
        desk = desks[session.cohort_id]
        if len(desk.upcoming) < UPCOMING_SESSIONS:
            desk.upcoming.append(session)
    taken = select(Attendance.id).where(Attendance.class_session_id == ClassSession.id)
    untaken = db.session.execute(
        select(ClassSession.cohort_id, func.count())
        .where(
            ClassSession.cohort_id.in_(ids),
            ClassSession.cancelled_at.is_(None),  # a cancelled session takes no attendance
            ClassSession.held_on <= today,
            ~taken.exists(),
        )
        .group_by(ClassSession.cohort_id)
    )
    for cohort_id, count in untaken:
        desks[cohort_id].untaken = count
    return list(desks.values())


# built once, with parameters (every learner home asks): a statement keeps its cache key
_SESSIONS_OF_COHORTS = (
    select(ClassSession)
    .where(ClassSession.cohort_id.in_(bindparam("cohort_ids", expanding=True)))
    .options(joinedload(ClassSession.module))
    .order_by(ClassSession.held_on, ClassSession.starts_at)
)
_CREDITS_OF_ENROLMENTS = select(
    Attendance.class_session_id, Attendance.enrolment_id, Attendance.minutes
).where(Attendance.enrolment_id.in_(bindparam("enrolment_ids", expanding=True)))


def timetable_of(enrolments: list[Enrolment]) -> dict[int, list[ClassSession]]:
    """The sessions of each enrolment's cohort, by enrolment id, in date order."""
    by_cohort: dict[int, list[ClassSession]] = defaultdict(list)
    cohort_ids = {e.cohort_id for e in enrolments}
    if cohort_ids:
        for session in db.session.scalars(_SESSIONS_OF_COHORTS, {"cohort_ids": list(cohort_ids)}):
            by_cohort[session.cohort_id].append(session)
    return {e.id: by_cohort.get(e.cohort_id, []) for e in enrolments}


def credits_of(enrolments: list[Enrolment]) -> dict[tuple[int, int], int]:
    """The minutes each enrolment was credited for each session (by session id, enrolment id):
    marked on the roll, or from its check-in and check-out; in one statement."""
    ids = [e.id for e in enrolments]
    if not ids:
        return {}
    rows = db.session.execute(_CREDITS_OF_ENROLMENTS, {"enrolment_ids": ids})
    return {(session_id, enrolment_id): minutes for session_id, enrolment_id, minutes in rows}
