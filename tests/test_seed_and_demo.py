"""seed/ and the demo data: create or update, never duplicate."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lca.core.seed_files import SeedError
from lca.models import (
    AuditEvent,
    City,
    Cohort,
    CurriculumVersion,
    Enrolment,
    FieldMechanism,
    FieldTool,
    Module,
    User,
    cohort_instructors,
    curriculum_version_mechanisms,
    curriculum_version_tools,
)
from lca.ops.demo import DEMO_COHORT, DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from lca.ops.seeding import seed_all
from tests.factories import count_rows, edit_yaml, module, table_rows, totp_code

TABLES = (
    CurriculumVersion,
    curriculum_version_mechanisms,
    curriculum_version_tools,
    Module,
    FieldMechanism,
    FieldTool,
    City,
    User,
    Cohort,
    Enrolment,
    cohort_instructors,
    AuditEvent,
)


def snapshot(db):
    """Every row of the seeded and demo tables, as plain tuples."""
    return table_rows(*TABLES)


def test_seed_and_demo_twice_leave_the_same_rows(db):
    seed_all()
    load_demo()
    db.session.flush()
    first = snapshot(db)
    report = seed_all()
    load_demo()
    db.session.flush()
    assert snapshot(db) == first
    assert all(counts["created"] == counts["updated"] == 0 for counts in report.counts.values())


def test_demo_accounts_and_cohort(db):
    load_demo()
    emails = set(db.session.scalars(select(User.email)))
    assert {
        "admin@example.org",
        "instructor@example.org",
        "learner@example.org",
        "graduate@example.org",
    } <= emails
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == DEMO_COHORT))
    enrolled = db.session.scalars(
        select(User)
        .join(Enrolment, Enrolment.learner_id == User.id)
        .where(Enrolment.cohort_id == cohort.id)
    ).all()
    assert len(enrolled) >= 14  # the two demo learners and a dozen more
    assert len({learner.city_id for learner in enrolled}) >= 5  # from several cities


def test_demo_accounts_sign_in_to_their_homes(client, db):
    load_demo()
    for email, home in (
        ("admin@example.org", "/admin/"),
        ("instructor@example.org", "/instructor"),
        ("learner@example.org", "/learner"),
        ("graduate@example.org", "/learner"),
    ):
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        if home != "/learner":  # staff: the second step, with the demo's published app key
            assert response.headers["Location"] == "/login/second-step"
            code = totp_code(DEMO_TOTP_SECRET)
            response = client.post("/login/second-step", data={"code": code})
        assert response.headers["Location"] == home
        # the first sign-in shows the privacy notice once, then the home
        assert client.get(home).headers["Location"] == f"/privacy?next={home}"
        assert client.post("/privacy/seen", data={"next": home}).headers["Location"] == home
        assert client.get(home).status_code == 200
        client.post("/logout")


def test_a_changed_title_in_seed_updates_the_row(db, seed_copy):
    def retitle(data):
        data["modules"][0]["title_en"] = "Learning City Basics"

    edit_yaml(seed_copy / "curriculum.yaml", retitle)
    report = seed_all(seed_copy)
    assert report.curriculum.wording_changes == ["module 1 title_en"]
    assert not report.curriculum.created
    assert module(1).title_en == "Learning City Basics"
    assert count_rows(Module) == 7


def test_seed_can_swap_the_order_of_two_tools(db, seed_copy):
    def swap(data):
        data["tools"][0]["number"], data["tools"][1]["number"] = 2, 1

    edit_yaml(seed_copy / "curriculum.yaml", swap)
    seed_all(seed_copy)
    first = db.session.scalar(select(FieldTool).where(FieldTool.number == 1))
    assert first.code == "social-business-model-canvas"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["modules"][0].pop("title_th"), "'title_th' is required"),
        (lambda d: d["modules"][0].update(hours=0), "'hours' must be a whole number"),
        (lambda d: d["modules"][0].update(kind="lecture"), "'kind' must be one of classroom"),
        (lambda d: d["modules"][1].update(number=1), "'number' repeats"),
        (lambda d: d["modules"][4].pop("field_window_months"), "field_window_months"),
        (lambda d: d["tools"][0].update(colour="red"), "unknown field(s) colour"),
        (lambda d: d.update(mechanisms=[]), "'mechanisms' must be a non-empty list"),
    ],
)
def test_a_broken_seed_file_is_refused_and_nothing_is_written(db, seed_copy, change, message):
    edit_yaml(seed_copy / "curriculum.yaml", change)
    before = snapshot(db)
    with pytest.raises(SeedError, match=message.replace("(", r"\(").replace(")", r"\)")):
        seed_all(seed_copy)
    assert snapshot(db) == before


def test_seed_command_and_demo_command(app, db):
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["lca", "seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "curriculum: version 1 'CA 45 hours, 2024' (CA 45 ชั่วโมง, 2567) unchanged" in (
        seeded.output
    )
    assert db.session.scalar(select(Cohort).where(Cohort.code == DEMO_COHORT)) is None
    demo = runner.invoke(args=["lca", "demo"])
    assert demo.exit_code == 0, demo.output
    assert f"{DEMO_COHORT}: " in demo.output and f"password {DEMO_PASSWORD}" in demo.output
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == DEMO_COHORT))
    graduate = db.session.scalar(select(User).where(User.email == "graduate@example.org"))
    assert cohort is not None and graduate is not None
    assert (
        db.session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.cohort_id == cohort.id)
        )
        >= 14
    )
    again = snapshot(db)
    assert runner.invoke(args=["lca", "demo"]).exit_code == 0  # idempotent through the CLI too
    assert snapshot(db) == again


def test_create_user_command_prompts_for_the_password(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "lca",
            "create-user",
            "--email",
            "Ops@Example.org",
            "--name-th",
            "ผู้ดูแล ระบบ",
            "--role",
            "admin",
            "--city",
            "yala",
        ],
        input="a good long password\na good long password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ops@example.org"))
    assert user.is_admin and user.city.code == "yala" and not user.must_change_password
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.target_id == user.id))
    refused = runner.invoke(
        args=[
            "lca",
            "create-user",
            "--email",
            "ops@example.org",
            "--name-th",
            "ซ้ำ",
            "--role",
            "admin",
        ],
        input="a good long password\na good long password\n",
    )
    assert refused.exit_code != 0 and "already in use" in refused.output
    weak = runner.invoke(
        args=[
            "lca",
            "create-user",
            "--email",
            "weak@example.org",
            "--name-th",
            "อ่อน",
            "--role",
            "learner",
        ],
        input="short\nshort\n",
    )
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output
    assert db.session.scalar(select(User).where(User.email == "weak@example.org")) is None


def test_demo_hours_cover_every_state_and_the_graduate_has_every_hour(app, db):
    from lca.hours.progress import progress_of
    from lca.models import ClassSession, HourLog, LogStatus

    load_demo()
    states = set(db.session.scalars(select(HourLog.status).distinct()))
    assert states == set(LogStatus)
    assert db.session.scalar(select(func.count(ClassSession.id))) == 6
    graduate = db.session.scalar(
        select(Enrolment).join(Enrolment.learner).where(User.email == "graduate@example.org")
    )
    learner = db.session.scalar(
        select(Enrolment).join(Enrolment.learner).where(User.email == "learner@example.org")
    )
    with app.test_request_context():
        done, part_way = progress_of([graduate, learner])
    assert done.hours_complete and done.counted_minutes == 45 * 60
    assert not part_way.hours_complete and part_way.pending_minutes > 0


def test_the_demo_is_refused_on_a_production_instance(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_ENV", "production")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["lca", "demo"])
    assert refused.exit_code != 0 and "published password" in refused.output
    assert db.session.scalar(select(User).where(User.email == "admin@example.org")) is None
    allowed = runner.invoke(args=["lca", "demo", "--allow-production"])
    assert allowed.exit_code == 0, allowed.output
    assert db.session.scalar(select(User).where(User.email == "admin@example.org")) is not None
