"""A learner's day holds at most 12 hours across all their logs and attendance credits: the
log (new or changed) that would take the day over is refused, saying what the day holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lca.core.dates import format_day, local_today
from lca.core.errors import RuleError
from lca.hours.attendance import Mark, SessionPlan, record_attendance, update_session
from lca.models import AttendanceStatus, HourLog, LogSource, LogStatus
from tests.factories import (
    ClassSessionFactory,
    EnrolmentFactory,
    HourLogFactory,
    classroom_form,
    count_rows,
    instructor_teaching,
    module,
)

#: the day every log of these tests is for
DAY = local_today() - timedelta(days=10)


@pytest.fixture
def enrolment(learner_enrolment, db):
    """The enrolment of the learner signed in on ``client``."""
    return learner_enrolment


def log_hours(client, enrolment, hours: str):
    data = classroom_form(enrolment, hours=hours, worked_on=DAY.isoformat())
    return client.post("/hours/new", data=data)


def day_total(db, enrolment) -> int:
    return db.session.scalar(
        select(func.sum(HourLog.minutes)).where(
            HourLog.enrolment_id == enrolment.id, HourLog.worked_on == DAY
        )
    )


def test_a_full_day_is_said_with_the_forms_other_problems(
    learner_client, enrolment, db, field_error
):
    """A log with an empty description on a day that is already full shows both problems at
    once, not the day only after the description is fixed."""
    HourLogFactory(enrolment=enrolment, worked_on=DAY, minutes=600, status=LogStatus.APPROVED)
    data = classroom_form(enrolment, hours="3", worked_on=DAY.isoformat(), description="")
    page = learner_client.post("/hours/new", data=data).get_data(as_text=True)
    assert "อยู่แล้ว 10 ชั่วโมง" in field_error(page, "hours")
    assert field_error(page, "description")
    assert count_rows(HourLog) == 1


def test_three_then_ten_then_twelve_hours_on_one_day(learner_client, enrolment, db, field_error):
    """The field test's three logs of 3, 10 and 12 hours: only the first fits the day."""
    assert log_hours(learner_client, enrolment, "3").status_code == 302
    page = log_hours(learner_client, enrolment, "10").get_data(as_text=True)
    message = field_error(page, "hours")
    held = "มีชั่วโมงจากบันทึกและการเข้าเรียนของคุณอยู่แล้ว 3 ชั่วโมง"
    assert f"วันที่ {format_day(DAY, language='th')} {held}" in message
    assert "เพิ่มได้อีกไม่เกิน 9 ชั่วโมง" in message
    page = log_hours(learner_client, enrolment, "12").get_data(as_text=True)
    assert "อยู่แล้ว 3 ชั่วโมง" in field_error(page, "hours")
    assert count_rows(HourLog) == 1
    assert log_hours(learner_client, enrolment, "9").status_code == 302  # exactly 12
    page = log_hours(learner_client, enrolment, "0.25").get_data(as_text=True)
    assert "อยู่แล้ว 12 ชั่วโมง" in field_error(page, "hours")
    assert "จึงเพิ่มชั่วโมงในวันนั้นอีกไม่ได้" in field_error(page, "hours")
    assert day_total(db, enrolment) == 720


def test_the_message_in_english(learner_client, enrolment, db, field_error):
    HourLogFactory(enrolment=enrolment, worked_on=DAY, minutes=600)
    page = learner_client.post(
        "/hours/new?lang=en", data=classroom_form(enrolment, hours="3", worked_on=DAY.isoformat())
    ).get_data(as_text=True)
    assert field_error(page, "hours") == (
        f"{format_day(DAY, language='en')} already holds 10 hours of your logs and attendance; "
        "a day holds at most 12 hours, so you can add at most 2 more for that day."
    )


@pytest.mark.parametrize(
    ("status", "source", "counted"),
    [
        (LogStatus.PENDING, LogSource.LEARNER, True),
        (LogStatus.RETURNED, LogSource.LEARNER, True),
        (LogStatus.APPROVED, LogSource.LEARNER, True),
        (LogStatus.APPROVED, LogSource.ATTENDANCE, True),
        (LogStatus.REJECTED, LogSource.LEARNER, False),
        (LogStatus.WITHDRAWN, LogSource.LEARNER, False),
    ],
)
def test_what_a_day_holds(learner_client, enrolment, db, field_error, status, source, counted):
    session = None
    if source is LogSource.ATTENDANCE:
        session = ClassSessionFactory(cohort=enrolment.cohort, held_on=DAY)
    HourLogFactory(
        enrolment=enrolment,
        worked_on=DAY,
        minutes=600,
        status=status,
        source=source,
        class_session=session,
    )
    page = log_hours(learner_client, enrolment, "3").get_data(as_text=True)
    if counted:
        assert "อยู่แล้ว 10 ชั่วโมง" in field_error(page, "hours")
        assert count_rows(HourLog) == 1
    else:  # the day holds the 3 hours only
        page = log_hours(learner_client, enrolment, "10").get_data(as_text=True)
        assert "อยู่แล้ว 3 ชั่วโมง" in field_error(page, "hours")
        assert count_rows(HourLog) == 2


def test_every_cohort_of_the_learner_shares_one_day(learner_client, enrolment, db):
    other = EnrolmentFactory(learner=enrolment.learner)
    HourLogFactory(enrolment=other, worked_on=DAY, minutes=600)
    assert log_hours(learner_client, enrolment, "3").status_code == 200
    assert log_hours(learner_client, enrolment, "2").status_code == 302
    # Another learner's day is theirs.
    HourLogFactory(worked_on=DAY, minutes=720)
    assert log_hours(learner_client, enrolment, "0.25").status_code == 200


def test_an_edit_or_resubmission_that_overfills_the_day_is_refused(
    learner_client, enrolment, db, field_error
):
    HourLogFactory(enrolment=enrolment, worked_on=DAY, minutes=480, status=LogStatus.APPROVED)
    returned = HourLogFactory(enrolment=enrolment, worked_on=DAY, minutes=120)
    returned.status = LogStatus.RETURNED
    db.session.flush()
    data = classroom_form(enrolment, hours="5", worked_on=DAY.isoformat())
    page = learner_client.post(f"/hours/{returned.id}/edit", data=data).get_data(as_text=True)
    assert "อยู่แล้ว 8 ชั่วโมง" in field_error(page, "hours")  # the log itself is not counted
    db.session.refresh(returned)
    assert (returned.status, returned.minutes) == (LogStatus.RETURNED, 120)
    data["hours"] = "4"
    assert learner_client.post(f"/hours/{returned.id}/edit", data=data).status_code == 302
    db.session.refresh(returned)
    assert (returned.status, returned.minutes) == (LogStatus.PENDING, 240)
    # Moved to a full day: refused too.
    HourLogFactory(enrolment=enrolment, worked_on=DAY - timedelta(days=1), minutes=720)
    data.update(worked_on=(DAY - timedelta(days=1)).isoformat(), hours="1")
    page = learner_client.post(f"/hours/{returned.id}/edit", data=data).get_data(as_text=True)
    assert "อยู่แล้ว 12 ชั่วโมง" in field_error(page, "hours")


def test_a_day_already_over_the_limit_accepts_a_change_that_adds_nothing(
    learner_client, enrolment, db
):
    """Logs from before the rule may overfill a day: their learner may still correct a
    description or lower the hours, but not add any."""
    HourLogFactory(enrolment=enrolment, worked_on=DAY, minutes=600)
    old = HourLogFactory(enrolment=enrolment, worked_on=DAY, minutes=600)
    data = classroom_form(enrolment, hours="10", worked_on=DAY.isoformat())
    data["description"] = "แก้คำอธิบายให้ถูกต้อง"
    assert learner_client.post(f"/hours/{old.id}/edit", data=data).status_code == 302
    data["hours"] = "10.25"
    assert learner_client.post(f"/hours/{old.id}/edit", data=data).status_code == 200
    db.session.refresh(old)
    assert (old.minutes, old.description) == (600, "แก้คำอธิบายให้ถูกต้อง")


# --------------------------------------------------------------------------- attendance


@pytest.fixture
def session_day(db):
    """A six-hour session on ``DAY``, its instructor and one learner with 8 hours logged."""
    taught = instructor_teaching()
    instructor, enrolment = taught.instructor, taught.enrolment
    session = ClassSessionFactory(cohort=enrolment.cohort, held_on=DAY, module=module(2))
    HourLogFactory(enrolment=enrolment, worked_on=DAY, minutes=480)
    db.session.flush()
    return session, enrolment, instructor


def test_attendance_that_would_overfill_a_day_is_refused_naming_the_learner(db, session_day):
    session, enrolment, instructor = session_day
    with pytest.raises(RuleError) as refused:
        record_attendance(session, [Mark(enrolment.id, AttendanceStatus.PRESENT)], instructor)
    assert enrolment.learner.full_name_th in refused.value.message
    assert "already holds 8 hours" in refused.value.message
    assert "credit at most 4 hours" in refused.value.message
    db.session.rollback()


def test_a_late_mark_within_the_day_is_credited_and_can_be_saved_again(db, session_day):
    session, enrolment, instructor = session_day
    record_attendance(session, [Mark(enrolment.id, AttendanceStatus.LATE, 240)], instructor)
    record_attendance(session, [Mark(enrolment.id, AttendanceStatus.LATE, 240)], instructor)
    credit = db.session.scalar(select(HourLog).where(HourLog.class_session_id == session.id))
    assert (credit.minutes, credit.status) == (240, LogStatus.APPROVED)
    # The day is full now: the learner cannot log more on it.
    with pytest.raises(RuleError, match="12"):
        record_attendance(session, [Mark(enrolment.id, AttendanceStatus.LATE, 300)], instructor)


def test_moving_a_session_onto_a_full_day_is_refused(db, session_day):
    session, enrolment, instructor = session_day
    session.held_on = DAY - timedelta(days=1)
    db.session.flush()
    record_attendance(session, [Mark(enrolment.id, AttendanceStatus.PRESENT)], instructor)
    plan = SessionPlan(session.module, DAY, session.starts_at, session.minutes, session.place)
    with pytest.raises(RuleError) as refused:
        update_session(session, plan, instructor)
    assert enrolment.learner.full_name_th in refused.value.message
    assert "already holds 8 hours" in refused.value.message


def test_the_attendance_sheet_names_the_learner_whose_day_is_full(
    client, login, db, session_day, flashes
):
    session, enrolment, instructor = session_day
    login(instructor)
    data = {"marks-0-enrolment_id": str(enrolment.id), "marks-0-status": "present"}
    page = client.post(f"/sessions/{session.id}/attendance", data=data).get_data(as_text=True)
    text = "".join(flashes(page))
    assert enrolment.learner.full_name_th in text and "อยู่แล้ว 8 ชั่วโมง" in text
    assert "นับให้ได้อีกไม่เกิน 4 ชั่วโมง" in text
    assert count_rows(HourLog) == 1  # only the learner's own 8 hours
    data.update({"marks-0-status": "late", "marks-0-hours": "4"})
    assert client.post(f"/sessions/{session.id}/attendance", data=data).status_code == 302
    assert day_total(db, enrolment) == 720
