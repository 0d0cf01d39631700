"""The permission matrix: every route of the app × every kind of visitor.

A route missing from MATRIX fails the suite, so every new route needs a decision here.
"""

from __future__ import annotations

import pytest

from lca.auth.services import new_setup_token
from lca.certificates.credential import generate_key
from lca.models import Role
from lca.web.permissions import get_cohort_or_403, get_enrolment_or_403, teaches
from tests.factories import (
    AdminFactory,
    CertificateFactory,
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    EvidenceFileFactory,
    FieldReportFactory,
    HourLogFactory,
    InstructorFactory,
    LearnerFactory,
    ReportFileFactory,
)

ACTORS = ("anonymous", "learner", "other_learner", "instructor", "other_instructor", "admin")
OK, LOGIN, FORBIDDEN = "ok", "login", "forbidden"


def _everyone(outcome):
    return dict.fromkeys(ACTORS, outcome)


PUBLIC = _everyone(OK)
SIGNED_IN = {**_everyone(OK), "anonymous": LOGIN}
ADMIN = {**_everyone(FORBIDDEN), "anonymous": LOGIN, "admin": OK}
LEARNERS = {**ADMIN, "admin": FORBIDDEN, "learner": OK, "other_learner": OK}
INSTRUCTORS = {**ADMIN, "admin": FORBIDDEN, "instructor": OK, "other_instructor": OK}
STAFF = {**ADMIN, "instructor": OK, "other_instructor": OK}
COHORT_STAFF = {**ADMIN, "instructor": OK}  # admins and the cohort's own instructors
LOG_READERS = {**COHORT_STAFF, "learner": OK}  # the log's learner, the cohort's staff
OWNER = {**ADMIN, "admin": FORBIDDEN, "learner": OK}  # the learner whose log it is
COHORT_INSTRUCTOR = {**ADMIN, "admin": FORBIDDEN, "instructor": OK}

#: (endpoint, method) → who gets what
MATRIX = {
    ("home.index", "GET"): PUBLIC,
    ("home.healthz", "GET"): PUBLIC,
    ("home.dashboard", "GET"): SIGNED_IN,
    ("home.learner", "GET"): LEARNERS,
    ("home.instructor", "GET"): INSTRUCTORS,
    ("curriculum.index", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.logout", "POST"): SIGNED_IN,
    ("auth.account", "GET"): SIGNED_IN,
    ("auth.preferences", "POST"): SIGNED_IN,
    ("auth.sign_out_everywhere", "POST"): SIGNED_IN,
    ("auth.password", "GET"): SIGNED_IN,
    ("auth.password", "POST"): SIGNED_IN,
    ("cohorts.index", "GET"): STAFF,
    ("cohorts.new", "GET"): ADMIN,
    ("cohorts.new", "POST"): ADMIN,
    ("cohorts.show", "GET"): COHORT_STAFF,
    ("cohorts.edit", "GET"): ADMIN,
    ("cohorts.edit", "POST"): ADMIN,
    ("cohorts.assign", "POST"): ADMIN,
    ("cohorts.unassign", "POST"): ADMIN,
    ("cohorts.enrol", "POST"): ADMIN,
    ("cohorts.withdraw", "GET"): ADMIN,
    ("cohorts.withdraw", "POST"): ADMIN,
    ("hours.my_logs", "GET"): LEARNERS,
    ("hours.new_log", "GET"): LEARNERS,
    ("hours.new_log", "POST"): LEARNERS,
    ("hours.show_log", "GET"): LOG_READERS,
    ("hours.edit_log", "GET"): OWNER,
    ("hours.edit_log", "POST"): OWNER,
    ("hours.withdraw", "POST"): OWNER,
    ("hours.answer", "POST"): OWNER,
    ("hours.evidence", "GET"): LOG_READERS,
    ("hours.thumbnail", "GET"): LOG_READERS,
    ("hours.approve", "POST"): COHORT_STAFF,
    ("hours.reject", "POST"): COHORT_STAFF,
    ("hours.send_back", "POST"): COHORT_STAFF,
    ("hours.queue", "GET"): STAFF,
    ("hours.bulk_approve", "POST"): STAFF,
    ("hours.sessions", "GET"): COHORT_STAFF,
    ("hours.new_session", "GET"): COHORT_STAFF,
    ("hours.new_session", "POST"): COHORT_STAFF,
    ("hours.edit_session", "GET"): COHORT_STAFF,
    ("hours.edit_session", "POST"): COHORT_STAFF,
    ("hours.attendance", "GET"): COHORT_STAFF,
    ("hours.attendance", "POST"): COHORT_STAFF,
    ("hours.cohort_matrix", "GET"): COHORT_STAFF,
    ("hours.cohort_matrix_csv", "GET"): COHORT_STAFF,
    ("hours.enrolment", "GET"): COHORT_STAFF,
    ("hours.field_start", "POST"): ADMIN,
    ("hours.extend", "POST"): ADMIN,
    ("assessment.my_report", "GET"): LEARNERS,
    ("assessment.my_report", "POST"): LEARNERS,
    ("assessment.reports", "GET"): STAFF,
    ("assessment.report", "GET"): LOG_READERS,
    ("assessment.grade", "POST"): COHORT_INSTRUCTOR,
    ("assessment.assign", "POST"): ADMIN,
    ("assessment.report_file", "GET"): LOG_READERS,
    ("assessment.report_thumbnail", "GET"): LOG_READERS,
    ("curriculum.rubric", "GET"): PUBLIC,
    ("certificates.cohort", "GET"): COHORT_STAFF,
    ("certificates.issue", "POST"): ADMIN,
    ("certificates.issue_all", "POST"): ADMIN,
    ("certificates.print_cohort", "GET"): ADMIN,
    ("certificates.zip_cohort", "GET"): ADMIN,
    ("certificates.show", "GET"): LOG_READERS,
    ("certificates.download", "GET"): LOG_READERS,
    ("certificates.revoke", "POST"): ADMIN,
    ("certificates.reissue", "POST"): ADMIN,
    ("certificates.verify_form", "GET"): PUBLIC,
    ("certificates.verify", "GET"): PUBLIC,
    ("certificates.verify_pdf", "GET"): PUBLIC,
    ("certificates.credential_json", "GET"): PUBLIC,
    ("certificates.credential_jwt", "GET"): PUBLIC,
    ("certificates.jwks", "GET"): PUBLIC,
    ("certificates.issuer", "GET"): PUBLIC,
    ("certificates.achievement", "GET"): PUBLIC,
    ("certificates.revocations", "GET"): PUBLIC,
    ("auth.set_password", "GET"): PUBLIC,
    ("auth.set_password", "POST"): PUBLIC,
    ("reports.index", "GET"): STAFF,
    ("reports.cohort", "GET"): COHORT_STAFF,
    ("reports.city", "GET"): ADMIN,
    ("admin.reset", "POST"): ADMIN,
    ("admin.import_learners", "GET"): ADMIN,
    ("admin.preview_import", "POST"): ADMIN,
    ("admin.confirm_import", "POST"): ADMIN,
    ("admin.import_template", "GET"): ADMIN,
    ("admin.exports", "GET"): ADMIN,
    ("admin.export_all_progress", "GET"): ADMIN,
    ("admin.export_progress", "GET"): ADMIN,
    ("admin.export_hour_logs", "GET"): ADMIN,
    ("admin.export_certificates", "GET"): ADMIN,
    ("admin.audit", "GET"): ADMIN,
    ("admin.export_audit", "GET"): ADMIN,
    ("admin.index", "GET"): ADMIN,
    ("admin.users", "GET"): ADMIN,
    ("admin.new_user", "GET"): ADMIN,
    ("admin.new_user", "POST"): ADMIN,
    ("admin.edit_user", "GET"): ADMIN,
    ("admin.edit_user", "POST"): ADMIN,
    ("admin.deactivate", "POST"): ADMIN,
    ("admin.activate", "POST"): ADMIN,
    ("admin.sign_out", "POST"): ADMIN,
    ("admin.cities", "GET"): ADMIN,
    ("admin.new_city", "GET"): ADMIN,
    ("admin.new_city", "POST"): ADMIN,
    ("admin.edit_city", "GET"): ADMIN,
    ("admin.edit_city", "POST"): ADMIN,
}


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_row_in_the_matrix(app):
    routes = app_routes(app)
    assert routes - set(MATRIX) == set(), "routes without a permission decision"
    assert set(MATRIX) - routes == set(), "matrix rows for routes that no longer exist"


def test_every_view_declares_who_may_use_it(app):
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not hasattr(view, "lca_access")
    ]
    assert undeclared == []


@pytest.fixture
def world(db):
    """Two cohorts: the learner and instructor belong to one, the "other" ones to the second."""
    instructor, other_instructor = InstructorFactory(), InstructorFactory()
    enrolment = EnrolmentFactory(cohort=CohortFactory(instructors=[instructor]))
    other = EnrolmentFactory(cohort=CohortFactory(instructors=[other_instructor]))
    evidence = EvidenceFileFactory(hour_log=HourLogFactory(enrolment=enrolment))
    attachment = ReportFileFactory(field_report=FieldReportFactory(enrolment=enrolment))
    generate_key()  # the credential route signs
    newcomer = LearnerFactory()
    return {
        "setup_token": new_setup_token(newcomer),
        "certificate": CertificateFactory(enrolment=enrolment),
        "report_file": attachment,
        "log": evidence.hour_log,
        "evidence": evidence,
        "session": ClassSessionFactory(cohort=enrolment.cohort),
        "anonymous": None,
        "learner": enrolment.learner,
        "other_learner": other.learner,
        "instructor": instructor,
        "other_instructor": other_instructor,
        "admin": AdminFactory(),
        "cohort": enrolment.cohort,
        "enrolment": enrolment,
    }


def url_arguments(world) -> dict[str, int | str]:
    """Ids for every URL variable: the first cohort, its enrolment, instructor, the learner's
    log and its file, a session of the cohort."""
    return {
        "cohort_id": world["cohort"].id,
        "enrolment_id": world["enrolment"].id,
        "user_id": world["instructor"].id,
        "city_id": world["cohort"].host_city_id,
        "log_id": world["log"].id,
        "evidence_id": world["evidence"].id,
        "session_id": world["session"].id,
        "report_id": world["report_file"].field_report_id,
        "file_id": world["report_file"].id,
        "certificate_id": world["certificate"].id,
        "code": world["certificate"].code,
        "token": world["setup_token"],
        "kind": "csv",
    }


def outcome(response) -> str:
    assert response.status_code != 500
    if response.status_code == 403:
        return FORBIDDEN
    if response.status_code == 302 and "/login" in response.headers["Location"]:
        return LOGIN
    assert response.status_code < 400, response.status_code
    return OK


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[1]} {r[0]}")
@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(app, client, login, world, route, actor):
    endpoint, method = route
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    arguments = {name: url_arguments(world)[name] for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **arguments)
    if world[actor] is not None:
        login(world[actor])
    response = client.open(url, method=method, data={})
    assert outcome(response) == MATRIX[route][actor]


def test_object_getters_refuse_another_persons_objects(app, db, world):
    """The getters themselves, independent of any view: 403 for someone else's, 404 for none."""
    from werkzeug.exceptions import Forbidden, NotFound

    cohort, enrolment = world["cohort"], world["enrolment"]
    with app.test_request_context():
        assert get_cohort_or_403(cohort.id, world["instructor"]) is cohort
        assert get_cohort_or_403(cohort.id, world["admin"], action="manage") is cohort
        assert get_enrolment_or_403(enrolment.id, world["learner"]) is enrolment
        for user, getter, object_id, action in (
            (world["other_instructor"], get_cohort_or_403, cohort.id, "view"),
            (world["instructor"], get_cohort_or_403, cohort.id, "manage"),
            (world["learner"], get_cohort_or_403, cohort.id, "view"),
            (world["other_learner"], get_enrolment_or_403, enrolment.id, "view"),
            (world["learner"], get_enrolment_or_403, enrolment.id, "manage"),
            (world["other_instructor"], get_enrolment_or_403, enrolment.id, "view"),
        ):
            with pytest.raises(Forbidden):
                getter(object_id, user, action=action)
        with pytest.raises(NotFound):
            get_cohort_or_403(999_999, world["admin"])
    assert teaches(world["instructor"], cohort)
    assert not teaches(world["other_instructor"], cohort)
    assert world["admin"].role is Role.ADMIN and not teaches(world["admin"], cohort)
