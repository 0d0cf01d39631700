"""`lca synth`: synthetic data for the benchmark, consistent with LCA's own rules."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import joinedload

from lca.core.dates import local_today
from lca.curriculum.services import list_versions, modules_of
from lca.hours.progress import progress_of
from lca.models import (
    AuditEvent,
    Certificate,
    CertificateStatus,
    ClassSession,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    EvidenceFile,
    FieldReport,
    HourLog,
    HourLogNote,
    LogSource,
    LogStatus,
    Module,
    NoteKind,
    ReportStatus,
    Role,
    SerialCounter,
    User,
)
from lca.models.assessment import field_report_logs
from lca.models.cohorts import cohort_instructors
from lca.models.hours import hour_log_tools
from lca.ops.demo import DEMO_TOTP_SECRET
from lca.ops.synth import LOGS_PER_LEARNER, SYNTH_PASSWORD, SynthError, build_synthetic
from tests.factories import CohortFactory, totp_code

LEARNERS = 200


@pytest.fixture
def synthetic(db):
    seen = []
    counters = build_synthetic(LEARNERS, progress=seen.append)
    assert sum(seen) == LEARNERS
    return counters


def test_people_cohorts_and_volumes(db, synthetic):
    learners = db.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.LEARNER)
    )
    assert learners == LEARNERS
    sizes = db.session.execute(
        select(Enrolment.cohort_id, func.count()).group_by(Enrolment.cohort_id)
    ).all()
    assert sorted(size for _, size in sizes) == [50, 50, 50, 50]
    assert all(code.startswith("SY-") for code in db.session.scalars(select(Cohort.code)))
    logs = db.session.scalar(select(func.count()).select_from(HourLog))
    withdrawn = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.status == EnrolmentStatus.WITHDRAWN)
    )
    # fifty logs a learner (ten for one who withdrew), less the sessions a learner missed
    most = (LEARNERS - withdrawn) * LOGS_PER_LEARNER + withdrawn * 10
    assert most * 0.95 < logs <= most
    assert synthetic.rows["hour_logs"] == logs


def test_every_state_a_real_programme_has(db, synthetic):
    states = Counter(db.session.scalars(select(HourLog.status)))
    assert set(states) == set(LogStatus)
    assert states[LogStatus.APPROVED] > states[LogStatus.PENDING] > 0
    sources = Counter(db.session.scalars(select(HourLog.source)))
    assert set(sources) == set(LogSource)
    reports = Counter(db.session.scalars(select(FieldReport.status)))
    assert {ReportStatus.SUBMITTED, ReportStatus.REVISE, ReportStatus.PASSED} <= set(reports)
    certificates = Counter(db.session.scalars(select(Certificate.status)))
    assert certificates[CertificateStatus.VALID] > 0


def test_the_data_keeps_the_rules_of_the_programme(db, synthetic):
    # Every certificate belongs to a learner the app itself finds eligible.
    holders = list(
        db.session.scalars(
            select(Enrolment)
            .join(Certificate, Certificate.enrolment_id == Enrolment.id)
            .options(joinedload(Enrolment.cohort))
        )
    )
    assert holders and all(progress.is_eligible for progress in progress_of(holders))
    # Field logs carry evidence and tools; returned and rejected logs carry the reviewer's note.
    field_logs = select(HourLog.id).where(HourLog.mechanism_id.is_not(None))
    without_evidence = field_logs.where(
        ~select(EvidenceFile.id).where(EvidenceFile.hour_log_id == HourLog.id).exists()
    )
    without_tools = field_logs.where(
        ~select(hour_log_tools.c.tool_id).where(hour_log_tools.c.hour_log_id == HourLog.id).exists()
    )
    assert db.session.scalar(select(func.count()).select_from(field_logs.subquery())) > 0
    assert db.session.scalars(without_evidence).first() is None
    assert db.session.scalars(without_tools).first() is None
    explained = {LogStatus.RETURNED: NoteKind.QUESTION, LogStatus.REJECTED: NoteKind.REJECTION}
    for status, kind in explained.items():
        unexplained = select(HourLog.id).where(
            HourLog.status == status,
            ~select(HourLogNote.id)
            .where(HourLogNote.hour_log_id == HourLog.id, HourLogNote.kind == kind)
            .exists(),
        )
        assert db.session.scalars(unexplained).first() is None
    # A report draws only on its own learner's approved field logs.
    drawn = db.session.execute(
        select(HourLog.status, HourLog.enrolment_id, FieldReport.enrolment_id)
        .join(field_report_logs, field_report_logs.c.hour_log_id == HourLog.id)
        .join(FieldReport, FieldReport.id == field_report_logs.c.field_report_id)
    ).all()
    assert drawn and all(s is LogStatus.APPROVED and a == b for s, a, b in drawn)
    # Serial numbers continue from the counter, without gaps.
    for counter in db.session.scalars(select(SerialCounter)):
        numbers = sorted(
            db.session.scalars(
                select(Certificate.serial_number).where(Certificate.serial_year == counter.year)
            )
        )
        assert numbers == list(range(1, counter.last_number + 1))


def test_the_app_carries_on_after_the_bulk_load(db, synthetic):
    """Ids were chosen by the builder: new rows from the app must not collide with them."""
    cohort = CohortFactory()
    db.session.flush()
    assert cohort.id > db.session.scalar(
        select(func.max(Cohort.id)).where(Cohort.code.startswith("SY-"))
    )


def test_pages_of_synthetic_people(client, db, synthetic):
    learner = db.session.scalar(
        select(User)
        .join(Enrolment, Enrolment.learner_id == User.id)
        .where(Enrolment.status == EnrolmentStatus.ACTIVE)
        .order_by(User.id.desc())
    )
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.learner_id == learner.id))
    instructor = db.session.scalar(select(User).where(User.role == Role.INSTRUCTOR))
    certificate = db.session.scalar(
        select(Certificate).where(Certificate.status == CertificateStatus.VALID)
    )
    db.session.commit()

    def sign_in(user):
        client.post("/logout")
        answer = client.post("/login", data={"email": user.email, "password": SYNTH_PASSWORD})
        assert answer.status_code == 302, answer.text
        if user.role is Role.INSTRUCTOR:  # staff: the second step, with the demo's app key
            assert answer.headers["Location"] == "/login/second-step"
            code = totp_code(DEMO_TOTP_SECRET)
            answer = client.post("/login/second-step", data={"code": code})
            assert answer.status_code == 302, answer.text

    sign_in(learner)
    assert learner.full_name_th in client.get("/learner").text
    sign_in(instructor)
    assert client.get("/review").status_code == 200
    matrix = client.get(f"/cohorts/{enrolment.cohort_id}/progress")
    assert matrix.status_code == 200 and learner.full_name_th in matrix.text
    client.post("/logout")
    verify = client.get(f"/verify/{certificate.code}")
    assert verify.status_code == 200
    assert certificate.snapshot["learner"]["name_th"] in verify.text


def test_a_second_build_and_a_bad_size_are_refused(db, synthetic):
    with pytest.raises(SynthError, match="already"):
        build_synthetic(10)
    with pytest.raises(SynthError, match="at least one"):
        build_synthetic(0)


def test_synth_command(app, db, monkeypatch):
    runner = app.test_cli_runner()
    monkeypatch.setitem(app.config, "LCA_ENV", "production")
    refused = runner.invoke(args=["lca", "synth", "--learners", "3"])
    assert refused.exit_code != 0 and "published password" in refused.output
    assert db.session.scalar(select(Cohort.id)) is None
    monkeypatch.setitem(app.config, "LCA_ENV", "testing")
    result = runner.invoke(args=["lca", "synth", "--learners", "3"])
    assert result.exit_code == 0, result.output
    assert "enrolments: 3" in result.output and SYNTH_PASSWORD in result.output
    again = runner.invoke(args=["lca", "synth", "--learners", "3"])
    assert again.exit_code != 0 and "already" in again.output


def test_an_instructors_queue_reads_only_their_learners_logs(app, db):
    """With statistics (`lca optimize`), the queue starts from the instructor's cohorts and
    finds each learner's pending logs by the enrolment-and-state index, not by walking every
    pending log of the programme (docs/performance.md). Small cohorts make the instructor's
    share of the programme small, as it is at 10,000 learners."""
    from lca.hours.queue import review_queue

    build_synthetic(LEARNERS, cohort_size=4)

    result = app.test_cli_runner().invoke(args=["lca", "optimize"])
    assert result.exit_code == 0 and "Statistics refreshed" in result.output, result.output
    newest = select(Cohort.id).order_by(Cohort.starts_on.desc()).limit(1).scalar_subquery()
    instructor = db.session.scalar(
        select(User)
        .join(cohort_instructors, cohort_instructors.c.instructor_id == User.id)
        .where(cohort_instructors.c.cohort_id == newest)
    )
    statements = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if "LIMIT" in statement and "hour_logs" in statement:
            statements.append((statement, parameters))

    engine = db.engines[None].engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        page = review_queue(
            instructor,
            cohort_id=None,
            module_id=None,
            status=LogStatus.PENDING,
            page=1,
            per_page=50,
        )
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert page.items and all(log.status is LogStatus.PENDING for log in page.items)
    statement, parameters = statements[-1]
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        # SQLite's planner weighs the queue index against this one by its statistics, which
        # lca optimize has just written; at this small size either plan is quick (the
        # benchmark at 10,000 learners shows the choice; docs/performance.md).
        analysed = connection.exec_driver_sql(
            "SELECT idx FROM sqlite_stat1 WHERE tbl = 'hour_logs'"
        ).scalars()
        assert "ix_hour_logs_enrolment_status" in set(analysed)
    else:
        plan = " ".join(
            row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        )
        assert "Seq Scan on hour_logs" not in plan, plan
        assert "ix_hour_logs_enrolment_status" in plan, plan


@pytest.fixture
def two_versions(db):
    return build_synthetic(LEARNERS, versions=2)


def test_two_curriculum_versions_and_cohorts_on_each(app, db, two_versions):
    first, second = list_versions()
    assert (second.number, second.name_en) == (2, f"CA 48 hours, {local_today().year}")
    assert [sum(m.hours for m in modules_of(v.id)) for v in (first, second)] == [45, 48]
    cohorts = list(db.session.scalars(select(Cohort).order_by(Cohort.starts_on)))
    assert [c.curriculum_version_id for c in cohorts] == [first.id] * 2 + [second.id] * 2
    # every row a cohort holds names a module of the cohort's own version
    for model in (HourLog, ClassSession):
        joined = select(func.count()).select_from(model).join(Module, Module.id == model.module_id)
        if model is HourLog:
            joined = joined.join(Enrolment, Enrolment.id == HourLog.enrolment_id).join(
                Cohort, Cohort.id == Enrolment.cohort_id
            )
        else:
            joined = joined.join(Cohort, Cohort.id == ClassSession.cohort_id)
        assert db.session.scalar(joined.where(Module.version_id == second.id)) > 0
        assert (
            db.session.scalar(joined.where(Module.version_id != Cohort.curriculum_version_id)) == 0
        )
    # certificates name their cohort's version and its hours
    for certificate in db.session.scalars(
        select(Certificate).options(joinedload(Certificate.enrolment).joinedload(Enrolment.cohort))
    ):
        version = (
            first if certificate.enrolment.cohort.curriculum_version_id == first.id else second
        )
        assert certificate.snapshot["curriculum"]["number"] == version.number
        assert certificate.snapshot["total_hours"] == (45 if version is first else 48)
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "curriculum.version_create")
    )
    assert event.details["changes"] == ["module 5 hours: 9 -> 12"]


def test_a_learner_of_the_later_version_is_held_to_its_48_hours(app, db, two_versions):
    second = list_versions()[-1]
    on_second = (
        select(Enrolment)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Cohort.curriculum_version_id == second.id)
        .options(joinedload(Enrolment.cohort))
    )
    holders = list(db.session.scalars(on_second.join(Certificate)))
    everyone = list(db.session.scalars(on_second))
    with app.test_request_context():
        progress = progress_of(everyone)
        certified = progress_of(holders)
    assert progress and all(p.required_minutes == 48 * 60 for p in progress)
    field = [m for p in progress for m in p.modules if m.module.is_field]
    assert {m.module.hours for m in field} == {12}
    assert certified and all(p.is_eligible and p.counted_minutes >= 48 * 60 for p in certified)
    assert any(not p.is_eligible for p in progress)  # a running cohort is part-way


def test_synth_versions_option(app, db):
    runner = app.test_cli_runner()
    few = runner.invoke(args=["lca", "synth", "--learners", "3", "--versions", "2"])
    assert few.exit_code != 0 and "at least two cohorts: give at least 51 learners" in few.output
    assert len(list_versions()) == 1
    three = runner.invoke(args=["lca", "synth", "--learners", "3", "--versions", "3"])
    assert three.exit_code == 2 and "--versions" in three.output
