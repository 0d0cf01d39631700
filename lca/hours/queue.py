"""The review queue: learners' logs of the cohorts a reviewer may review, oldest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from lca.core.collation import thai_order
from lca.core.db import PagedStatements, db, page_of, paged
from lca.hours.day_limit import MAX_MINUTES_PER_DAY
from lca.hours.overlaps import Days
from lca.models import (
    Cohort,
    Enrolment,
    HourLog,
    LogSource,
    LogStatus,
    User,
)
from lca.models.cohorts import cohort_instructors, cohorts_taught_by

QUEUE_STATES = (LogStatus.PENDING, LogStatus.RETURNED, LogStatus.APPROVED, LogStatus.REJECTED)


def reviewable_cohorts(user: User) -> list[Cohort]:
    """Every cohort for an admin; the cohorts an instructor teaches."""
    query = select(Cohort).order_by(Cohort.starts_on.desc(), thai_order(Cohort.code))
    if not user.is_admin:
        query = query.where(Cohort.id.in_(cohorts_taught_by(user.id)))
    return list(db.session.scalars(query))


def _queue_statements(*, admin: bool, by_cohort: bool, by_module: bool) -> PagedStatements:
    query = (
        select(HourLog)
        .join(HourLog.enrolment)
        .join(Enrolment.cohort)
        .join(Enrolment.learner)
        .where(HourLog.source == LogSource.LEARNER, HourLog.status == bindparam("status"))
        .options(
            contains_eager(HourLog.enrolment).contains_eager(Enrolment.cohort),
            contains_eager(HourLog.enrolment).contains_eager(Enrolment.learner),
            joinedload(HourLog.module),
            selectinload(HourLog.evidence),
        )
        .order_by(HourLog.submitted_at, HourLog.id)
    )
    if not admin:
        taught = select(cohort_instructors.c.cohort_id).where(
            cohort_instructors.c.instructor_id == bindparam("reviewer_id")
        )
        query = query.where(Enrolment.cohort_id.in_(taught))
    if by_cohort:
        query = query.where(Enrolment.cohort_id == bindparam("cohort_id"))
    if by_module:
        query = query.where(HourLog.module_id == bindparam("module_id"))
    return paged(query)


#: the queue's statements for each way it can be filtered, built once (an instructor's queue
#: is asked for often, and its statements took longer to build than to run)
_QUEUES = {
    (admin, by_cohort, by_module): _queue_statements(
        admin=admin, by_cohort=by_cohort, by_module=by_module
    )
    for admin in (False, True)
    for by_cohort in (False, True)
    for by_module in (False, True)
}


def review_queue(
    user: User,
    *,
    cohort_id: int | None,
    module_id: int | None,
    status: LogStatus,
    page: int,
    per_page: int,
) -> Pagination:
    """One page of learners' logs in ``status``, oldest submission first, each with its
    learner, cohort, module and files."""
    statements = _QUEUES[(user.is_admin, bool(cohort_id), bool(module_id))]
    params = {
        "status": status,
        "reviewer_id": user.id,
        "cohort_id": cohort_id,
        "module_id": module_id,
    }
    return page_of(statements, params, page=page, per_page=per_page)


@dataclass(frozen=True)
class DayTotal:
    """What a learner's day holds, as the queue shows it next to a log of that day."""

    minutes: int
    limit_hours: int = MAX_MINUTES_PER_DAY // 60

    @property
    def is_over(self) -> bool:
        """More than a day holds (logs from before the rule, or a session moved onto it)."""
        return self.minutes > MAX_MINUTES_PER_DAY


def day_totals_of(logs: Iterable[HourLog], days: Days) -> dict[int, DayTotal]:
    """Each log's day total (every counted log of its learner that day), by log id, from the
    ``days`` the page read for its logs."""
    return {
        log.id: DayTotal(days.minutes.get((log.enrolment.learner_id, log.worked_on), 0))
        for log in logs
    }


def next_waiting_log(
    user: User, after: HourLog, *, cohort_id: int | None, module_id: int | None
) -> HourLog | None:
    """The log waiting for review that comes after ``after`` in the queue (same filters), or
    the first still waiting before it; None when nothing waits."""
    query = (
        select(HourLog)
        .join(HourLog.enrolment)
        .where(
            HourLog.source == LogSource.LEARNER,
            HourLog.status == LogStatus.PENDING,
            HourLog.id != after.id,
        )
        .order_by(HourLog.submitted_at, HourLog.id)
        .limit(1)
    )
    if not user.is_admin:
        query = query.where(Enrolment.cohort_id.in_(cohorts_taught_by(user.id)))
    if cohort_id:
        query = query.where(Enrolment.cohort_id == cohort_id)
    if module_id:
        query = query.where(HourLog.module_id == module_id)
    later = query.where(
        or_(
            HourLog.submitted_at > after.submitted_at,
            (HourLog.submitted_at == after.submitted_at) & (HourLog.id > after.id),
        )
    )
    return db.session.scalar(later) or db.session.scalar(query)
