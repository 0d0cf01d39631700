"""Reports and exports across cohorts of two curriculum versions compare like with like: hours
by module are grouped by version, the totals name the versions they include, the all-cohorts
export gives each version its own module columns; and the learner home, the review queue and the
cohort matrix cost the same statements whether a learner's cohorts follow one version or two."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from lca.core.dates import local_today
from lca.curriculum.services import current_version
from lca.models import LogSource, LogStatus
from lca.reports.services import OF_CITY, OF_COHORT, build_report
from tests.factories import (
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    HourLogFactory,
    InstructorFactory,
    LearnerFactory,
    eligible_enrolment,
    later_version,
    mechanism,
    module_of,
)


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8").lstrip("\ufeff"))))


def approved(enrolment, module, minutes, **extra):
    return HourLogFactory(
        enrolment=enrolment,
        module=module,
        minutes=minutes,
        status=LogStatus.APPROVED,
        worked_on=enrolment.field_window_starts_on + timedelta(days=1),
        **extra,
    )


@pytest.fixture
def two_versions(db):
    """A city whose learners are in a cohort of the 45-hour version and one of the 48-hour
    version (field practice 12 hours, without the mechanism 'process')."""
    first = current_version()
    older = CohortFactory()  # made before the new version: on the first one
    second = later_version(drop_mechanisms=("process",))
    newer = CohortFactory()
    assert (older.curriculum_version_id, newer.curriculum_version_id) == (first.id, second.id)
    city = LearnerFactory().city
    old_done = eligible_enrolment(cohort=older, city=city, full_name_th="กมล ครบถ้วน")
    new_done = eligible_enrolment(cohort=newer, city=city, full_name_th="ขนิษฐา ครบถ้วน")
    studying = EnrolmentFactory(cohort=newer, learner=LearnerFactory(city=city))
    approved(studying, module_of(second, 5), 120, mechanism=mechanism("communication"))
    # a log of the first version's module 2 kept in a cohort of the second (carried over by a
    # move): kept, never counted in the second version's figures
    approved(studying, module_of(first, 2), 600)
    db.session.flush()
    return first, second, older, newer, city, old_done, new_done


def test_the_city_report_groups_hours_by_version(client, admin, two_versions, db):
    first, second, older, newer, city, _old, _new = two_versions
    report = build_report(OF_CITY, {"city_id": city.id})
    assert report.versions == [first, second]
    by_number = {g.version.number: g for g in report.by_version}
    assert (by_number[1].cohorts, by_number[1].enrolled) == (1, 1)
    assert (by_number[2].cohorts, by_number[2].enrolled) == (1, 2)
    hours = {n: [m // 60 for _m, m in g.hours_by_module] for n, g in by_number.items()}
    assert hours[1] == [6, 6, 6, 6, 9, 6, 6]
    # one complete learner (12 field hours) and 2 field hours of the one still studying; the
    # ten carried-over hours of the first version's module 2 are not in module 2 of the second
    assert hours[2] == [6, 6, 6, 6, 14, 6, 6]
    assert [m.version_id for m, _ in by_number[2].hours_by_module] == [second.id] * 7
    assert by_number[1].approved_minutes == 45 * 60 and by_number[2].approved_minutes == 50 * 60
    assert report.completed == 2 and report.enrolled == 3
    # the field catalogue of both versions ('process' is still in the first one's); a report
    # of the newer cohort alone lists its own version's
    assert "process" in [m.code for m, _ in report.field_by_mechanism]
    alone = build_report(OF_COHORT, {"cohort_id": newer.id})
    assert [m.code for m, _ in alone.field_by_mechanism] == [
        "structural",
        "tools-and-learning",
        "communication",
    ]
    assert (
        dict((m.code, minutes) for m, minutes in alone.field_by_mechanism)["communication"] == 120
    )

    page = client.get(f"/reports/cities/{city.id}").get_data(as_text=True)
    assert "หลักสูตรในรายงานนี้" in page
    assert "รุ่นในรายงานนี้เรียนตามหลักสูตรต่างฉบับกัน" in page
    assert '<a href="/curriculum?version=1">CA 45 ชั่วโมง, 2567</a>: 1 รุ่น, ผู้เรียน 1 คน' in page
    assert '<a href="/curriculum?version=2">CA 48 ชั่วโมง, 2570</a>: 1 รุ่น, ผู้เรียน 2 คน' in page
    # one chart of hours by module per version, each named after its version
    assert "ชั่วโมงที่อนุมัติแล้วรายกลุ่มวิชา หลักสูตร CA 45 ชั่วโมง, 2567" in page
    assert "ชั่วโมงที่อนุมัติแล้วรายกลุ่มวิชา หลักสูตร CA 48 ชั่วโมง, 2570" in page
    totals = re.findall(r'<tfoot><tr><th scope="row">ทุกกลุ่มวิชา</th><td[^>]*>([\d.]+)<', page)
    assert totals == ["45", "50"]
    # the funnel's table names each cohort's curriculum
    assert f'<td data-label="รุ่น">{older.code}</td><td data-label="หลักสูตร">CA 45' in page
    assert f'<td data-label="รุ่น">{newer.code}</td><td data-label="หลักสูตร">CA 48' in page
    english = client.get(f"/reports/cities/{city.id}?lang=en", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Approved hours by module, CA 48 hours, 2027" in english
    assert "CA 45 hours, 2024</a>: 1 cohort, 1 learner" in english


def test_a_cohort_report_names_its_one_version_and_needs_no_learner(client, admin, db):
    later_version()
    cohort = CohortFactory()
    page = client.get(f"/reports/cohorts/{cohort.id}").get_data(as_text=True)
    assert '<a href="/curriculum?version=2">CA 48 ชั่วโมง, 2570</a>: 1 รุ่น, ผู้เรียน 0 คน' in page
    assert "ต่างฉบับกัน" not in page  # one version: nothing to warn about
    assert "5. " in page and page.count("<h3>CA 48") == 0  # the modules, under one heading
    eligible_enrolment(cohort=cohort)
    page = client.get(f"/reports/cohorts/{cohort.id}").get_data(as_text=True)
    assert re.search(r"ทุกกลุ่มวิชา</th><td[^>]*>48<", page)


def test_the_all_cohorts_export_gives_each_version_its_columns(client, admin, two_versions, db):
    *_versions, older, newer, _city, _old_done, _new_done = two_versions
    rows = read_csv(client.get("/admin/exports/progress.csv"))
    header = rows[0]
    assert header[:3] == ["รุ่น", "หลักสูตร", "ชื่อ"]
    old_columns = [f"กลุ่มวิชาที่ {n} (CA 45 ชั่วโมง, 2567)" for n in range(1, 8)]
    new_columns = [f"กลุ่มวิชาที่ {n} (CA 48 ชั่วโมง, 2570)" for n in range(1, 8)]
    assert header[8:22] == old_columns + new_columns
    by_name = {row[2]: row for row in rows[1:]}
    old_line, new_line = by_name["กมล ครบถ้วน"], by_name["ขนิษฐา ครบถ้วน"]
    assert old_line[:2] == [older.code, "CA 45 ชั่วโมง, 2567"]
    assert old_line[8:22] == ["6", "6", "6", "6", "9", "6", "6"] + [""] * 7
    assert new_line[:2] == [newer.code, "CA 48 ชั่วโมง, 2570"]
    assert new_line[8:22] == [""] * 7 + ["6", "6", "6", "6", "12", "6", "6"]
    assert old_line[22] == "45" and new_line[22] == "48"  # approved hours in all, each its own
    sheet = load_workbook(io.BytesIO(client.get("/admin/exports/progress.xlsx").data)).active
    lines = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert lines[0] == header
    xlsx_new = next(line for line in lines if line[2] == "ขนิษฐา ครบถ้วน")
    assert xlsx_new[19] == 12 and xlsx_new[8] in (None, "")
    # a cohort's own export has its version's columns only
    own = read_csv(client.get(f"/admin/exports/progress-{newer.id}.csv"))
    assert own[0][6:13] == [f"กลุ่มวิชาที่ {n}" for n in range(1, 8)]
    assert next(row for row in own if row[0] == "ขนิษฐา ครบถ้วน")[10] == "12"


def test_one_version_keeps_plain_module_columns(client, admin, db):
    eligible_enrolment(cohort=CohortFactory(), full_name_th="กมล ครบถ้วน")
    header = read_csv(client.get("/admin/exports/progress.csv"))[0]
    assert header[8:15] == [f"กลุ่มวิชาที่ {n}" for n in range(1, 8)]


def test_reports_and_the_export_cost_the_same_statements_with_two_versions(
    client, admin, db, count_statements
):
    """The number of statements grows with neither the learners nor the versions."""
    city = LearnerFactory().city
    cohort = CohortFactory()
    for _ in range(3):
        eligible_enrolment(cohort=cohort, city=city)
    with count_statements() as one_version:
        assert client.get(f"/reports/cities/{city.id}").status_code == 200
    with count_statements() as export_one:
        client.get("/admin/exports/progress.csv")
    later_version()
    other = CohortFactory()
    for _ in range(10):
        eligible_enrolment(cohort=other, city=city)
    with count_statements() as two_versions:
        assert client.get(f"/reports/cities/{city.id}").status_code == 200
    assert two_versions.count == one_version.count
    with count_statements() as export_two:
        assert len(read_csv(client.get("/admin/exports/progress.csv"))) == 1 + 13
    eligible_enrolment(cohort=CohortFactory())
    with count_statements() as export_three:
        assert len(read_csv(client.get("/admin/exports/progress.csv"))) == 1 + 14
    # each cohort costs the same few statements (read one cohort at a time), a second version
    # nothing more
    assert export_two.count - export_one.count == export_three.count - export_two.count


def test_home_queue_and_matrix_cost_the_same_with_two_versions(client, login, db, count_statements):
    """A learner in two cohorts and their instructor: the learner home, the review queue and
    the cohort matrix run the same statements whether the cohorts follow one version or two,
    and with more learners."""

    def statements(second_version, learners: int) -> dict[str, int]:
        instructor = InstructorFactory()
        first_cohort = CohortFactory(instructors=[instructor], curriculum_version=first)
        second_cohort = CohortFactory(instructors=[instructor], curriculum_version=second_version)
        learner = LearnerFactory()
        for cohort in (first_cohort, second_cohort):
            session = ClassSessionFactory(
                cohort=cohort, module=module_of(cohort.curriculum_version, 1)
            )
            enrolments = [EnrolmentFactory(cohort=cohort, learner=learner)] + [
                EnrolmentFactory(cohort=cohort) for _ in range(learners)
            ]
            for enrolment in enrolments:
                HourLogFactory(
                    enrolment=enrolment,
                    module=module_of(cohort.curriculum_version, 1),
                    minutes=360,
                    status=LogStatus.APPROVED,
                    source=LogSource.ATTENDANCE,
                    class_session=session,
                    worked_on=local_today() - timedelta(days=3),
                )
                HourLogFactory(
                    enrolment=enrolment,
                    module=module_of(cohort.curriculum_version, 2),
                    minutes=60,
                    worked_on=local_today() - timedelta(days=2),
                )
        db.session.flush()
        pages = {}
        login(learner)
        with count_statements() as counter:
            assert client.get("/learner").status_code == 200
        pages["learner home"] = counter.count
        login(instructor)
        with count_statements() as counter:
            assert client.get("/review").status_code == 200
        pages["review queue"] = counter.count
        for cohort in (first_cohort, second_cohort):
            with count_statements() as counter:
                assert client.get(f"/cohorts/{cohort.id}/progress").status_code == 200
            pages.setdefault("cohort matrix", []).append(counter.count)
        return pages

    first = current_version()
    same = statements(first, learners=2)
    mixed = statements(later_version(), learners=8)
    print(f"\nstatements, one version: {same}; two versions: {mixed}")
    assert mixed == same
