"""Cohorts: admins create and edit them, assign instructors, enrol and withdraw learners;
instructors see the cohorts they teach; learners see their own cohort."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from lca.cohorts.field_window import set_field_start
from lca.core.dates import add_months
from lca.models import AuditEvent, City, Cohort, Enrolment, EnrolmentStatus, cohort_instructors
from tests.factories import (
    AdminFactory,
    CohortFactory,
    EnrolmentFactory,
    InstructorFactory,
    LearnerFactory,
    ModuleFactory,
    count_rows,
)


def cohort_data(db, **overrides):
    phayao = db.session.scalar(select(City).where(City.code == "phayao"))
    data = {
        "code": "ca-2569-09",
        "host_city_id": str(phayao.id),
        "starts_on": "2026-06-01",
        "ends_on": "2026-12-31",
        "field_starts_on": "2026-07-01",
        "field_window_months": "6",
    }
    return {**data, **overrides}


def test_create_a_cohort(client, admin, db):
    response = client.post("/cohorts/new", data=cohort_data(db))
    assert response.status_code == 302
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == "CA-2569-09"))
    assert cohort.host_city.code == "phayao"
    assert (cohort.starts_on, cohort.field_starts_on) == (date(2026, 6, 1), date(2026, 7, 1))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cohort.create"))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 มิถุนายน 2569" in page  # Buddhist-era dates in Thai


def test_field_start_defaults_to_the_cohort_start(client, admin, db):
    client.post("/cohorts/new", data=cohort_data(db, field_starts_on=""))
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == "CA-2569-09"))
    assert cohort.field_starts_on == cohort.starts_on


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "CA-TAKEN"}, "code", "มีรุ่นอื่นใช้รหัสนี้แล้ว"),
        ({"code": "ca-taken"}, "code", "มีรุ่นอื่นใช้รหัสนี้แล้ว"),
        ({"code": "รุ่นหนึ่ง"}, "code", "ใช้อักษรอังกฤษตัวพิมพ์ใหญ่ ตัวเลข และขีดเท่านั้น"),
        ({"code": ""}, "code", "กรอกรหัสรุ่น"),
        ({"ends_on": "2026-05-31"}, "ends_on", "วันสุดท้ายของรุ่นต้องไม่อยู่ก่อนวันแรก"),
        (
            {"field_starts_on": "2026-05-01"},
            "field_starts_on",
            "ปฏิบัติการในพื้นที่เริ่มก่อนวันเริ่มรุ่น (1 มิถุนายน 2569) ไม่ได้",
        ),
        ({"field_starts_on": "2027-02-01"}, "field_starts_on", "ต้องเริ่มไม่เกินวันสุดท้ายของรุ่น"),
        ({"field_window_months": "0"}, "field_window_months", "ต้องอยู่ระหว่าง 1 ถึง 24 เดือน"),
        ({"field_window_months": "25"}, "field_window_months", "ต้องอยู่ระหว่าง 1 ถึง 24 เดือน"),
        ({"field_window_months": "หก"}, "field_window_months", "ต้องเป็นจำนวนเต็ม"),
        ({"starts_on": "31/02/2026"}, "starts_on", "วันที่ไม่ถูกต้อง"),
        ({"starts_on": ""}, "starts_on", "กรอกวันแรกของรุ่น"),
        ({"host_city_id": "999999"}, "host_city_id", "ตัวเลือกไม่ถูกต้อง"),
    ],
)
def test_bad_cohort_details_are_refused_next_to_the_field(
    client, admin, db, overrides, field, message, field_error
):
    CohortFactory(code="CA-TAKEN")
    before, audit = count_rows(Cohort), count_rows(AuditEvent)
    page = client.post("/cohorts/new", data=cohort_data(db, **overrides)).get_data(as_text=True)
    assert message in field_error(page, field)
    assert (count_rows(Cohort), count_rows(AuditEvent)) == (before, audit)


def test_edit_a_cohort_and_refuse_a_bad_edit(client, admin, db, field_error):
    cohort = CohortFactory()
    response = client.post(f"/cohorts/{cohort.id}/edit", data=cohort_data(db, code="CA-NEW-01"))
    assert response.status_code == 302
    db.session.refresh(cohort)
    assert cohort.code == "CA-NEW-01" and cohort.host_city.code == "phayao"
    page = client.post(
        f"/cohorts/{cohort.id}/edit", data=cohort_data(db, code="CA-NEW-01", ends_on="2026-01-01")
    )
    assert "วันสุดท้ายของรุ่นต้องไม่อยู่ก่อนวันแรก" in field_error(page.get_data(as_text=True), "ends_on")
    db.session.refresh(cohort)
    assert cohort.ends_on == date(2026, 12, 31)


def test_assign_and_remove_instructors(client, admin, db, flashes):
    cohort, instructor, learner = CohortFactory(), InstructorFactory(), LearnerFactory()
    client.post(f"/cohorts/{cohort.id}/instructors", data={"instructor_id": instructor.id})
    query = select(cohort_instructors.c.instructor_id).where(
        cohort_instructors.c.cohort_id == cohort.id
    )
    assert list(db.session.scalars(query)) == [instructor.id]
    # A learner, or an instructor twice, is not an option.
    for wrong in (learner.id, instructor.id, 999999):
        page = client.post(f"/cohorts/{cohort.id}/instructors", data={"instructor_id": wrong})
        assert "ตัวเลือกไม่ถูกต้อง" in page.get_data(as_text=True)
    assert list(db.session.scalars(query)) == [instructor.id]
    client.post(f"/cohorts/{cohort.id}/instructors/{instructor.id}/remove")
    assert list(db.session.scalars(query)) == []
    page = client.post(
        f"/cohorts/{cohort.id}/instructors/{instructor.id}/remove", follow_redirects=True
    ).get_data(as_text=True)
    assert "วิทยากรคนนี้ไม่ได้อยู่ในรุ่นนี้" in flashes(page)


def test_enrol_withdraw_and_enrol_again(client, admin, db, field_error):
    cohort, learner = CohortFactory(), LearnerFactory(email="kanya@example.org")
    response = client.post(f"/cohorts/{cohort.id}/enrolments", data={"email": "Kanya@Example.org"})
    assert response.status_code == 302
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.learner_id == learner.id))
    assert enrolment.status is EnrolmentStatus.ACTIVE
    url = f"/cohorts/{cohort.id}/enrolments/{enrolment.id}/withdraw"
    page = client.post(url, data={"reason": ""}).get_data(as_text=True)
    assert "ระบุเหตุผลของการถอนชื่อ" in field_error(page, "reason")
    db.session.refresh(enrolment)
    assert enrolment.status is EnrolmentStatus.ACTIVE
    client.post(url, data={"reason": "ย้ายไปทำงานจังหวัดอื่น"})
    db.session.refresh(enrolment)
    assert enrolment.status is EnrolmentStatus.WITHDRAWN
    assert enrolment.withdrawal_reason == "ย้ายไปทำงานจังหวัดอื่น"
    client.post(f"/cohorts/{cohort.id}/enrolments", data={"email": "kanya@example.org"})
    db.session.refresh(enrolment)
    assert enrolment.status is EnrolmentStatus.ACTIVE and enrolment.withdrawn_at is None
    actions = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.target_type == "enrolments", AuditEvent.target_id == enrolment.id
        )
    )
    assert list(actions) == ["enrolment.create", "enrolment.withdraw", "enrolment.reinstate"]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("enrolled@example.org", "ผู้เรียนคนนี้ลงทะเบียนในรุ่นนี้แล้ว"),
        ("ENROLLED@example.org", "ผู้เรียนคนนี้ลงทะเบียนในรุ่นนี้แล้ว"),
        ("nobody@example.org", "ไม่มีบัญชีที่ใช้อีเมลนี้"),
        ("teacher@example.org", "บัญชีนี้ไม่ใช่บัญชีผู้เรียน"),
        ("inactive@example.org", "บัญชีนี้ถูกปิดใช้งาน"),
        ("", "กรอกอีเมลของผู้เรียน"),
    ],
)
def test_bad_enrolments_are_refused(client, admin, db, email, message, field_error):
    enrolment = EnrolmentFactory(learner=LearnerFactory(email="enrolled@example.org"))
    InstructorFactory(email="teacher@example.org")
    LearnerFactory(email="inactive@example.org", is_active=False)
    before = count_rows(Enrolment)
    page = client.post(f"/cohorts/{enrolment.cohort_id}/enrolments", data={"email": email})
    assert message in field_error(page.get_data(as_text=True), "email")
    assert count_rows(Enrolment) == before


def test_an_enrolment_of_another_cohort_in_the_url_is_not_found(client, admin, db):
    enrolment, other = EnrolmentFactory(), CohortFactory()
    url = f"/cohorts/{other.id}/enrolments/{enrolment.id}/withdraw"
    assert client.post(url, data={"reason": "x"}).status_code == 404
    db.session.refresh(enrolment)
    assert enrolment.status is EnrolmentStatus.ACTIVE


def test_instructors_see_only_the_cohorts_they_teach(client, login, db):
    instructor = InstructorFactory()
    mine = EnrolmentFactory(cohort=CohortFactory(instructors=[instructor]))
    theirs = EnrolmentFactory(cohort=CohortFactory(instructors=[InstructorFactory()]))
    login(instructor)
    home = client.get("/instructor").get_data(as_text=True)
    assert mine.cohort.code in home and theirs.cohort.code not in home
    listing = client.get("/cohorts/").get_data(as_text=True)
    assert mine.cohort.code in listing and theirs.cohort.code not in listing
    roster = client.get(f"/cohorts/{mine.cohort_id}").get_data(as_text=True)
    assert mine.learner.full_name_th in roster and "ถอนชื่อ</a>" not in roster
    assert client.get(f"/cohorts/{theirs.cohort_id}").status_code == 403


def test_learners_see_their_cohort_and_the_modules(client, login, db):
    enrolment = EnrolmentFactory()
    login(enrolment.learner)
    page = client.get("/learner").get_data(as_text=True)
    assert enrolment.cohort.code in page
    assert "ปฏิบัติการจริงบนพื้นที่" in page and "อนุมัติแล้ว 0 จาก 45 ชั่วโมง" in page


def test_the_field_window_runs_six_months_from_the_field_start(db):
    enrolment = EnrolmentFactory(
        cohort=CohortFactory(field_starts_on=date(2026, 8, 31), starts_on=date(2026, 8, 1))
    )
    assert enrolment.field_window_starts_on == date(2026, 8, 31)
    assert enrolment.field_window_ends_on == date(2027, 2, 27)  # 28 Feb is the 6-month mark
    set_field_start(enrolment, date(2026, 9, 1), AdminFactory())
    assert enrolment.field_window_ends_on == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 7, 1), 6, date(2027, 1, 1)),
        (date(2026, 12, 15), 12, date(2027, 12, 15)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_roster_and_cohort_list_use_a_fixed_number_of_statements(
    client, admin, db, count_statements
):
    cohort = CohortFactory(instructors=[InstructorFactory()])
    EnrolmentFactory(cohort=cohort)

    def measure():
        with count_statements() as counter:
            assert client.get(f"/cohorts/{cohort.id}").status_code == 200
            assert client.get("/cohorts/").status_code == 200
        return counter.count

    few = measure()
    for _ in range(20):
        EnrolmentFactory(cohort=cohort)
        CohortFactory()
    assert measure() == few


def test_schema_refuses_what_the_forms_refuse(db):
    """The rules hold in the database too, not only in Python."""
    from sqlalchemy.exc import IntegrityError

    cohort = CohortFactory()
    bad = [
        lambda: EnrolmentFactory(cohort=cohort, learner=EnrolmentFactory(cohort=cohort).learner),
        lambda: CohortFactory(
            starts_on=date(2026, 6, 1), ends_on=date(2026, 5, 1), field_starts_on=date(2026, 6, 1)
        ),
        lambda: LearnerFactory(email="UPPER@example.org"),
        lambda: LearnerFactory(email=cohort.host_city.code + "@x.org", full_name_th="  "),
        lambda: CohortFactory(code="lower-case"),
        lambda: CohortFactory(field_window_months=0),
        lambda: ModuleFactory(hours=0),
        lambda: ModuleFactory(hours=-3),
    ]
    for make in bad:
        savepoint = db.session.begin_nested()
        with pytest.raises(IntegrityError):
            make()
        savepoint.rollback()


def _block(page: str, start: str, end: str) -> str:
    """The part of ``page`` from the tag holding ``start`` to the next ``end``."""
    found = re.search(rf"{re.escape(start)}.*?{re.escape(end)}", page, re.S)
    assert found, start
    return found.group(0)


def test_each_action_of_the_cohort_page_sits_with_its_input(client, admin, db):
    """Each action is a box of its own: its heading, its input and its button together; the
    import sits with the enrolment, the edit with the dates, the per-learner actions in their
    row; removing an instructor asks first."""
    instructor, spare = InstructorFactory(), InstructorFactory()
    cohort = CohortFactory(instructors=[instructor])
    enrolment = EnrolmentFactory(cohort=cohort)
    page = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    enrol = _block(page, 'aria-labelledby="enrol-heading"', "</p>\n      </div>")
    assert "ลงทะเบียนผู้เรียน" in enrol  # the box's heading
    assert 'name="email"' in enrol and ">ลงทะเบียน</button>" in enrol
    assert f"/admin/cohorts/{cohort.id}/import" in enrol
    assign = _block(page, 'aria-labelledby="assign-heading"', "</form>")
    assert 'name="instructor_id"' in assign and str(spare.id) in assign
    assert "</button>" in assign
    dates = _block(page, 'aria-labelledby="plan-heading"', "</section>")
    assert f"/cohorts/{cohort.id}/edit" in dates
    remove = _block(page, f"/instructors/{instructor.id}/remove", "</form>")
    assert 'class="button button-danger"' in remove and "data-confirm=" in remove
    row = _block(page, f'/enrolments/{enrolment.id}"', "</tr>")
    assert f"/cohorts/{cohort.id}/enrolments/{enrolment.id}/field-window" in row
    assert f"/cohorts/{cohort.id}/enrolments/{enrolment.id}/withdraw" in row
    withdraw = client.get(f"/cohorts/{cohort.id}/enrolments/{enrolment.id}/withdraw")
    button = _block(withdraw.get_data(as_text=True), 'class="button button-danger"', "</button>")
    assert "data-confirm=" in button and "ถอนชื่อ</button>" in button
