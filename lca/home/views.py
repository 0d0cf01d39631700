from flask import jsonify, redirect, render_template
from flask_login import current_user
from sqlalchemy import text

from lca.certificates.services import certificates_by_enrolment
from lca.cohorts.services import learner_enrolments
from lca.core.dates import local_today
from lca.core.db import db
from lca.curriculum.services import (
    current_version,
    field_module,
    list_learning_cities,
    modules_of,
    total_hours,
)
from lca.home import bp
from lca.home.readiness import rate_limit_backend, readiness
from lca.home.services import credits_of, instructor_desk, timetable_of
from lca.hours.progress import progress_of
from lca.hours.questions import returned_logs_of
from lca.models import Role
from lca.web.extensions import limiter
from lca.web.metrics import exposition, operator_only
from lca.web.pages import role_home_url
from lca.web.permissions import public, role_required, signed_in


@bp.get("/")
@public
def index():
    version = current_version()
    modules = modules_of(version.id) if version else []
    return render_template(
        "home/index.html",
        cities=list_learning_cities(),
        module_count=len(modules),
        total_hours=total_hours(modules),
        field_module=field_module(modules),
    )


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "unhealthy"
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/readyz")
@limiter.exempt
@public
def readyz():
    """Whether this server can serve now: each check "ok" or why not."""
    ready, checks = readiness()
    answer = {
        "status": "ok" if ready else "error",
        "checks": checks,
        "rate_limit_backend": rate_limit_backend(),
    }
    return jsonify(answer), 200 if ready else 503


@bp.get("/metrics")
@limiter.exempt
@operator_only
def metrics():
    """Prometheus' scrape (LCA_METRICS_TOKEN / LCA_METRICS_ALLOW); to anyone else, 404."""
    return exposition()


@bp.get("/home")
@signed_in
def dashboard():
    return redirect(role_home_url(current_user))


@bp.get("/learner")
@role_required(Role.LEARNER)
def learner():
    enrolments = learner_enrolments(current_user)
    studying = [e for e in enrolments if e.is_active]
    return render_template(
        "home/learner.html",
        progress=progress_of(studying),
        others=[e for e in enrolments if not e.is_active],
        certificates=certificates_by_enrolment(enrolments),
        returned=returned_logs_of(studying),
        timetable=timetable_of(studying),
        credits=credits_of(studying),
        today=local_today(),
    )


@bp.get("/instructor")
@role_required(Role.INSTRUCTOR)
def instructor():
    return render_template(
        "home/instructor.html", desks=instructor_desk(current_user), today=local_today()
    )
