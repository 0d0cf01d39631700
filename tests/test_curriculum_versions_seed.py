"""`flask lca seed` and curriculum versions: a wording fix changes the current version in place,
a change of a rule makes a new version that running cohorts never see, and a seed file that
would make a broken version is refused with nothing written."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from lca.cohorts.services import CohortPlan, create_cohort
from lca.core.dates import buddhist_year, local_today
from lca.core.db import db
from lca.core.seed_files import SeedError
from lca.curriculum.services import current_version, field_catalogues_of, modules_of
from lca.hours.progress import progress_of
from lca.models import (
    Attendance,
    AuditEvent,
    ClassSession,
    Cohort,
    CurriculumVersion,
    FieldMechanism,
    FieldTool,
    HourLog,
    Module,
    curriculum_version_mechanisms,
    curriculum_version_tools,
)
from lca.ops.seeding import seed_all
from tests.factories import (
    AdminFactory,
    AttendanceFactory,
    CityFactory,
    ClassSessionFactory,
    HourLogFactory,
    count_rows,
    edit_yaml,
    eligible_enrolment,
    mechanism,
    module,
    table_rows,
)

#: everything a seed may write, and what running cohorts hold
SEEDED = (
    CurriculumVersion,
    curriculum_version_mechanisms,
    curriculum_version_tools,
    Module,
    FieldMechanism,
    FieldTool,
    AuditEvent,
)
COHORTS = (Cohort, ClassSession, Attendance, HourLog)
NEW_NAMES = {"name_th": "CA 48 ชั่วโมง, 2570", "name_en": "CA 48 hours, 2027"}


def change_curriculum(seed_copy, change) -> None:
    edit_yaml(seed_copy / "curriculum.yaml", change)


def events(action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def as_kept(version: CurriculumVersion) -> list[tuple]:
    """A version's modules, every column."""
    return [
        tuple(getattr(m, c.name) for c in Module.__table__.columns) for m in modules_of(version.id)
    ]


def new_cohort(code: str) -> Cohort:
    """A cohort opened by an administrator who does not pick a curriculum version."""
    starts_on = local_today()
    plan = CohortPlan(
        code=code,
        host_city=CityFactory(),
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=240),
        field_starts_on=starts_on,
        field_window_months=6,
    )
    return create_cohort(plan, AdminFactory())


@pytest.fixture
def running(db):
    """A cohort on version 1 with a session, attendance and hour logs, and an eligible learner."""
    enrolment = eligible_enrolment()
    session = ClassSessionFactory(cohort=enrolment.cohort, module=module(1))
    AttendanceFactory(class_session=session, enrolment=enrolment)
    HourLogFactory(enrolment=enrolment, module=module(2))
    db.session.flush()
    return enrolment


# --------------------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d["modules"][0].update(title_th="พื้นฐานเมืองแห่งการเรียนรู้"), "title_th"),
        (lambda d: d["modules"][4].update(description_en="Work in your own city."), "description"),
        (lambda d: d["version"].update(name_en="CA 45 hours, 2024 edition"), "version name_en"),
    ],
)
def test_a_wording_fix_rewords_the_current_version_in_place(db, seed_copy, running, change, said):
    version = current_version()
    modules_before = {m.number: m.id for m in modules_of(version.id)}
    cohorts_before = table_rows(*COHORTS)
    change_curriculum(seed_copy, change)

    report = seed_all(seed_copy)

    outcome = report.curriculum
    assert not outcome.created and outcome.version.id == version.id
    assert len(outcome.wording_changes) == 1 and said in outcome.wording_changes[0]
    assert report.lines()[0].endswith("reworded in place:")
    assert count_rows(CurriculumVersion) == 1
    assert {m.number: m.id for m in modules_of(version.id)} == modules_before  # the same rows
    assert table_rows(*COHORTS) == cohorts_before
    (event,) = events("curriculum.reword")
    assert event.actor is None and event.origin == "cli"
    assert (event.target_type, event.target_id) == ("curriculum_versions", version.id)
    assert event.details["changes"] == outcome.wording_changes
    assert events("curriculum.version_create") == []

    again = seed_all(seed_copy)
    assert again.lines()[0].endswith("unchanged") and not again.curriculum.wording_changes
    assert len(events("curriculum.reword")) == 1


# --------------------------------------------------------------------------- rules

EXTRA_MODULE = {
    "number": 8,
    "title_th": "สัมมนาปิดหลักสูตร",
    "title_en": "Closing Seminar",
    "hours": 3,
    "kind": "classroom",
}
EXTRA_MECHANISM = {
    "code": "digital",
    "number": 5,
    "name_th": "กลไกดิจิทัล",
    "name_en": "Digital mechanisms",
}
EXTRA_TOOL = {
    "code": "story-circle",
    "number": 6,
    "name_th": "วงเล่าเรื่อง",
    "name_en": "Story circle",
}


def _drop(section: str, key: str, value):
    return lambda d: d.update({section: [row for row in d[section] if row[key] != value]})


RULE_CHANGES = [
    (lambda d: d["modules"][4].update(hours=12), "module 5 hours: 9 -> 12", 48),
    (lambda d: d["modules"].append(dict(EXTRA_MODULE)), "module 8 added (3 hours)", 48),
    (_drop("modules", "number", 7), "module 7 removed", 39),
    (lambda d: d["modules"][2].update(kind="classroom"), "module 3 kind: forum -> classroom", 45),
    (
        lambda d: d["modules"][4].update(field_window_months=9),
        "module 5 field_window_months: 6 -> 9",
        45,
    ),
    (lambda d: d["mechanisms"].append(dict(EXTRA_MECHANISM)), "mechanism digital added", 45),
    (_drop("mechanisms", "code", "process"), "mechanism process removed", 45),
    (lambda d: d["tools"].append(dict(EXTRA_TOOL)), "tool story-circle added", 45),
    (_drop("tools", "code", "gaming-simulation"), "tool gaming-simulation removed", 45),
]


@pytest.mark.parametrize(("change", "said", "hours"), RULE_CHANGES)
def test_a_rule_change_makes_a_new_version_that_running_cohorts_never_see(
    app, db, seed_copy, running, change, said, hours
):
    first = current_version()
    first_modules = as_kept(first)
    first_catalogue = field_catalogues_of(first.id)
    cohorts_before = table_rows(*COHORTS)
    change_curriculum(seed_copy, lambda d: (change(d), d["version"].update(NEW_NAMES)))

    report = seed_all(seed_copy)

    outcome = report.curriculum
    assert outcome.created and outcome.rule_changes == [said]
    second = current_version()
    assert second.number == first.number + 1 == outcome.version.number
    assert (second.name_th, second.name_en) == (NEW_NAMES["name_th"], NEW_NAMES["name_en"])
    assert second.takes_effect_on == local_today()
    lines = report.lines()
    assert lines[0] == (
        "curriculum: version 2 'CA 48 hours, 2027' (CA 48 ชั่วโมง, 2570) created, "
        "because a rule changed:"
    )
    assert f"  - {said}" in lines
    assert "  existing cohorts stay on their versions; new cohorts get this one" in lines
    # version 1, its modules, its catalogue and everything of its cohorts as they were
    db.session.expire_all()
    assert as_kept(first) == first_modules
    assert field_catalogues_of(first.id) == first_catalogue
    assert table_rows(*COHORTS) == cohorts_before
    assert running.cohort.curriculum_version_id == first.id
    with app.test_request_context():
        (progress,) = progress_of([running])
    assert progress.is_eligible and progress.counted_minutes == 45 * 60
    assert sum(m.hours for m in modules_of(second.id)) == hours
    # a cohort opened now follows the new version
    assert new_cohort("CA-2570-01").curriculum_version_id == second.id
    (event,) = events("curriculum.version_create")
    assert event.actor is None and (event.target_type, event.target_id) == (
        "curriculum_versions",
        second.id,
    )
    assert event.details == {
        "number": 2,
        "name": NEW_NAMES["name_th"],
        "hours": hours,
        "changes": [said],
    }
    # the same file again: the new version is current and unchanged
    again = seed_all(seed_copy)
    assert not again.curriculum.created and again.lines()[0].endswith("unchanged")
    assert count_rows(CurriculumVersion) == 2


def test_a_rule_change_under_the_current_name_is_refused_and_nothing_is_written(db, seed_copy):
    def twelve_hours_same_name(data):
        data["modules"][4]["hours"] = 12
        data["tools"][0]["name_en"] = "Mapping together"  # would be written first, if at all

    change_curriculum(seed_copy, twelve_hours_same_name)
    before = table_rows(*SEEDED)
    with pytest.raises(SeedError) as refused:
        seed_all(seed_copy)
    message = str(refused.value)
    assert message.startswith("curriculum.yaml changes a rule (module 5 hours: 9 -> 12)")
    assert "is still 'CA 45 ชั่วโมง, 2567' / 'CA 45 hours, 2024', the name of version 1" in message
    assert "Give the new version its own name_th and name_en" in message
    assert table_rows(*SEEDED) == before


def test_a_rule_change_under_an_earlier_versions_name_is_refused(db, seed_copy):
    change_curriculum(seed_copy, lambda d: (d["modules"][4].update(hours=12), d.pop("version")))
    seed_all(seed_copy)  # version 2, named from its hours
    change_curriculum(
        seed_copy,
        lambda d: (
            d["modules"][4].update(hours=9),
            d.update(version={"name_th": "CA 45 ชั่วโมง, 2567", "name_en": "CA 45 again"}),
        ),
    )
    before = table_rows(*SEEDED)
    with pytest.raises(SeedError, match="is the name of version 1"):
        seed_all(seed_copy)
    assert table_rows(*SEEDED) == before


def test_a_rewording_may_not_take_an_earlier_versions_name(db, seed_copy):
    change_curriculum(seed_copy, lambda d: (d["modules"][4].update(hours=12), d.pop("version")))
    seed_all(seed_copy)
    change_curriculum(
        seed_copy,
        lambda d: d.update(version={"name_th": "CA 45 ชั่วโมง, 2567", "name_en": "CA 45 hours"}),
    )
    before = table_rows(*SEEDED)
    with pytest.raises(SeedError, match="is the name of version 1; the current version 2"):
        seed_all(seed_copy)
    assert table_rows(*SEEDED) == before


def test_a_new_version_may_not_take_effect_before_the_current_one(db, seed_copy):
    first = current_version()
    too_early = first.takes_effect_on - timedelta(days=1)
    change_curriculum(
        seed_copy,
        lambda d: (
            d["modules"][4].update(hours=12),
            d["version"].update(NEW_NAMES, takes_effect_on=too_early),
        ),
    )
    with pytest.raises(SeedError, match="is before the day version 1 took effect"):
        seed_all(seed_copy)
    assert count_rows(CurriculumVersion) == 1


def test_a_new_version_takes_effect_on_the_day_its_header_gives(db, seed_copy):
    day = local_today() + timedelta(days=30)
    change_curriculum(
        seed_copy,
        lambda d: (
            d["modules"][4].update(hours=12),
            d["version"].update(NEW_NAMES, takes_effect_on=day),
        ),
    )
    assert seed_all(seed_copy).curriculum.version.takes_effect_on == day


def test_without_a_header_a_new_version_is_named_from_its_hours_and_year(db, seed_copy):
    today = local_today()
    change_curriculum(seed_copy, lambda d: (d["modules"][4].update(hours=12), d.pop("version")))
    second = seed_all(seed_copy).curriculum.version
    assert (second.number, second.name_th, second.name_en) == (
        2,
        f"CA 48 ชั่วโมง, {buddhist_year(today)}",
        f"CA 48 hours, {today.year}",
    )
    assert seed_all(seed_copy).lines()[0].endswith("unchanged")  # no header: names stay
    # another 48-hour version the same year: told apart by its number
    change_curriculum(
        seed_copy,
        lambda d: (d["modules"][4].update(hours=9), d["modules"][0].update(hours=9)),
    )
    third = seed_all(seed_copy).curriculum.version
    assert (third.number, third.name_th, third.name_en) == (
        3,
        f"CA 48 ชั่วโมง, {buddhist_year(today)} (ฉบับที่ 3)",
        f"CA 48 hours, {today.year} (version 3)",
    )
    assert [v.number for v in db.session.scalars(select(CurriculumVersion))] == [1, 2, 3]


def test_a_removed_mechanism_gives_its_number_to_a_new_one(db, seed_copy, running):
    communication = mechanism("communication")
    field_log = HourLogFactory(
        enrolment=running, module=module(5), mechanism=communication, minutes=60
    )
    db.session.flush()
    first = current_version()

    def replace(data):
        data["mechanisms"] = [m for m in data["mechanisms"] if m["code"] != "communication"]
        data["mechanisms"].append({**EXTRA_MECHANISM, "number": 4})
        data["version"].update(NEW_NAMES)

    change_curriculum(seed_copy, replace)
    report = seed_all(seed_copy)
    assert report.curriculum.rule_changes == [
        "mechanism communication removed",
        "mechanism digital added",
    ]
    digital = mechanism("digital")
    assert digital.number == 4
    assert communication.number > 1000  # kept for version 1, out of the listed numbers' way
    old, _ = field_catalogues_of(first.id)
    new, _ = field_catalogues_of(report.curriculum.version.id)
    assert [m.code for m in old] == ["structural", "process", "tools-and-learning", "communication"]
    assert [m.code for m in new] == ["structural", "process", "tools-and-learning", "digital"]
    db.session.expire_all()
    assert db.session.get(HourLog, field_log.id).mechanism_id == communication.id
    assert seed_all(seed_copy).lines()[0].endswith("unchanged")  # and again: nothing moves


# --------------------------------------------------------------------------- bad seed files


def _field_twice(data):
    data["modules"][5].update(kind="field", field_window_months=6)


def _no_field(data):
    data["modules"][4]["kind"] = "classroom"
    data["modules"][4].pop("field_window_months")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["modules"][4].update(hours=0),
            "curriculum.yaml modules[4]: 'hours' must be a whole number of at least 1, not 0.",
        ),
        (
            lambda d: [row.update(hours=0) for row in d["modules"]],
            "curriculum.yaml modules[0]: 'hours' must be a whole number of at least 1, not 0.",
        ),
        (
            lambda d: d["modules"][2].update(hours=2.5),
            "curriculum.yaml modules[2]: 'hours' must be a whole number of at least 1, not 2.5.",
        ),
        (
            lambda d: d["modules"][1].update(number=1),
            "curriculum.yaml modules: 'number' repeats [1].",
        ),
        (
            lambda d: d["modules"][4].pop("field_window_months"),
            "curriculum.yaml modules[4] (module 5): field practice needs 'field_window_months'",
        ),
        (
            lambda d: d["modules"][0].update(field_window_months=6),
            "curriculum.yaml modules[0] (module 1): 'field_window_months' is only for the "
            "field-practice module (kind: field); this one is classroom.",
        ),
        (
            _drop("modules", "number", 5),
            "curriculum.yaml modules: the curriculum needs exactly one field-practice module "
            "(kind: field); it has 0.",
        ),
        (_no_field, "needs exactly one field-practice module (kind: field); it has 0."),
        (
            _field_twice,
            "needs exactly one field-practice module (kind: field); it has 2 (modules 5, 6).",
        ),
        (
            lambda d: d.update(modules=[]),
            "curriculum.yaml: 'modules' must be a non-empty list.",
        ),
        (
            lambda d: d.update(version="CA 48 ชั่วโมง"),
            "curriculum.yaml version: expected a mapping of name_th, name_en and takes_effect_on.",
        ),
        (
            lambda d: d["version"].update(year=2570),
            "curriculum.yaml version: unknown field(s) year.",
        ),
        (
            lambda d: d["version"].update(name_th="  "),
            "curriculum.yaml version: 'name_th' is required.",
        ),
        (
            lambda d: d["version"].pop("name_en"),
            "curriculum.yaml version: 'name_en' is required.",
        ),
        (
            lambda d: d["version"].update(takes_effect_on="next May"),
            "curriculum.yaml version: 'takes_effect_on' must be a day such as 2026-05-01, "
            "not 'next May'.",
        ),
        (
            lambda d: d["version"].update(takes_effect_on="2570-13-01"),
            "'takes_effect_on' must be a day such as 2026-05-01, not '2570-13-01'.",
        ),
        (
            lambda d: d["version"].update(takes_effect_on=20270501),
            "'takes_effect_on' must be a day such as 2026-05-01, not 20270501.",
        ),
    ],
)
def test_a_seed_file_that_would_make_a_broken_version_is_refused(db, seed_copy, change, message):
    def broken(data):
        data["tools"][0]["name_en"] = "Mapping together"  # would be written first, if at all
        data["modules"][4]["hours"] = 12  # a rule change too: a new version, if at all
        data["version"].update(NEW_NAMES)
        change(data)

    change_curriculum(seed_copy, broken)
    before = table_rows(*SEEDED)
    with pytest.raises(SeedError) as refused:
        seed_all(seed_copy)
    assert message in str(refused.value)
    assert table_rows(*SEEDED) == before


def test_a_quoted_day_in_the_header_is_read_as_a_day(db, seed_copy):
    change_curriculum(
        seed_copy,
        lambda d: (
            d["modules"][4].update(hours=12),
            d["version"].update(NEW_NAMES, takes_effect_on="2027-05-01"),
        ),
    )
    assert seed_all(seed_copy).curriculum.version.takes_effect_on == date(2027, 5, 1)


# --------------------------------------------------------------------------- the command


def _counts() -> dict[str, int]:
    return {model.__tablename__: count_rows(model) for model in (CurriculumVersion, Module)} | {
        "audit_events": count_rows(AuditEvent)
    }


def test_a_dry_run_says_what_the_seed_would_do_and_changes_nothing(app, db, seed_copy, running):
    db.session.commit()  # the cohort stays; the dry run rolls back only what the seed did
    change_curriculum(
        seed_copy, lambda d: (d["modules"][4].update(hours=12), d["version"].update(NEW_NAMES))
    )
    before, counts = table_rows(*SEEDED, *COHORTS), _counts()
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["lca", "seed", "--dry-run", "--seed-dir", str(seed_copy)])

    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[:4] == [
        f"Dry run of {seed_copy}: nothing was changed. The seed would do this:",
        "curriculum: version 2 'CA 48 hours, 2027' (CA 48 ชั่วโมง, 2570) created, "
        "because a rule changed:",
        "  - module 5 hours: 9 -> 12",
        "  existing cohorts stay on their versions; new cohorts get this one",
    ]
    db.session.expire_all()
    assert _counts() == counts
    assert table_rows(*SEEDED, *COHORTS) == before

    done = runner.invoke(args=["lca", "seed", "--seed-dir", str(seed_copy)])
    assert done.exit_code == 0, done.output
    assert "Dry run" not in done.output
    assert dry.output.splitlines()[1:] == done.output.splitlines()
    db.session.expire_all()
    assert count_rows(CurriculumVersion) == 2 and current_version().number == 2
    assert len(events("curriculum.version_create")) == 1


def test_a_dry_run_of_a_wording_fix(app, db, seed_copy):
    change_curriculum(seed_copy, lambda d: d["modules"][0].update(title_en="Learning City Basics"))
    before = table_rows(*SEEDED)
    dry = app.test_cli_runner().invoke(
        args=["lca", "seed", "--dry-run", "--seed-dir", str(seed_copy)]
    )
    assert dry.exit_code == 0, dry.output
    assert "curriculum: version 1 'CA 45 hours, 2024' (CA 45 ชั่วโมง, 2567) reworded in place:" in (
        dry.output
    )
    assert "  - module 1 title_en" in dry.output
    db.session.expire_all()
    assert table_rows(*SEEDED) == before


def test_the_command_refuses_a_broken_file_and_a_missing_folder(app, db, seed_copy, tmp_path):
    runner = app.test_cli_runner()
    change_curriculum(seed_copy, lambda d: d["modules"][4].update(hours=12))  # same name
    before = table_rows(*SEEDED)
    refused = runner.invoke(args=["lca", "seed", "--seed-dir", str(seed_copy)])
    assert refused.exit_code == 1
    assert "Error: curriculum.yaml changes a rule (module 5 hours: 9 -> 12)" in refused.output
    missing = runner.invoke(args=["lca", "seed", "--seed-dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    no_files = runner.invoke(args=["lca", "seed", "--dry-run", "--seed-dir", str(empty)])
    assert no_files.exit_code == 1 and "curriculum.yaml: the file is missing." in no_files.output
    db.session.expire_all()
    assert table_rows(*SEEDED) == before


def test_without_seed_dir_the_command_reads_seed(app, db):
    result = app.test_cli_runner().invoke(args=["lca", "seed", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "seed: nothing was changed" in result.output.splitlines()[0]
    assert result.output.splitlines()[1].endswith("unchanged")


def test_the_curriculum_page_shows_the_current_version_and_an_earlier_one(client, db, seed_copy):
    change_curriculum(
        seed_copy, lambda d: (d["modules"][4].update(hours=12), d["version"].update(NEW_NAMES))
    )
    seed_all(seed_copy)
    db.session.commit()

    page = client.get("/curriculum?lang=en", follow_redirects=True).text
    assert re.search(r"<title>\s*Curriculum\b[^<]*</title>", page)  # the title is only a title
    assert page.count('id="versions-heading"') == 1
    assert '<p class="curriculum-version">\n      <strong>CA 48 hours, 2027</strong>' in page
    assert (
        "48 hours in all" in page and 'href="/curriculum?version=1">CA 45 hours, 2024</a>' in page
    )
    earlier = client.get("/curriculum?version=1").text
    assert "<strong>CA 45 hours, 2024</strong>" in earlier and "45 hours in all" in earlier
    assert "This is an earlier version of the curriculum" in earlier
    assert client.get("/curriculum?version=3").status_code == 404


def test_a_database_that_had_cohorts_but_no_curriculum_gets_version_1_filled_in(
    new_database, tmp_path
):
    """Migration 0016 binds existing cohorts to a version 1 made from what is there; with no
    modules seeded yet it has none, and the first seed fills that version in (its cohorts
    follow it) instead of making a version 2 beside an empty one."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from lca import create_app

    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": new_database("lca_empty_v1"),
            "LCA_DATA_DIR": tmp_path,
        }
    )
    with app.app_context():
        upgrade(revision="0015")
        db.session.execute(
            text(
                "INSERT INTO cities (code, name_th, name_en, created_at) "
                "VALUES ('nan', 'น่าน', 'Nan', CURRENT_TIMESTAMP)"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO cohorts (code, host_city_id, starts_on, ends_on, field_starts_on, "
                "field_ends_on, field_window_months, created_at, updated_at) VALUES ('CA-OLD', "
                "(SELECT id FROM cities WHERE code = 'nan'), '2025-06-01', '2025-12-31', "
                "'2025-08-31', '2026-02-27', 6, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        db.session.commit()
        upgrade()
        empty = current_version()
        assert (empty.number, empty.name_th, modules_of(empty.id)) == (
            1,
            "CA 0 ชั่วโมง, 2568",
            [],
        )
        report = seed_all()
        db.session.commit()
        assert report.curriculum.lines() == [
            "curriculum: version 1 'CA 45 hours, 2024' (CA 45 ชั่วโมง, 2567) filled in "
            "(it had no modules)"
        ]
        versions = db.session.scalars(select(CurriculumVersion)).all()
        assert [(v.number, v.name_th) for v in versions] == [(1, "CA 45 ชั่วโมง, 2567")]
        cohort = db.session.scalar(select(Cohort))
        assert cohort.curriculum_version_id == versions[0].id
        assert [m.hours for m in modules_of(cohort.curriculum_version_id)] == [6, 6, 6, 6, 9, 6, 6]
        mechanisms, tools = field_catalogues_of(versions[0].id)
        assert (len(mechanisms), len(tools)) == (4, 5)
        # a second seed finds nothing to do
        assert seed_all().curriculum.lines() == [
            "curriculum: version 1 'CA 45 hours, 2024' (CA 45 ชั่วโมง, 2567) unchanged"
        ]
        db.session.remove()
        db.engine.dispose()
