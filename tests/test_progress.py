"""Progress: approved, pending and required hours per module in one aggregate query; field
hours count only inside the window; the learner's home, the cohort matrix and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from lca.core.dates import local_today
from lca.hours.progress import progress_of
from lca.models import LogSource, LogStatus
from tests.factories import (
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    HourLogFactory,
    InstructorFactory,
    LearnerFactory,
    module,
)


def approved(enrolment, number, minutes, days_ago=5, **extra):
    return HourLogFactory(
        enrolment=enrolment,
        module=module(number),
        minutes=minutes,
        worked_on=local_today() - timedelta(days=days_ago),
        status=LogStatus.APPROVED,
        **extra,
    )


def test_progress_counts_approved_and_pending_hours_per_module(db):
    enrolment = EnrolmentFactory()
    approved(enrolment, 1, 360)
    approved(enrolment, 2, 240)
    HourLogFactory(enrolment=enrolment, module=module(2), minutes=90)  # pending
    HourLogFactory(enrolment=enrolment, module=module(3), minutes=60, status=LogStatus.REJECTED)
    HourLogFactory(enrolment=enrolment, module=module(3), minutes=60, status=LogStatus.WITHDRAWN)
    [progress] = progress_of([enrolment])
    first, second, third = progress.modules[:3]
    assert (first.approved_minutes, first.is_complete) == (360, True)
    assert (second.approved_minutes, second.pending_minutes, second.is_complete) == (240, 90, False)
    assert (third.approved_minutes, third.pending_minutes) == (0, 0)
    assert (progress.counted_minutes, progress.required_minutes) == (600, 45 * 60)
    assert not progress.hours_complete


def test_more_than_required_counts_only_the_requirement(db):
    enrolment = EnrolmentFactory()
    approved(enrolment, 1, 600)
    [progress] = progress_of([enrolment])
    assert progress.modules[0].counted_minutes == 360 and progress.counted_minutes == 360


def test_field_hours_count_only_inside_the_window(app, db):
    enrolment = EnrolmentFactory()
    inside = (local_today() - enrolment.field_window_starts_on).days - 1
    approved(enrolment, 5, 300, days_ago=inside)
    approved(enrolment, 5, 120, days_ago=inside + 5)  # before the window opened
    with app.test_request_context():  # the next steps in the visitor's (Thai) words
        [progress] = progress_of([enrolment])
    field = progress.module(5)
    assert (field.approved_minutes, field.outside_window_minutes) == (300, 120)
    assert not field.is_complete
    assert "ปฏิบัติการในพื้นที่: บันทึกงานในพื้นที่อีก 4 ชั่วโมง" in " ".join(progress.missing)


def test_the_field_window_counts_down_and_closes(app, db):
    today = local_today()
    open_now = EnrolmentFactory(
        cohort=CohortFactory(
            starts_on=today - timedelta(days=30), field_starts_on=today - timedelta(days=10)
        )
    )
    closed = EnrolmentFactory(
        cohort=CohortFactory(
            starts_on=today - timedelta(days=400),
            field_starts_on=today - timedelta(days=300),
            ends_on=today,
        )
    )
    later = EnrolmentFactory(
        cohort=CohortFactory(
            starts_on=today - timedelta(days=5),
            field_starts_on=today + timedelta(days=20),
            ends_on=today + timedelta(days=200),
        )
    )
    with app.test_request_context():
        now, shut, soon = progress_of([open_now, closed, later])
    assert now.window_state == "open"
    assert now.days_left == (now.window_ends_on - today).days + 1
    assert (shut.window_state, shut.days_left) == ("closed", 0)
    assert "ช่วงปฏิบัติการสิ้นสุดไปแล้ว" in " ".join(shut.missing)
    assert (soon.window_state, soon.days_until_window) == ("not-open", 20)


def test_learner_home_shows_bars_numbers_countdown_and_next_steps(client, login, db):
    enrolment = EnrolmentFactory()
    approved(enrolment, 1, 360)
    HourLogFactory(enrolment=enrolment, module=module(2), minutes=90)
    login(enrolment.learner)
    page = client.get("/learner").get_data(as_text=True)
    assert "อนุมัติแล้ว 6 จาก 45 ชั่วโมง" in page
    assert '<progress max="360" value="360"' in page
    assert "6 / 6 ชั่วโมง · ครบแล้ว" in page and "รอตรวจ 1.5" in page
    assert "ช่วงปฏิบัติการในพื้นที่: เหลืออีก" in page
    assert "กลุ่มวิชาที่ 2: ยังต้องได้รับอนุมัติอีก 6 ชั่วโมง" in page
    english = client.get("/learner?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "6 of 45 hours approved" in english and "days left" in english


def matrix_rows(page: str) -> list[str]:
    import re

    return re.findall(r'<th scope="row"[^>]*><a href="/enrolments/\d+">([^<]+)</a>', page)


def test_the_cohort_matrix_sorts_and_downloads(client, login, db):
    instructor = InstructorFactory()
    cohort = CohortFactory(instructors=[instructor])
    names = {"ข้าว": 60, "กล้วย": 360, '=HYPERLINK("x")': 120}
    for name, minutes in names.items():
        enrolment = EnrolmentFactory(cohort=cohort, learner=LearnerFactory(full_name_th=name))
        approved(enrolment, 3, minutes)
    login(instructor)
    page = client.get(f"/cohorts/{cohort.id}/progress").get_data(as_text=True)
    assert matrix_rows(page)[0] == "=HYPERLINK(&#34;x&#34;)"
    page = client.get(f"/cohorts/{cohort.id}/progress?sort=module-3&dir=desc").get_data(
        as_text=True
    )
    assert [n for n in matrix_rows(page)][:2] == ["กล้วย", "=HYPERLINK(&#34;x&#34;)"]
    assert 'aria-sort="descending"' in page
    for bad in ("module-99", "module-x", "<script>", "total"):
        assert client.get(f"/cohorts/{cohort.id}/progress?sort={bad}").status_code == 200
    download = client.get(f"/cohorts/{cohort.id}/progress.csv")
    assert download.headers["Content-Type"].startswith("text/csv")
    assert download.headers["Content-Disposition"].startswith("attachment")
    body = download.data.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "ชื่อ" and rows[0][5] == "กลุ่มวิชาที่ 1"
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["กล้วย"][7] == "6"  # module 3 column
    assert '\'=HYPERLINK("x")' in by_name  # a formula is quoted, not run


def test_pages_run_the_same_statements_however_many_learners(client, login, db, count_statements):
    """Learner home, review queue and cohort matrix: a fixed number of SQL statements."""

    def statements(learners: int) -> dict[str, int]:
        instructor = InstructorFactory()
        cohort = CohortFactory(instructors=[instructor])
        enrolments = [EnrolmentFactory(cohort=cohort) for _ in range(learners)]
        session = ClassSessionFactory(cohort=cohort)
        for enrolment in enrolments:
            approved(enrolment, 1, 360, source=LogSource.ATTENDANCE, class_session=session)
            HourLogFactory(enrolment=enrolment, module=module(2), minutes=60)
        pages = {}
        login(enrolments[0].learner)
        with count_statements() as counter:
            assert client.get("/learner").status_code == 200
        pages["learner home"] = counter.count
        login(instructor)
        with count_statements() as counter:
            assert client.get("/review").status_code == 200
        pages["review queue"] = counter.count
        with count_statements() as counter:
            assert client.get(f"/cohorts/{cohort.id}/progress").status_code == 200
        pages["cohort matrix"] = counter.count
        return pages

    few, many = statements(5), statements(50)
    print(f"\nstatements with 5 learners: {few}; with 50: {many}")
    assert few == many
