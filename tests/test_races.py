"""Races between real, separately committed transactions: exactly one winner, a clear message
for the other. These tests commit for real (on an app without the rolled-back test
transaction) and remove what they made afterwards."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from lca.errors import RuleError
from lca.extensions import db
from lca.hours.services import approve_log
from lca.models import (
    AuditEvent,
    City,
    Cohort,
    Enrolment,
    HourLog,
    User,
    cohort_instructors,
)
from tests.conftest import make_app
from tests.factories import CohortFactory, EnrolmentFactory, HourLogFactory, InstructorFactory


@pytest.fixture(scope="module")
def real_app(app, tmp_path_factory):
    """A second app on the same database, whose sessions commit for real, as in production."""
    real = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path_factory.mktemp("race-data"))
    yield real
    with real.app_context():
        db.engine.dispose()


def _remove(app, made: dict[str, set[int]]) -> None:
    with app.app_context():
        db.session.execute(
            delete(AuditEvent).where(
                AuditEvent.target_id.in_(made["logs"] | made["enrolments"] | made["users"])
                | AuditEvent.actor_id.in_(made["users"])
            )
        )
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
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_reviewers_approving_at_once_make_one_approval(real_app):
    with real_app.app_context():
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
        log_id, instructor_id = log.id, instructor.id
        db.session.remove()

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
