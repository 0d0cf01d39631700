"""Races between real, separately committed transactions: exactly one winner, a clear message
for the other. These tests commit for real (on an app without the rolled-back test
transaction) and remove what they made afterwards."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from lca.core.db import db
from lca.core.errors import RuleError
from lca.hours.services import STALE_LOG, approve_log
from lca.models import (
    AuditEvent,
    City,
    Cohort,
    Enrolment,
    HourLog,
    Message,
    User,
    cohort_instructors,
)
from tests.factories import CohortFactory, EnrolmentFactory, HourLogFactory, InstructorFactory


@pytest.fixture(scope="module")
def real_app(app, tmp_path_factory, make_app):
    """A second app on the same database, whose sessions commit for real, as in production."""
    real = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path_factory.mktemp("race-data"))
    yield real
    with real.app_context():
        db.engine.dispose()


def _remove(app, made: dict[str, set[int]]) -> None:
    made = {"logs": set(), **made}
    with app.app_context():
        db.session.execute(
            delete(AuditEvent).where(
                AuditEvent.target_id.in_(made["logs"] | made["enrolments"] | made["users"])
                | AuditEvent.actor_id.in_(made["users"])
            )
        )
        db.session.execute(delete(Message).where(Message.recipient_id.in_(made["users"])))
        db.session.execute(delete(HourLog).where(HourLog.id.in_(made["logs"])))
        db.session.execute(delete(Enrolment).where(Enrolment.id.in_(made["enrolments"])))
        db.session.execute(
            cohort_instructors.delete().where(cohort_instructors.c.cohort_id.in_(made["cohorts"]))
        )
        db.session.execute(delete(Cohort).where(Cohort.id.in_(made["cohorts"])))
        db.session.execute(delete(User).where(User.id.in_(made["users"])))
        db.session.execute(delete(City).where(City.id.in_(made["cities"])))
        db.session.commit()
        db.session.remove()


def race(app, work, runners: int = 2) -> list[str]:
    """Run ``work()`` in ``runners`` threads, each in its own app context and transaction,
    released together; return "won" or the refusal message of each."""
    barrier, results = threading.Barrier(runners), []

    def runner():
        with app.app_context():
            try:
                prepared = work.prepare()
                barrier.wait(timeout=10)
                work.act(*prepared)
                db.session.commit()
                results.append("won")
            except RuleError as error:
                db.session.rollback()
                results.append(str(error))
            except Exception as error:  # reported, so that the test shows it
                db.session.rollback()
                results.append(f"crashed: {error!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _waiting_log(app) -> tuple[int, int, dict[str, set[int]]]:
    """A committed log waiting for review, its cohort's instructor, and what to remove after."""
    with app.app_context():
        instructor = InstructorFactory()
        enrolment = EnrolmentFactory(cohort=CohortFactory(instructors=[instructor]))
        log = HourLogFactory(enrolment=enrolment)
        db.session.commit()
        made = {
            "logs": {log.id},
            "enrolments": {enrolment.id},
            "cohorts": {enrolment.cohort_id},
            "users": {instructor.id, enrolment.learner_id},
            "cities": {enrolment.cohort.host_city_id, enrolment.learner.city_id},
        }
        found = log.id, instructor.id, made
        db.session.remove()
    return found


def test_two_reviewers_approving_at_once_make_one_approval(real_app):
    log_id, instructor_id, made = _waiting_log(real_app)

    class Approve:
        @staticmethod
        def prepare():
            return db.session.get(HourLog, log_id), db.session.get(User, instructor_id)

        @staticmethod
        def act(log, reviewer):
            approve_log(log, reviewer)

    try:
        results = race(real_app, Approve)
        assert len(results) == 2 and results.count("won") == 1, results
        loser = next(r for r in results if r != "won")
        assert "Someone else changed this log" in loser or "waiting for review" in loser
        with real_app.app_context():
            approvals = db.session.scalar(
                select(func.count()).where(
                    AuditEvent.action == "hour_log.approve", AuditEvent.target_id == log_id
                )
            )
            assert approvals == 1
            assert db.session.get(HourLog, log_id).version == 2
    finally:
        _remove(real_app, made)


def _eligible(app, count):
    """Committed eligible enrolments of one cohort (and what to remove afterwards)."""
    from lca.models import FieldReport
    from tests.factories import eligible_enrolment

    with app.app_context():
        first = eligible_enrolment()
        enrolments = [first] + [eligible_enrolment(cohort=first.cohort) for _ in range(count - 1)]
        db.session.commit()
        made = {
            "enrolments": {e.id for e in enrolments},
            "cohorts": {first.cohort_id},
            "users": {e.learner_id for e in enrolments},
            "cities": {first.cohort.host_city_id} | {e.learner.city_id for e in enrolments},
            "logs": set(
                db.session.scalars(
                    select(HourLog.id).where(HourLog.enrolment_id.in_([e.id for e in enrolments]))
                )
            ),
            "reports": set(
                db.session.scalars(
                    select(FieldReport.id).where(
                        FieldReport.enrolment_id.in_([e.id for e in enrolments])
                    )
                )
            ),
        }
        ids = [e.id for e in enrolments]
        db.session.remove()
    return ids, made


def _remove_certificates_and_reports(app, made):
    from lca.models import Certificate, FieldReport, SerialCounter, field_report_logs

    with app.app_context():
        db.session.execute(
            delete(Certificate).where(Certificate.enrolment_id.in_(made["enrolments"]))
        )
        db.session.execute(
            field_report_logs.delete().where(
                field_report_logs.c.field_report_id.in_(made["reports"])
            )
        )
        db.session.execute(delete(FieldReport).where(FieldReport.id.in_(made["reports"])))
        db.session.execute(delete(AuditEvent).where(AuditEvent.action.like("certificate.%")))
        db.session.execute(delete(SerialCounter))
        db.session.commit()
    _remove(app, made)


@pytest.fixture
def signing_key(real_app):
    from lca.certificates.keys import generate_keys

    with real_app.app_context():
        generate_keys()


def test_concurrent_issues_get_consecutive_serials_without_gaps(real_app, signing_key):
    """Four admins issue four learners' certificates at the same moment."""
    from lca.certificates.services import issue_certificate
    from lca.models import Certificate, Enrolment

    ids, made = _eligible(real_app, 4)
    queue = list(ids)
    lock = threading.Lock()

    class Issue:
        @staticmethod
        def prepare():
            with lock:
                enrolment_id = queue.pop()
            return (db.session.get(Enrolment, enrolment_id),)

        @staticmethod
        def act(enrolment):
            issue_certificate(enrolment, None)

    try:
        results = race(real_app, Issue, runners=4)
        assert results == ["won"] * 4, results
        with real_app.app_context():
            numbers = sorted(db.session.scalars(select(Certificate.serial_number)))
            assert numbers == list(range(numbers[0], numbers[0] + 4))  # no gap, no duplicate
            assert len(set(db.session.scalars(select(Certificate.serial)))) == 4
    finally:
        _remove_certificates_and_reports(real_app, made)


def test_two_admins_issuing_one_learner_at_once_make_one_certificate(real_app, signing_key):
    from lca.certificates.services import issue_certificate
    from lca.models import Certificate, Enrolment, SerialCounter

    [enrolment_id], made = _eligible(real_app, 1)

    class Issue:
        @staticmethod
        def prepare():
            return (db.session.get(Enrolment, enrolment_id),)

        @staticmethod
        def act(enrolment):
            issue_certificate(enrolment, None)

    try:
        results = race(real_app, Issue)
        assert results.count("won") == 1, results
        loser = next(r for r in results if r != "won")
        assert "already has" in loser
        with real_app.app_context():
            assert db.session.scalar(select(func.count(Certificate.id))) == 1
            # The loser's serial number was given back: the counter shows one number used.
            assert db.session.scalar(select(SerialCounter.last_number)) == db.session.scalar(
                select(Certificate.serial_number)
            )
    finally:
        _remove_certificates_and_reports(real_app, made)


def _cohort_and_learner(app):
    from tests.factories import AdminFactory, LearnerFactory

    with app.app_context():
        cohort, learner, admin = CohortFactory(), LearnerFactory(), AdminFactory()
        db.session.commit()
        made = {
            "enrolments": set(),
            "cohorts": {cohort.id},
            "users": {learner.id, admin.id},
            "cities": {cohort.host_city_id, learner.city_id, admin.city_id} - {None},
        }
        ids = cohort.id, learner.id, admin.id
        db.session.remove()
    return ids, made


def _enrolments_of(app, cohort_id, made) -> int:
    with app.app_context():
        found = set(
            db.session.scalars(select(Enrolment.id).where(Enrolment.cohort_id == cohort_id))
        )
        made["enrolments"] |= found
        return len(found)


def test_two_admins_enrolling_one_learner_at_once_make_one_enrolment(real_app):
    from lca.cohorts.services import enrol_learner

    (cohort_id, learner_id, admin_id), made = _cohort_and_learner(real_app)

    class Enrol:
        @staticmethod
        def prepare():
            return (
                db.session.get(Cohort, cohort_id),
                db.session.get(User, learner_id),
                db.session.get(User, admin_id),
            )

        @staticmethod
        def act(cohort, learner, admin):
            enrol_learner(cohort, learner, admin)

    try:
        results = race(real_app, Enrol)
        assert results.count("won") == 1, results
        assert "already enrolled" in next(r for r in results if r != "won")
        assert _enrolments_of(real_app, cohort_id, made) == 1
    finally:
        _enrolments_of(real_app, cohort_id, made)  # whatever the outcome, remove them all
        _remove(real_app, made)


def test_an_import_racing_a_single_enrolment_imports_nothing(real_app, tmp_path):
    """The import checked its rows, then someone enrolled one of its learners by hand: the
    import refuses as a whole instead of half-importing or crashing."""
    from lca.admin.imports import apply_import, plan_import
    from lca.cohorts.services import enrol_learner

    (cohort_id, learner_id, admin_id), made = _cohort_and_learner(real_app)
    with real_app.app_context():
        learner = db.session.get(User, learner_id)
        data = (
            "email,full_name_th\n"
            f"{learner.email},{learner.full_name_th}\n"
            "race-newcomer@example.org,ผู้มาใหม่ แข่งเวลา\n"
        ).encode()
        db.session.remove()

    roles, lock = ["enrol", "import"], threading.Lock()

    class Enrol:
        @staticmethod
        def prepare():
            cohort = db.session.get(Cohort, cohort_id)
            admin = db.session.get(User, admin_id)
            with lock:
                role = roles.pop()
            if role == "import":  # one runner imports, the other enrols by hand
                plan = plan_import(cohort, "race.csv", data)
                assert plan.ok, [r.problems for r in plan.rows]
                return ("import", plan, admin)
            return ("enrol", cohort, db.session.get(User, learner_id), admin)

        @staticmethod
        def act(kind, *arguments):
            if kind == "import":
                apply_import(*arguments)
            else:
                enrol_learner(*arguments)

    try:
        results = race(real_app, Enrol)
        assert results.count("won") == 1, results
        assert not any(r.startswith("crashed") for r in results), results
        with real_app.app_context():
            newcomer = db.session.scalar(
                select(User).where(User.email == "race-newcomer@example.org")
            )
            if newcomer is not None:  # the import won: both its rows are in
                made["users"].add(newcomer.id)
                assert _enrolments_of(real_app, cohort_id, made) == 2
            else:  # the enrolment won: nothing of the import is left
                assert _enrolments_of(real_app, cohort_id, made) == 1
    finally:
        _enrolments_of(real_app, cohort_id, made)  # whatever the outcome, remove them all
        _remove(real_app, made)


def test_two_logs_sent_at_once_cannot_overfill_a_day(real_app):
    """Two devices each send 8 hours for the same day at the same moment: one is kept, the
    other refused, and the day holds 8 hours, not 16."""
    from lca.core.dates import local_today
    from lca.hours.services import LogEntry, submit_log
    from lca.models import Module

    with real_app.app_context():
        enrolment = EnrolmentFactory()
        db.session.commit()
        made = {
            "logs": set(),
            "enrolments": {enrolment.id},
            "cohorts": {enrolment.cohort_id},
            "users": {enrolment.learner_id},
            "cities": {enrolment.cohort.host_city_id, enrolment.learner.city_id},
        }
        enrolment_id, learner_id = enrolment.id, enrolment.learner_id
        db.session.remove()

    class Submit:
        @staticmethod
        def prepare():
            module = db.session.scalar(select(Module).where(Module.number == 1))
            return db.session.get(Enrolment, enrolment_id), db.session.get(User, learner_id), module

        @staticmethod
        def act(enrolment, learner, module):
            entry = LogEntry(module, local_today(), 480, "ประชุมคณะทำงาน")
            submit_log(enrolment, entry, [], learner)

    try:
        results = race(real_app, Submit)
        assert results.count("won") == 1, results
        # the second waits for the first's lock, then sees its 8 hours
        assert "already holds 8 hours" in next(r for r in results if r != "won")
        with real_app.app_context():
            minutes = select(func.sum(HourLog.minutes)).where(HourLog.enrolment_id == enrolment_id)
            assert db.session.scalar(minutes) == 480
            db.session.remove()
    finally:
        with real_app.app_context():
            made["logs"] = set(
                db.session.scalars(select(HourLog.id).where(HourLog.enrolment_id == enrolment_id))
            )
            db.session.remove()
        _remove(real_app, made)


def test_a_reviewer_who_lost_the_race_in_a_request_is_refused_not_crashed(real_app):
    """In a request the refusal is translated for the signed-in reviewer, whose language the
    session must read: after the failed flush it can read nothing (PendingRollbackError, a
    500 that bench/capacity.py met when two reviewers approved one log at once)."""
    from flask_login import login_user
    from sqlalchemy import update
    from sqlalchemy.orm.attributes import set_committed_value

    log_id, instructor_id, made = _waiting_log(real_app)
    try:
        with real_app.test_request_context("/review/approve", method="POST"):
            # the other reviewer's approval, a moment before this one writes
            with db.engine.begin() as other:
                other.execute(
                    update(HourLog).where(HourLog.id == log_id).values(version=HourLog.version + 1)
                )
            reviewer = db.session.get(User, instructor_id)
            reviewer.session_token = "signed-in"  # as start_session leaves it, without its row
            login_user(reviewer)
            log = db.session.get(HourLog, log_id)
            set_committed_value(log, "version", log.version - 1)  # the page read it before
            with pytest.raises(RuleError) as refused:
                approve_log(log, reviewer)
            db.session.rollback()
            assert str(refused.value) == str(STALE_LOG)  # in the reviewer's language
            db.session.remove()
    finally:
        _remove(real_app, made)
