"""Who may do what: roles, the role_required decorator, predicates and permission-checked getters.

Every route decides here. Getters answer 404 for an id that does not exist and 403 for an
object that belongs to someone else, so the check lives on the object, at the server.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import literal, select

from lca.core.db import db
from lca.models import (
    Certificate,
    ClassSession,
    Cohort,
    Enrolment,
    EvidenceFile,
    FieldReport,
    HourLog,
    ReportFile,
    Role,
    User,
)
from lca.models.cohorts import cohorts_taught_by
from lca.web.pages import MAX_DATABASE_INT

__all__ = [
    "Role",
    "can_manage_cohorts",
    "can_view_cohort",
    "get_certificate_or_403",
    "get_cohort_or_403",
    "get_enrolment_or_403",
    "get_evidence_or_404",
    "get_log_or_403",
    "get_or_404",
    "get_report_file_or_404",
    "get_report_or_403",
    "get_session_or_403",
    "public",
    "role_required",
    "signed_in",
    "teaches",
]


View = TypeVar("View", bound=Callable[..., Any])


def _decided(view: View, access: object) -> View:
    """Mark a view with who may use it (read by the permission-matrix test)."""
    vars(view)["lca_access"] = access
    return view


def public(view: View) -> View:
    """Open to everyone, signed in or not (the home page, the curriculum, verification)."""
    return _decided(view, "public")


def signed_in(view: View) -> View:
    """Open to every signed-in user, whatever the role (their own account pages)."""
    return _decided(cast(View, login_required(view)), "signed-in")


def role_required(*roles: Role) -> Callable[[View], View]:
    """Let only signed-in users with one of ``roles`` in; others get the login page or 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return _decided(cast(View, login_required(wrapped)), roles)

    return decorator


def teaches(user: User, cohort: Cohort) -> bool:
    """An instructor teaches a cohort when assigned to it."""
    return teaches_cohort_id(user, cohort.id)


def can_view_cohort(user: User, cohort: Cohort) -> bool:
    """Admins see every cohort; instructors the cohorts they teach."""
    return user.is_admin or teaches(user, cohort)


def can_manage_cohorts(user: User) -> bool:
    """Only admins create and change cohorts, their instructors and enrolments."""
    return user.is_admin


Row = TypeVar("Row")


def get_or_404(model: type[Row], object_id: int) -> Row:
    """Load by primary key, or 404 (also for a number no INTEGER column can hold, which
    PostgreSQL would refuse with an error: ids in query strings reach here unchecked)."""
    if not 0 < object_id <= MAX_DATABASE_INT:
        abort(404)
    found = db.session.get(model, object_id)
    if found is None:
        abort(404)
    return found


def get_cohort_or_403(cohort_id: int, user: User, action: str = "view") -> Cohort:
    """The cohort, if ``user`` may ``view`` it (admin, its instructors) or ``manage`` it (admin)."""
    cohort = get_or_404(Cohort, cohort_id)
    allowed = can_manage_cohorts(user) if action == "manage" else can_view_cohort(user, cohort)
    if not allowed:
        abort(403)
    return cohort


def get_enrolment_or_403(enrolment_id: int, user: User, action: str = "view") -> Enrolment:
    """The enrolment, for its learner (view), its cohort's instructors (view) and admins."""
    enrolment = get_or_404(Enrolment, enrolment_id)
    if action == "manage":
        allowed = user.is_admin
    else:
        allowed = enrolment.learner_id == user.id or can_view_cohort(user, enrolment.cohort)
    if not allowed:
        abort(403)
    return enrolment


def teaches_cohort_id(user: User, cohort_id: int) -> bool:
    """``teaches`` for a cohort known by its id."""
    if not user.is_instructor:
        return False
    return bool(db.session.scalar(select(literal(cohort_id).in_(cohorts_taught_by(user.id)))))


def can_review_cohort(user: User, cohort_id: int) -> bool:
    """Admins review every cohort's logs; instructors those of the cohorts they teach."""
    return user.is_admin or teaches_cohort_id(user, cohort_id)


def get_log_or_403(log_id: int, user: User, action: str = "view") -> HourLog:
    """An hour log for its learner (view, edit), its cohort's instructors and admins (view,
    review)."""
    log = get_or_404(HourLog, log_id)
    owner = log.enrolment.learner_id == user.id
    if action == "edit":
        allowed = owner
    elif action == "review":
        allowed = can_review_cohort(user, log.enrolment.cohort_id)
    else:
        allowed = owner or can_review_cohort(user, log.enrolment.cohort_id)
    if not allowed:
        abort(403)
    return log


def get_evidence_or_404(log: HourLog, evidence_id: int) -> EvidenceFile:
    """A file of this log; a file of another log is "not found" here."""
    evidence = db.session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.hour_log_id != log.id:
        abort(404)
    return evidence


def get_session_or_403(session_id: int, user: User) -> ClassSession:
    """A class session, for its cohort's instructors and admins."""
    session = get_or_404(ClassSession, session_id)
    if not can_review_cohort(user, session.cohort_id):
        abort(403)
    return session


def get_report_or_403(report_id: int, user: User, action: str = "view") -> FieldReport:
    """A field report for its learner and its cohort's instructors (view), admins (view,
    assign, reopen); grading is decided by the assessment rules."""
    report = get_or_404(FieldReport, report_id)
    cohort_id = report.enrolment.cohort_id
    if action in ("assign", "reopen"):
        allowed = user.is_admin
    elif action == "grade":
        allowed = teaches_cohort_id(user, cohort_id)
    else:
        allowed = report.enrolment.learner_id == user.id or can_review_cohort(user, cohort_id)
    if not allowed:
        abort(403)
    return report


def get_report_file_or_404(report: FieldReport, file_id: int) -> ReportFile:
    """A file of this report; a file of another report is "not found" here."""
    attached = db.session.get(ReportFile, file_id)
    if attached is None or attached.field_report_id != report.id:
        abort(404)
    return attached


def get_certificate_or_403(certificate_id: int, user: User, action: str = "view") -> Certificate:
    """A certificate for its learner and its cohort's instructors (view), admins (view,
    manage)."""
    certificate = get_or_404(Certificate, certificate_id)
    if action == "manage":
        allowed = user.is_admin
    else:
        enrolment = certificate.enrolment
        allowed = enrolment.learner_id == user.id or can_review_cohort(user, enrolment.cohort_id)
    if not allowed:
        abort(403)
    return certificate
