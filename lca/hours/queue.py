"""The review queue: learners' logs of the cohorts a reviewer may review, oldest first."""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from lca.core.collation import thai_order
from lca.core.db import db
from lca.models import (
    Cohort,
    Enrolment,
    HourLog,
    LogSource,
    LogStatus,
    User,
)
from lca.models.cohorts import cohorts_taught_by

QUEUE_STATES = (LogStatus.PENDING, LogStatus.RETURNED, LogStatus.APPROVED, LogStatus.REJECTED)


def reviewable_cohorts(user: User) -> list[Cohort]:
    """Every cohort for an admin; the cohorts an instructor teaches."""
    query = select(Cohort).order_by(Cohort.starts_on.desc(), thai_order(Cohort.code))
    if not user.is_admin:
        query = query.where(Cohort.id.in_(cohorts_taught_by(user.id)))
    return list(db.session.scalars(query))


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
    query = (
        select(HourLog)
        .join(HourLog.enrolment)
        .join(Enrolment.cohort)
        .join(Enrolment.learner)
        .where(HourLog.source == LogSource.LEARNER, HourLog.status == status)
        .options(
            contains_eager(HourLog.enrolment).contains_eager(Enrolment.cohort),
            contains_eager(HourLog.enrolment).contains_eager(Enrolment.learner),
            joinedload(HourLog.module),
            selectinload(HourLog.evidence),
        )
        .order_by(HourLog.submitted_at, HourLog.id)
    )
    if not user.is_admin:
        query = query.where(Enrolment.cohort_id.in_(cohorts_taught_by(user.id)))
    if cohort_id:
        query = query.where(Enrolment.cohort_id == cohort_id)
    if module_id:
        query = query.where(HourLog.module_id == module_id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
