"""Field reports for staff: the reports of the cohorts one may see, in a state, oldest first."""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from lca.core.db import db
from lca.models import Enrolment, FieldReport, ReportStatus, User
from lca.models.cohorts import cohorts_taught_by


def reports_for(
    user: User, *, status: ReportStatus, cohort_id: int | None, page: int, per_page: int
) -> Pagination:
    query = (
        select(FieldReport)
        .join(FieldReport.enrolment)
        .join(Enrolment.learner)
        .join(Enrolment.cohort)
        .where(FieldReport.status == status)
        .options(
            contains_eager(FieldReport.enrolment).contains_eager(Enrolment.learner),
            contains_eager(FieldReport.enrolment).contains_eager(Enrolment.cohort),
            joinedload(FieldReport.assessor),
        )
        .order_by(FieldReport.submitted_at, FieldReport.id)
    )
    if not user.is_admin:
        query = query.where(Enrolment.cohort_id.in_(cohorts_taught_by(user.id)))
    if cohort_id:
        query = query.where(Enrolment.cohort_id == cohort_id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
