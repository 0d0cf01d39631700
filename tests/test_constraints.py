"""The database keeps the rules SQL can state, whoever writes: each bad write below goes around
the services (a plain UPDATE or an ORM insert) and is refused by the constraint named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from lca.core.db import utcnow
from lca.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    CertificateStatus,
    ClassSession,
    Cohort,
    Enrolment,
    FieldWindowExtension,
    Grade,
    GradeResult,
    GradeScore,
    HourLog,
    Module,
    Rubric,
    RubricCriterion,
)
from tests.factories import (
    AttendanceFactory,
    CertificateFactory,
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    FieldReportFactory,
    FieldWindowExtensionFactory,
    GradeFactory,
    HourLogFactory,
    current_rubric,
    module,
)


def _set(model, row_id: int, **values):
    """A write that no service makes: an UPDATE straight to the table."""
    return lambda db: db.session.execute(
        update(model.__table__).where(model.__table__.c.id == row_id).values(**values)
    )


def field_start_after_the_cohort_ends(db):
    cohort = CohortFactory()
    late = cohort.ends_on + timedelta(days=1)
    return _set(Cohort, cohort.id, field_starts_on=late, field_ends_on=late + timedelta(days=90))


def field_window_of_25_months(db):
    return _set(Cohort, CohortFactory().id, field_window_months=25)


def own_field_start_without_own_end(db):
    enrolment = EnrolmentFactory()
    return _set(
        Enrolment, enrolment.id, field_starts_on=enrolment.cohort.starts_on, field_ends_on=None
    )


def own_field_end_before_own_start(db):
    enrolment = EnrolmentFactory()
    start = enrolment.cohort.field_starts_on
    return _set(
        Enrolment, enrolment.id, field_starts_on=start, field_ends_on=start - timedelta(days=1)
    )


def the_same_learner_twice_in_a_cohort(db):
    enrolment = EnrolmentFactory()
    return lambda db: EnrolmentFactory(cohort=enrolment.cohort, learner=enrolment.learner)


def a_classroom_module_with_a_field_window(db):
    return _set(Module, module(1).id, field_window_months=6)


def field_practice_without_a_field_window(db):
    return _set(Module, module(5).id, field_window_months=None)


def a_log_of_more_than_a_day(db):
    return _set(HourLog, HourLogFactory().id, minutes=12 * 60 + 15)


def a_log_off_the_quarter_hour(db):
    return _set(HourLog, HourLogFactory().id, minutes=50)


def a_session_of_no_minutes(db):
    return _set(ClassSession, ClassSessionFactory().id, minutes=0)


def an_attendance_of_more_than_a_day(db):
    present = AttendanceFactory(status=AttendanceStatus.PRESENT, minutes=360)
    return _set(Attendance, present.id, minutes=12 * 60 + 15)


def the_same_learner_twice_at_a_session(db):
    attendance = AttendanceFactory()
    return lambda db: AttendanceFactory(
        class_session=attendance.class_session, enrolment=attendance.enrolment
    )


def an_extension_that_changes_nothing(db):
    extension = FieldWindowExtensionFactory()
    return _set(FieldWindowExtension, extension.id, extended_to=extension.previous_ends_on)


def a_second_field_report(db):
    report = FieldReportFactory()
    return lambda db: FieldReportFactory(enrolment=report.enrolment)


def a_pass_mark_above_the_maximum(db):
    rubric = current_rubric()
    return _set(Rubric, rubric.id, pass_mark=rubric.max_points + 1)


def a_criterion_numbered_zero(db):
    return _set(RubricCriterion, current_rubric().criteria[0].id, number=0)


def negative_points(db):
    grade = GradeFactory()
    score = db.session.query(GradeScore).filter_by(grade_id=grade.id).first()
    return _set(GradeScore, score.id, points=-1)


def revise_without_saying_what_to_change(db):
    return _set(Grade, GradeFactory().id, result=GradeResult.REVISE.value, feedback="  ")


def a_second_valid_certificate(db):
    certificate = CertificateFactory()
    return lambda db: CertificateFactory(enrolment=certificate.enrolment)


def a_serial_number_twice(db):
    certificate = CertificateFactory()
    return lambda db: CertificateFactory(
        serial_year=certificate.serial_year,
        serial_number=certificate.serial_number,
        serial=f"{certificate.serial}-again",
    )


def revoked_without_a_reason(db):
    return _set(
        Certificate,
        CertificateFactory().id,
        status=CertificateStatus.REVOKED.value,
        revoked_at=utcnow(),
        revocation_reason=" ",
    )


def reissued_without_a_reason(db):
    old, new = CertificateFactory(), CertificateFactory()
    return _set(Certificate, new.id, replaces_id=old.id, reissue_reason=None)


def superseded_by_one_reissue_twice(db):
    first, second, successor = CertificateFactory(), CertificateFactory(), CertificateFactory()
    superseded = {"status": CertificateStatus.SUPERSEDED.value, "superseded_by_id": successor.id}
    _set(Certificate, first.id, **superseded)(db)
    return _set(Certificate, second.id, **superseded)


def one_certificate_replaced_twice(db):
    old, first, second = CertificateFactory(), CertificateFactory(), CertificateFactory()
    _set(Certificate, first.id, replaces_id=old.id, reissue_reason="ชื่อสะกดผิด")(db)
    return _set(Certificate, second.id, replaces_id=old.id, reissue_reason="ชื่อสะกดผิด")


#: bad write → the constraint that refuses it (SQLite names a unique one by its columns)
CASES = {
    field_start_after_the_cohort_ends: "ck_cohorts_field_starts_by_the_end",
    field_window_of_25_months: "ck_cohorts_field_window_months_range",
    own_field_start_without_own_end: "ck_enrolments_own_field_end_not_before_start",
    own_field_end_before_own_start: "ck_enrolments_own_field_end_not_before_start",
    the_same_learner_twice_in_a_cohort: (
        "uq_enrolments_cohort_learner",
        "enrolments.cohort_id, enrolments.learner_id",
    ),
    a_classroom_module_with_a_field_window: "ck_modules_field_window_only_for_field",
    field_practice_without_a_field_window: "ck_modules_field_window_only_for_field",
    a_log_of_more_than_a_day: "ck_hour_logs_minutes_in_range",
    a_log_off_the_quarter_hour: "ck_hour_logs_minutes_in_range",
    a_session_of_no_minutes: "ck_class_sessions_minutes_in_range",
    an_attendance_of_more_than_a_day: "ck_attendances_minutes_in_range",
    the_same_learner_twice_at_a_session: (
        "uq_attendances_session_enrolment",
        "attendances.class_session_id, attendances.enrolment_id",
    ),
    an_extension_that_changes_nothing: "ck_field_window_extensions_changes_the_last_day",
    a_second_field_report: ("uq_field_reports_enrolment_id", "field_reports.enrolment_id"),
    a_pass_mark_above_the_maximum: "ck_rubrics_pass_mark_in_range",
    a_criterion_numbered_zero: "ck_rubric_criteria_number_positive",
    negative_points: "ck_grade_scores_points_not_negative",
    revise_without_saying_what_to_change: "ck_grades_revise_says_what_to_change",
    a_second_valid_certificate: ("uq_certificates_valid_enrolment", "certificates.enrolment_id"),
    a_serial_number_twice: (
        "uq_certificates_serial_year_number",
        "certificates.serial_year, certificates.serial_number",
    ),
    revoked_without_a_reason: "ck_certificates_revoked_with_reason",
    reissued_without_a_reason: "ck_certificates_reissued_with_reason",
    superseded_by_one_reissue_twice: (
        "uq_certificates_superseded_by_id",
        "certificates.superseded_by_id",
    ),
    one_certificate_replaced_twice: ("uq_certificates_replaces_id", "certificates.replaces_id"),
}


@pytest.mark.parametrize("make_bad_write", list(CASES), ids=lambda case: case.__name__)
def test_the_database_refuses_a_write_that_breaks_a_rule(db, make_bad_write):
    bad_write = make_bad_write(db)
    db.session.flush()
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError) as refused:
        bad_write(db)
        db.session.flush()
    savepoint.rollback()
    names = CASES[make_bad_write]
    names = (names,) if isinstance(names, str) else names
    message = str(refused.value.orig)
    assert any(name in message for name in names), message


def test_the_rules_allow_what_the_services_write(db):
    """The constraints are not stricter than the services: a revoked certificate with its
    reason, a re-issue with its reason, a learner's own field window, passing grades."""
    old, new = CertificateFactory(), CertificateFactory()
    for write in (
        _set(
            Certificate,
            old.id,
            status=CertificateStatus.SUPERSEDED.value,
            superseded_by_id=new.id,
        ),
        _set(Certificate, new.id, replaces_id=old.id, reissue_reason="ชื่อสะกดผิด"),
        _set(
            Certificate,
            CertificateFactory().id,
            status=CertificateStatus.REVOKED.value,
            revoked_at=utcnow(),
            revocation_reason="ออกให้ผิดรุ่น",
        ),
    ):
        write(db)
    enrolment = EnrolmentFactory()
    start = enrolment.cohort.field_starts_on
    _set(Enrolment, enrolment.id, field_starts_on=start, field_ends_on=start)(db)
    _set(Enrolment, EnrolmentFactory().id, field_starts_on=None, field_ends_on=start)(db)
    GradeFactory(result=GradeResult.REVISE, feedback="เพิ่มหลักฐาน")
    db.session.flush()


def test_the_upgrade_keeps_a_database_the_services_filled(new_database, tmp_path):
    """Seed, demo and synthetic data, a revoked and a re-issued certificate and a learner's own
    extended field window go down to 0007 (before the rules in the schema and the messages) and
    up again unchanged. (The models of today cannot write at 0007: they have the newer columns.)"""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import func, select

    from lca import create_app
    from lca.certificates.keys import generate_keys
    from lca.certificates.services import reissue_certificate, revoke_certificate
    from lca.cohorts.field_window import extend_field_window, set_field_start
    from lca.ops.demo import load_demo
    from lca.ops.seeding import seed_all
    from lca.ops.synth import build_synthetic

    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": new_database("lca_rules"),
            "LCA_DATA_DIR": tmp_path,
        }
    )
    with app.app_context():
        from lca.core.db import db

        upgrade()
        seed_all()
        generate_keys()  # a re-issue signs
        load_demo()
        build_synthetic(150)
        first, second = db.session.scalars(
            select(Certificate).where(Certificate.status == CertificateStatus.VALID).limit(2)
        )
        revoke_certificate(first, None, "ออกให้ผิดรุ่น")
        reissue_certificate(second, None, "ชื่อสะกดผิด")
        enrolment = first.enrolment
        set_field_start(enrolment, enrolment.cohort.field_starts_on, None)
        extend_field_window(
            enrolment, enrolment.field_window_ends_on + timedelta(days=30), "ป่วย", None
        )
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(Certificate))
        db.session.remove()
        downgrade(revision="0007")
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == before
        db.session.remove()
        upgrade()
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == before
        db.session.remove()
        db.engine.dispose()
