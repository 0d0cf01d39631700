"""A log's start time, and two logs of one day whose times overlap: the learner may say when
the work began (24-hour clock, Thai digits too); a log that claims the hours of a class session
the learner was credited for is refused; other overlaps are flagged in the review queue and on
the log's page, for the reviewer and the learner."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlalchemy import select

from lca.core.dates import format_day, local_today
from lca.hours.attendance import Mark, record_attendance
from lca.models import AttendanceStatus, AuditEvent, HourLog, LogStatus
from tests.factories import (
    ClassSessionFactory,
    EnrolmentFactory,
    HourLogFactory,
    classroom_form,
    count_rows,
)
from tests.test_review_queue import queue_rows

DAY = local_today() - timedelta(days=10)


def log_at(client, enrolment, starts_at: str, hours: str = "2", lang: str = ""):
    data = classroom_form(enrolment, hours=hours, worked_on=DAY.isoformat(), starts_at=starts_at)
    return client.post(f"/hours/new{lang}", data=data)


def only_log(db) -> HourLog:
    return db.session.scalars(select(HourLog)).one()


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("09:00", time(9, 0)),
        ("9:05", time(9, 5)),
        ("๐๙:๓๐", time(9, 30)),  # Thai digits
        ("13.45 น.", time(13, 45)),  # as Thai writes a time
        ("07:15:00", time(7, 15)),  # a browser's time box with seconds
        ("", None),  # optional
    ],
)
def test_the_start_time_is_kept_as_typed(learner_client, learner_enrolment, db, typed, kept):
    assert log_at(learner_client, learner_enrolment, typed).status_code == 302
    assert only_log(db).starts_at == kept


def test_the_learners_list_of_logs_shows_the_start_time(learner_client, learner_enrolment, db):
    assert log_at(learner_client, learner_enrolment, "9.30").status_code == 302
    assert "ตั้งแต่ 09:30 น." in learner_client.get("/hours").get_data(as_text=True)
    page = learner_client.get("/hours?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "from 09:30" in page


@pytest.mark.parametrize("typed", ["25:00", "9:75", "abc", "24:00", "9", "๙๙:๙๙", "-1:00"])
def test_a_time_that_is_not_one_is_refused_clearly(
    learner_client, learner_enrolment, db, field_error, typed
):
    response = log_at(learner_client, learner_enrolment, typed)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_error(page, "starts_at") == (
        "กรอกเวลาแบบ 24 ชั่วโมง เป็นชั่วโมงและนาที เช่น 09:30 หรือ 14:00"
    )
    assert count_rows(HourLog) == 0
    page = log_at(learner_client, learner_enrolment, typed, lang="?lang=en").get_data(as_text=True)
    assert field_error(page, "starts_at") == (
        "Enter the time on a 24-hour clock, as hours and minutes: 09:30 or 14:00."
    )


def test_the_form_labels_the_time_and_an_edit_keeps_it(
    learner_client, learner_enrolment, db, field_error
):
    page = learner_client.get("/hours/new").get_data(as_text=True)
    assert re.search(r'<label for="starts_at">เริ่มเวลา</label>', page)
    assert 'type="time"' in page and 'id="starts_at-hint"' in page
    log_at(learner_client, learner_enrolment, "08:30")
    log = only_log(db)
    page = learner_client.get(f"/hours/{log.id}").get_data(as_text=True)
    assert "<dt>เวลา</dt><dd>08:30–10:30 น.</dd>" in page
    page = learner_client.get(f"/hours/{log.id}/edit").get_data(as_text=True)
    assert 'value="08:30"' in page
    data = classroom_form(learner_enrolment, worked_on=DAY.isoformat(), starts_at="10:00")
    assert learner_client.post(f"/hours/{log.id}/edit", data=data).status_code == 302
    db.session.refresh(log)
    assert log.starts_at == time(10, 0)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "hour_log.update")
    ).one()
    assert event.details["changes"]["starts_at"] == ["08:30:00", "10:00:00"]


def test_a_log_ends_by_midnight(learner_client, learner_enrolment, db, field_error):
    page = log_at(learner_client, learner_enrolment, "22:30", hours="3").get_data(as_text=True)
    assert field_error(page, "starts_at") == (
        "บันทึกหนึ่งรายการเป็นงานของวันเดียว ซึ่งสิ้นสุดเมื่อเที่ยงคืน เมื่อเริ่มเวลา 22:30 น. "
        "จึงบันทึกได้ไม่เกิน 1.5 ชั่วโมง ชั่วโมงหลังเที่ยงคืนให้บันทึกเป็นของวันถัดไป"
    )
    assert count_rows(HourLog) == 0
    assert log_at(learner_client, learner_enrolment, "22:00", hours="2").status_code == 302


@pytest.fixture
def credited(learner_enrolment, db):
    """The signed-in learner was present at a six-hour session on ``DAY``, 09:00 to 15:00."""
    session = ClassSessionFactory(
        cohort=learner_enrolment.cohort, held_on=DAY, starts_at=time(9, 0), minutes=360
    )
    instructor = EnrolmentFactory().learner  # who marked it does not matter here
    record_attendance(session, [Mark(learner_enrolment.id, AttendanceStatus.PRESENT)], instructor)
    db.session.commit()
    return session


def test_a_log_that_claims_the_hours_of_a_credited_session_is_refused(
    learner_client, learner_enrolment, db, field_error, credited
):
    page = log_at(learner_client, learner_enrolment, "14:00", hours="2").get_data(as_text=True)
    assert field_error(page, "starts_at") == (
        f"วันที่ {format_day(DAY, language='th')} เวลา 09:00–15:00 น. "
        "คุณได้รับการนับชั่วโมงจากการเข้าเรียน (ห้องประชุม) แล้ว "
        "บันทึกนี้จึงนับชั่วโมงช่วงเดียวกันซ้ำไม่ได้ โปรดแก้ไขเวลาเริ่มหรือจำนวนชั่วโมง"
    )
    assert count_rows(HourLog) == 1  # the credit only
    # Before and after the session, or without a time, the log is accepted.
    assert log_at(learner_client, learner_enrolment, "15:00").status_code == 302
    assert log_at(learner_client, learner_enrolment, "07:00").status_code == 302
    assert count_rows(HourLog) == 3
    # Moving one of them into the session is refused too.
    moved = db.session.scalar(select(HourLog).where(HourLog.starts_at == time(7, 0)))
    data = classroom_form(learner_enrolment, worked_on=DAY.isoformat(), starts_at="08:00")
    page = learner_client.post(f"/hours/{moved.id}/edit", data=data).get_data(as_text=True)
    assert "09:00–15:00 น." in field_error(page, "starts_at")
    db.session.refresh(moved)
    assert moved.starts_at == time(7, 0)


def test_a_late_arrival_is_credited_the_end_of_the_session(learner_enrolment, db, learner_client):
    """Marked late with 4 of the session's 6 hours: at the session from 11:00 to 15:00."""
    session = ClassSessionFactory(
        cohort=learner_enrolment.cohort, held_on=DAY, starts_at=time(9, 0), minutes=360
    )
    marker = EnrolmentFactory().learner
    record_attendance(session, [Mark(learner_enrolment.id, AttendanceStatus.LATE, 240)], marker)
    db.session.commit()
    assert log_at(learner_client, learner_enrolment, "09:00").status_code == 302
    assert log_at(learner_client, learner_enrolment, "10:00").status_code == 200  # 10–12


def test_the_queue_flags_each_of_two_logs_whose_times_overlap(instructor_client, teaching, db):
    enrolment = teaching.enrolment
    day = enrolment.cohort.starts_on + timedelta(days=7)
    morning = HourLogFactory(enrolment=enrolment, worked_on=day, starts_at=time(9, 0), minutes=180)
    late_morning = HourLogFactory(
        enrolment=enrolment, worked_on=day, starts_at=time(11, 0), minutes=60
    )
    noon = HourLogFactory(enrolment=enrolment, worked_on=day, starts_at=time(12, 0), minutes=60)
    untimed = HourLogFactory(enrolment=enrolment, worked_on=day, minutes=60)
    # A rejected log over the noon one does not count; another learner's hours are theirs.
    HourLogFactory(
        enrolment=enrolment,
        worked_on=day,
        starts_at=time(12, 0),
        minutes=60,
        status=LogStatus.REJECTED,
    )
    other = HourLogFactory(
        enrolment=EnrolmentFactory(cohort=teaching.cohort),
        worked_on=day,
        starts_at=time(9, 0),
        minutes=180,
    )
    rows = queue_rows(instructor_client.get("/review").get_data(as_text=True))
    assert "09:00–12:00 น." in rows[morning.id]
    assert "เวลาทับซ้อนกับบันทึกอื่นของวันเดียวกัน: 11:00–12:00 น." in rows[morning.id]
    assert "เวลาทับซ้อนกับบันทึกอื่นของวันเดียวกัน: 09:00–12:00 น." in rows[late_morning.id]
    assert 'class="time-overlap"' in rows[morning.id]
    for calm in (noon, untimed, other):
        assert "ทับซ้อน" not in rows[calm.id] and "time-overlap" not in rows[calm.id]
    page = instructor_client.get("/review?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "Overlaps another log of that day: 11:00–12:00" in page


def test_the_queue_flags_a_log_over_an_attendance_credit(instructor_client, teaching, db):
    """The learner logged 10:00 to 12:00 first; the instructor then marked them present at a
    session from 09:00 to 15:00 that day."""
    enrolment = teaching.enrolment
    day = enrolment.cohort.starts_on + timedelta(days=7)
    log = HourLogFactory(enrolment=enrolment, worked_on=day, starts_at=time(10, 0), minutes=120)
    session = ClassSessionFactory(cohort=teaching.cohort, held_on=day, starts_at=time(9, 0))
    record_attendance(session, [Mark(enrolment.id, AttendanceStatus.PRESENT)], teaching.instructor)
    db.session.commit()
    row = queue_rows(instructor_client.get("/review").get_data(as_text=True))[log.id]
    assert "เวลาทับซ้อนกับการเข้าเรียนในวันเดียวกัน: 09:00–15:00 น." in row
    assert "ทั้งวันรวม 8 ชั่วโมง" in row


def test_the_log_page_shows_the_day_and_its_flags(instructor_client, teaching, db, client, login):
    enrolment = teaching.enrolment
    day = enrolment.cohort.starts_on + timedelta(days=7)
    log = HourLogFactory(enrolment=enrolment, worked_on=day, starts_at=time(9, 0), minutes=480)
    other = HourLogFactory(
        enrolment=enrolment,
        worked_on=day,
        starts_at=time(16, 0),
        minutes=300,
        status=LogStatus.APPROVED,
    )
    # the same learner's log in a cohort this instructor does not teach: named, not linked
    elsewhere = HourLogFactory(
        enrolment=EnrolmentFactory(learner=enrolment.learner),
        worked_on=day,
        starts_at=time(8, 0),
        minutes=120,
    )
    page = instructor_client.get(f"/hours/{log.id}").get_data(as_text=True)
    assert "<dt>เวลา</dt><dd>09:00–17:00 น.</dd>" in page
    assert "รวม 15 ชั่วโมง" in page and "เกินเกณฑ์ 12 ชั่วโมงต่อวัน" in page
    link = f'<a href="/hours/{other.id}">16:00–21:00 น.</a>'
    assert f"เวลาทับซ้อนกับบันทึกอื่นของวันเดียวกัน: {link}" in page
    assert "เวลาทับซ้อนกับบันทึกอื่นของวันเดียวกัน: 08:00–10:00 น." in page
    assert f'href="/hours/{elsewhere.id}"' not in page
    page = instructor_client.get(f"/hours/{other.id}?lang=en", follow_redirects=True)
    page = page.get_data(as_text=True)
    assert "15 hours in all" in page
    assert f'Overlaps another log of that day: <a href="/hours/{log.id}">09:00–17:00</a>' in page
    # The learner sees the same on their own log's page, each log linked.
    login(enrolment.learner)
    page = client.get(f"/hours/{log.id}?lang=th", follow_redirects=True).get_data(as_text=True)
    assert f'<a href="/hours/{elsewhere.id}">08:00–10:00 น.</a>' in page
    untimed = HourLogFactory(enrolment=enrolment, worked_on=day + timedelta(days=1))
    page = client.get(f"/hours/{untimed.id}").get_data(as_text=True)
    assert "<dt>เวลา</dt><dd>ไม่ได้ระบุ</dd>" in page and "ทับซ้อน" not in page


def test_overlaps_cost_the_same_statements_for_many_logs(
    instructor_client, teaching, db, count_statements
):
    def measure() -> int:
        with count_statements() as counter:
            page = instructor_client.get("/review").get_data(as_text=True)
        assert page.count("เวลาทับซ้อนกับบันทึกอื่นของวันเดียวกัน") == count_rows(HourLog)
        return counter.count

    def two_overlapping(enrolment, day) -> None:
        for start in (time(9, 0), time(10, 0)):
            HourLogFactory(enrolment=enrolment, worked_on=day, starts_at=start, minutes=120)

    two_overlapping(teaching.enrolment, teaching.cohort.starts_on + timedelta(days=3))
    few = measure()
    for days in range(8):
        other = EnrolmentFactory(cohort=teaching.cohort)
        two_overlapping(other, teaching.cohort.starts_on + timedelta(days=days))
    assert measure() == few
