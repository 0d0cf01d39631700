"""The cohort matrix that a phone can read: who is behind the timetable, a search by name and a
"who is behind" filter that work without JavaScript (?q=, ?behind=1), and links that carry only
the filters LCA knows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from lca.core.dates import local_today
from lca.core.db import utcnow
from lca.hours.behind import lags, minutes_held
from lca.hours.progress import cohort_progress
from lca.models import EnrolmentStatus, LogStatus
from tests.factories import (
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    HourLogFactory,
    InstructorFactory,
    LearnerFactory,
    module,
)


def logged(enrolment, number, minutes, status=LogStatus.APPROVED):
    return HourLogFactory(
        enrolment=enrolment,
        module=module(number),
        minutes=minutes,
        worked_on=local_today() - timedelta(days=2),
        status=status,
    )


@pytest.fixture
def cohort_of_three(db):
    """Module 1's six-hour session was held yesterday, module 2's is tomorrow; the field window
    opens today. Anong has module 1's hours, Boonsri none, Chai half of them waiting."""
    today = local_today()
    instructor = InstructorFactory()
    cohort = CohortFactory(
        instructors=[instructor], starts_on=today - timedelta(days=10), field_starts_on=today
    )
    ClassSessionFactory(cohort=cohort, module=module(1), held_on=today - timedelta(days=1))
    ClassSessionFactory(cohort=cohort, module=module(2), held_on=today + timedelta(days=1))
    people = {}
    for name, english in (("อนงค์ ใจดี", "Anong Jaidee"), ("บุญศรี มีสุข", "Boonsri Meesuk")):
        learner = LearnerFactory(full_name_th=name, full_name_en=english)
        people[english.split()[0]] = EnrolmentFactory(cohort=cohort, learner=learner)
    people["Chai"] = EnrolmentFactory(
        cohort=cohort, learner=LearnerFactory(full_name_th="ชัย รักเมือง", full_name_en="Chai R")
    )
    logged(people["Anong"], 1, 360)
    logged(people["Chai"], 1, 180, status=LogStatus.PENDING)
    return instructor, cohort, people


def test_a_learner_is_behind_when_the_timetable_expects_more_hours(cohort_of_three):
    _instructor, cohort, _people = cohort_of_three
    rows = cohort_progress(cohort)
    held = minutes_held(cohort, local_today())
    behind = {p.enrolment.learner.full_name_en: lags(p, held) for p in rows}
    assert behind["Anong Jaidee"] == []
    [boonsri] = behind["Boonsri Meesuk"]
    assert (boonsri.module.number, boonsri.done_minutes, boonsri.expected_minutes) == (1, 0, 360)
    [chai] = behind["Chai R"]  # hours waiting for review count as done
    assert (chai.done_minutes, chai.expected_minutes) == (180, 360)


def test_field_practice_expects_the_share_of_the_window_gone_by(db):
    today = local_today()
    cohort = CohortFactory(
        starts_on=today - timedelta(days=200), field_starts_on=today - timedelta(days=91)
    )
    enrolment = EnrolmentFactory(cohort=cohort)
    [progress] = cohort_progress(cohort)
    [field] = lags(progress, {})
    assert field.module.number == 5
    share = progress.window_ends_on - progress.window_starts_on
    assert 0 < field.expected_minutes < 540
    assert field.expected_minutes == 540 * 91 // (share.days + 1) // 15 * 15
    enrolment.status, enrolment.withdrawn_at = EnrolmentStatus.WITHDRAWN, utcnow()
    [progress] = cohort_progress(cohort)
    assert lags(progress, {}) == []  # a learner who left is not behind


def names(page: str) -> list[str]:
    return re.findall(
        r'<li class="learner-card[^"]*" data-name="[^"]*">\s*<h2><a[^>]*>([^<]+)<', page
    )


def test_the_phone_list_filters_by_name_and_by_who_is_behind(client, login, cohort_of_three):
    instructor, cohort, _people = cohort_of_three
    login(instructor)
    url = f"/cohorts/{cohort.id}/progress"
    page = client.get(url).get_data(as_text=True)
    assert sorted(names(page)) == sorted(["อนงค์ ใจดี", "บุญศรี มีสุข", "ชัย รักเมือง"])
    assert "กลุ่มวิชาที่ 1: 0 จาก 6 ชั่วโมงที่ควรมีแล้ว" in page
    behind = client.get(url, query_string={"behind": "1"}).get_data(as_text=True)
    assert sorted(names(behind)) == sorted(["บุญศรี มีสุข", "ชัย รักเมือง"])
    assert "แสดงผู้เรียน 2 จาก 3 คน" in behind
    found = client.get(url, query_string={"q": "  boonsri   MEESUK "}).get_data(as_text=True)
    assert names(found) == ["บุญศรี มีสุข"]
    assert 'value="boonsri MEESUK"' in found
    assert names(client.get(url, query_string={"q": "อนงค์"}).get_data(as_text=True)) == ["อนงค์ ใจดี"]
    nobody = client.get(url, query_string={"q": "ไม่มีใคร"}).get_data(as_text=True)
    assert names(nobody) == [] and "ไม่พบผู้เรียนที่ตรงกับการค้นหา" in nobody


def test_sort_links_carry_only_the_known_filters(client, login, cohort_of_three):
    instructor, cohort, _people = cohort_of_three
    login(instructor)
    page = client.get(
        f"/cohorts/{cohort.id}/progress",
        query_string={"q": "ชัย", "behind": "1", "evil": "x", "sort": "total", "dir": "desc"},
    ).get_data(as_text=True)
    # the sort links (the language switch keeps the whole query string, as on every page)
    links = re.findall(r'href="(/cohorts/\d+/progress\?sort=[^"]+)"', page)
    links = [link for link in links if "lang=" not in link]
    assert len(links) == 2 + 7 + 1  # learner, city, the seven modules, total
    assert links and all("q=" in link and "behind=1" in link for link in links)
    assert not any("evil" in link for link in links)
    assert '<input type="hidden" name="sort" value="total">' in page
    assert '<input type="hidden" name="dir" value="desc">' in page


@pytest.mark.parametrize(
    "query",
    [
        {"q": "<script>alert(1)</script>"},
        {"q": "ก" * 5000},
        {"q": "\x00"},
        {"behind": "yes"},
        {"behind": "1", "sort": "<b>", "dir": "sideways"},
        {"q": "%", "behind": ["1", "0"]},
    ],
)
def test_hostile_filters_get_a_page_not_an_error(client, login, cohort_of_three, query):
    instructor, cohort, _people = cohort_of_three
    login(instructor)
    response = client.get(f"/cohorts/{cohort.id}/progress", query_string=query)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page and "<b>" not in page
    assert "ก" * 101 not in page
