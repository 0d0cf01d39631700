"""Sessions and attendance: one form for the roll; present, late, absent and excused credit
hours as approved logs; corrections are audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lca.core.dates import local_today
from lca.models import (
    Attendance,
    AttendanceStatus,
    AuditEvent,
    CheckIn,
    CheckInPoint,
    ClassSession,
    Enrolment,
    HourLog,
    LogSource,
    LogStatus,
    ScanKind,
)
from tests.factories import (
    ClassSessionFactory,
    EnrolmentFactory,
    InstructorFactory,
    count_rows,
    instructor_teaching,
    module,
)


@pytest.fixture
def cohort(client, login, db):
    """A cohort with three learners, its instructor signed in."""
    taught = instructor_teaching(learners=3)
    login(taught.instructor)
    return taught.cohort


def session_data(**overrides):
    data = {
        "module_id": str(module(2).id),
        "held_on": "",
        "starts_at": "09:00",
        "hours": "6",
        "place": "หอประชุมเทศบาล",
    }
    data.update(overrides)
    return data


def test_schedule_a_session(client, cohort, db):
    day = (cohort.starts_on + timedelta(days=3)).isoformat()
    response = client.post(f"/cohorts/{cohort.id}/sessions/new", data=session_data(held_on=day))
    assert response.status_code == 302
    session = db.session.scalar(select(ClassSession))
    assert (session.minutes, session.module.number, session.place) == (360, 2, "หอประชุมเทศบาล")
    assert "หอประชุมเทศบาล" in client.get(f"/cohorts/{cohort.id}/sessions").get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"module_id": "field"}, "module_id", "ตัวเลือกไม่ถูกต้อง"),  # not offered at all
        ({"held_on": "before"}, "held_on", "วันเรียนต้องอยู่ในช่วงของรุ่น"),
        ({"held_on": "after"}, "held_on", "วันเรียนต้องอยู่ในช่วงของรุ่น"),
        ({"hours": "0"}, "hours", "กรอกชั่วโมงมากกว่า 0"),
        ({"hours": "13"}, "hours", "ได้ไม่เกิน 12 ชั่วโมง"),
        ({"hours": "2.2"}, "hours", "ทีละ 15 นาที"),
        ({"place": ""}, "place", "ระบุสถานที่เรียน"),
        ({"starts_at": "25:00"}, "starts_at", "เวลาไม่ถูกต้อง"),
    ],
)
def test_bad_sessions_are_refused(client, cohort, db, overrides, field, message, field_error):
    values = {
        "field": str(module(5).id),
        "before": (cohort.starts_on - timedelta(days=1)).isoformat(),
        "after": (cohort.ends_on + timedelta(days=1)).isoformat(),
    }
    data = session_data(held_on=(cohort.starts_on + timedelta(days=3)).isoformat())
    data.update({k: values.get(v, v) for k, v in overrides.items()})
    page = client.post(f"/cohorts/{cohort.id}/sessions/new", data=data).get_data(as_text=True)
    assert message in field_error(page, field)
    assert count_rows(ClassSession) == 0


def roll(client, session):
    """The attendance form as the page offers it: (field prefix, enrolment id) per row."""
    import re

    page = client.get(f"/sessions/{session.id}/attendance").get_data(as_text=True)
    return re.findall(r'name="(marks-\d+)-enrolment_id" type="hidden" value="(\d+)"', page)


def post_marks(client, session, marks: dict[int, tuple[str, str]]):
    data = {}
    for prefix, enrolment_id in roll(client, session):
        status, hours = marks.get(int(enrolment_id), ("present", ""))
        data.update(
            {
                f"{prefix}-enrolment_id": enrolment_id,
                f"{prefix}-status": status,
                f"{prefix}-hours": hours,
            }
        )
    return client.post(f"/sessions/{session.id}/attendance", data=data)


def credited(db, session) -> dict[int, tuple[str, int]]:
    rows = db.session.execute(
        select(HourLog.enrolment_id, HourLog.status, HourLog.minutes).where(
            HourLog.class_session_id == session.id
        )
    )
    return {enrolment_id: (status.value, minutes) for enrolment_id, status, minutes in rows}


def test_attendance_credits_hours_as_approved_logs(client, cohort, db):
    session = ClassSessionFactory(cohort=cohort)
    present, late, absent = [int(e) for _p, e in roll(client, session)]
    response = post_marks(client, session, {late: ("late", "4.5"), absent: ("absent", "")})
    assert response.status_code == 302
    assert credited(db, session) == {present: ("approved", 360), late: ("approved", 270)}
    log = db.session.scalar(select(HourLog).where(HourLog.enrolment_id == present))
    assert log.source is LogSource.ATTENDANCE and log.status is LogStatus.APPROVED
    assert count_rows(Attendance) == 3
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attendance.record"))
    assert event.details == {"learners": 3}


def test_attendance_corrections_are_audited(client, cohort, db):
    session = ClassSessionFactory(cohort=cohort)
    first, second, third = [int(e) for _p, e in roll(client, session)]
    post_marks(client, session, {})
    post_marks(client, session, {first: ("excused", ""), second: ("late", "2")})
    assert credited(db, session) == {second: ("approved", 120), third: ("approved", 360)}
    corrections = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "attendance.correct")
    ).all()
    assert sorted(c.details["status"][1] for c in corrections) == ["excused", "late"]
    assert {c.details["enrolment_id"] for c in corrections} == {first, second}
    # The form shows what was saved.
    page = client.get(f"/sessions/{session.id}/attendance").get_data(as_text=True)
    import re

    assert re.search(r'<input checked id="marks-\d-status-3"[^>]*value="excused">', page)


@pytest.mark.parametrize(
    ("hours", "message"),
    [("", "มาสาย: กรอกจำนวนชั่วโมงที่จะนับให้"), ("7", "ผู้ที่มาสายได้รับชั่วโมงไม่เกิน 6"), ("1.1", "ทีละ 15 นาที")],
)
def test_bad_late_marks_are_refused_and_nothing_is_saved(client, cohort, db, hours, message):
    session = ClassSessionFactory(cohort=cohort)
    late = int(roll(client, session)[0][1])
    page = post_marks(client, session, {late: ("late", hours)}).get_data(as_text=True)
    assert message in page
    assert (count_rows(Attendance), count_rows(HourLog)) == (0, 0)


def test_attendance_cannot_be_taken_before_the_session(client, cohort, db, flashes):
    session = ClassSessionFactory(cohort=cohort, held_on=local_today() + timedelta(days=2))
    page = post_marks(client, session, {}).get_data(as_text=True)
    assert "บันทึกการเข้าเรียนได้ตั้งแต่วันที่มีการเรียน" in "".join(flashes(page))
    assert count_rows(Attendance) == 0


def test_someone_from_another_cohort_on_the_form_is_refused(client, cohort, db, flashes):
    session = ClassSessionFactory(cohort=cohort)
    stranger = EnrolmentFactory()
    data = {"marks-0-enrolment_id": str(stranger.id), "marks-0-status": "present"}
    page = client.post(f"/sessions/{session.id}/attendance", data=data).get_data(as_text=True)
    assert "มีรายชื่อในแบบฟอร์มที่ไม่ใช่ผู้เรียนของรุ่นนี้" in "".join(flashes(page))
    data["marks-0-enrolment_id"] = "not-a-number"
    page = client.post(f"/sessions/{session.id}/attendance", data=data).get_data(as_text=True)
    assert "มีรายชื่อในแบบฟอร์มที่ไม่ใช่ผู้เรียนของรุ่นนี้" in "".join(flashes(page))
    assert (count_rows(Attendance), count_rows(HourLog)) == (0, 0)


def test_changing_the_session_length_recredits_present_learners(client, cohort, db):
    session = ClassSessionFactory(cohort=cohort)
    first, second, _third = [int(e) for _p, e in roll(client, session)]
    post_marks(client, session, {second: ("late", "5")})
    data = session_data(held_on=session.held_on.isoformat(), module_id=str(module(1).id), hours="4")
    assert client.post(f"/sessions/{session.id}/edit", data=data).status_code == 302
    assert credited(db, session)[first] == ("approved", 240)
    assert credited(db, session)[second] == ("approved", 240)  # late 5 h, capped at 4
    attendance = db.session.scalar(select(Attendance).where(Attendance.enrolment_id == second))
    assert attendance.status is AttendanceStatus.LATE and attendance.minutes == 240


def test_an_instructor_of_another_cohort_cannot_take_attendance(client, login, db):
    session = ClassSessionFactory()
    login(InstructorFactory())
    assert client.get(f"/sessions/{session.id}/attendance").status_code == 403
    assert client.post(f"/sessions/{session.id}/attendance", data={}).status_code == 403


def test_a_new_sheet_marks_nobody_in_advance(client, cohort, db):
    session = ClassSessionFactory(cohort=cohort)
    page = client.get(f"/sessions/{session.id}/attendance").get_data(as_text=True)
    assert len(roll(client, session)) == 3
    assert " checked" not in page
    assert page.count("ยังไม่ระบุ") == 3


def test_all_present_without_javascript_marks_the_rest_and_saves_nothing(client, cohort, db):
    import re

    session = ClassSessionFactory(cohort=cohort)
    rows = roll(client, session)
    data = {f"{prefix}-enrolment_id": enrolment_id for prefix, enrolment_id in rows}
    data[f"{rows[0][0]}-status"] = "absent"  # already chosen: kept
    data["all_present"] = "มาเรียนทุกคน"
    page = client.post(f"/sessions/{session.id}/attendance", data=data).get_data(as_text=True)
    checked = re.findall(r'<input checked id="(marks-\d)-status-\d"[^>]*value="(\w+)"', page)
    assert dict(checked) == {
        rows[0][0]: "absent",
        rows[1][0]: "present",
        rows[2][0]: "present",
    }
    assert "ถูกระบุว่า “มา” แล้ว" in page
    assert (count_rows(Attendance), count_rows(HourLog)) == (0, 0)


def test_unmarked_learners_stay_unmarked_and_are_named(client, cohort, db, flashes):
    session = ClassSessionFactory(cohort=cohort)
    first, second, third = [int(e) for _p, e in roll(client, session)]
    response = post_marks(client, session, {second: ("", ""), third: ("", "")})
    assert response.status_code == 302
    assert credited(db, session) == {first: ("approved", 360)}
    assert count_rows(Attendance) == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    warning = "".join(flashes(page))
    assert "ยังไม่ได้ระบุการเข้าเรียน" in warning
    names = {e.id: e.learner.full_name_th for e in db.session.scalars(select(Enrolment))}
    assert names[second] in warning and names[third] in warning and names[first] not in warning
    assert "ระบุแล้ว 1 จาก 3 คน" in page


def test_a_sheet_with_nobody_marked_is_refused(client, cohort, db, flashes):
    session = ClassSessionFactory(cohort=cohort)
    page = post_marks(client, session, {int(e): ("", "") for _p, e in roll(client, session)})
    assert "ยังไม่ได้ระบุการเข้าเรียนของผู้ใดเลย" in "".join(flashes(page.get_data(as_text=True)))
    assert count_rows(Attendance) == 0


def test_the_sessions_list_shows_which_have_attendance_taken(client, cohort, db):
    taken = ClassSessionFactory(cohort=cohort, place="ห้องประชุมใหญ่")
    ClassSessionFactory(cohort=cohort, place="ลานกิจกรรม")
    post_marks(client, taken, {})
    page = client.get(f"/cohorts/{cohort.id}/sessions").get_data(as_text=True)
    assert "ครบทั้ง 3 คน" in page and "ยังไม่บันทึก" in page


def test_the_late_hours_box_has_a_visible_label(client, cohort, db):
    import re

    session = ClassSessionFactory(cohort=cohort)
    page = client.get(f"/sessions/{session.id}/attendance").get_data(as_text=True)
    for prefix, _enrolment in roll(client, session):
        assert re.search(rf'<label for="{prefix}-hours">ชั่วโมง \(กรณีมาสาย\)<span', page)
    assert 'aria-label="ชั่วโมงที่นับให้' not in page and 'size="5"' not in page


# --------------------------------------------------------------------------- cancelling a session


def test_cancel_a_session(client, cohort, db):
    session = ClassSessionFactory(cohort=cohort)
    response = client.post(f"/sessions/{session.id}/cancel", data={"reason": "  พายุเข้า  "})
    assert response.status_code == 302
    db.session.refresh(session)
    assert session.cancelled_at is not None and session.sequence == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "class_session.cancel"))
    assert (event.target_id, event.details["reason"]) == (session.id, "พายุเข้า")
    page = client.get(f"/cohorts/{cohort.id}/sessions").get_data(as_text=True)
    assert "ยกเลิกแล้ว" in page
    assert f"/sessions/{session.id}/attendance" not in page  # no attendance button


def test_cancelling_needs_a_reason(client, cohort, db, field_error):
    session = ClassSessionFactory(cohort=cohort)
    page = client.post(f"/sessions/{session.id}/cancel", data={"reason": " "})
    assert page.status_code == 200
    assert "ระบุเหตุผลที่ยกเลิกการเรียน" in field_error(page.get_data(as_text=True), "reason")
    db.session.refresh(session)
    assert (session.cancelled_at, session.sequence) == (None, 0)
    assert count_rows(AuditEvent) == 0


def test_a_session_with_attendance_cannot_be_cancelled(client, cohort, db, flashes):
    session = ClassSessionFactory(cohort=cohort)
    post_marks(client, session, {})
    page = client.post(f"/sessions/{session.id}/cancel", data={"reason": "ฝนตก"})
    assert "บันทึกการเข้าเรียนแล้วหรือมีผู้เรียนเช็กอินแล้ว จึงยกเลิกไม่ได้" in "".join(
        flashes(page.get_data(as_text=True))
    )
    db.session.refresh(session)
    assert session.cancelled_at is None


def test_a_session_with_a_check_in_cannot_be_cancelled(client, cohort, db, flashes):
    session = ClassSessionFactory(cohort=cohort)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.cohort_id == cohort.id))
    point = CheckInPoint(class_session_id=session.id, number=1, name="ประตูหน้า")
    db.session.add(point)
    db.session.flush()
    db.session.add(
        CheckIn(
            class_session_id=session.id,
            point_id=point.id,
            enrolment_id=enrolment.id,
            kind=ScanKind.IN,
            step=1,
        )
    )
    db.session.flush()
    page = client.post(f"/sessions/{session.id}/cancel", data={"reason": "ฝนตก"})
    assert "จึงยกเลิกไม่ได้" in "".join(flashes(page.get_data(as_text=True)))
    db.session.refresh(session)
    assert session.cancelled_at is None


def test_a_cancelled_session_is_neither_cancelled_again_changed_nor_attended(
    client, cohort, db, flashes
):
    session = ClassSessionFactory(cohort=cohort)
    client.post(f"/sessions/{session.id}/cancel", data={"reason": "พายุเข้า"})
    refused = "การเรียนนี้ถูกยกเลิกเมื่อ"

    page = client.post(f"/sessions/{session.id}/cancel", data={"reason": "อีกครั้ง"})
    assert refused in "".join(flashes(page.get_data(as_text=True)))
    data = session_data(held_on=session.held_on.isoformat(), module_id=str(module(1).id))
    page = client.post(f"/sessions/{session.id}/edit", data=data).get_data(as_text=True)
    assert refused in "".join(flashes(page))
    db.session.refresh(session)
    assert session.place == "ห้องประชุม"
    assert refused in client.get(f"/sessions/{session.id}/attendance").get_data(as_text=True)
    page = post_marks(client, session, {}).get_data(as_text=True)
    assert refused in "".join(flashes(page))
    db.session.refresh(session)
    assert (count_rows(Attendance), count_rows(HourLog), session.sequence) == (0, 0, 1)


def test_a_change_a_calendar_shows_is_a_new_version_of_the_session(client, cohort, db):
    session = ClassSessionFactory(cohort=cohort)
    data = session_data(held_on=session.held_on.isoformat(), module_id=str(module(1).id))
    client.post(f"/sessions/{session.id}/edit", data=data)  # the place and the module
    assert sequence(db, session) == 1
    client.post(f"/sessions/{session.id}/edit", data=data)  # nothing changed
    assert sequence(db, session) == 1
    client.post(f"/sessions/{session.id}/edit", data={**data, "starts_at": "10:00"})
    assert sequence(db, session) == 2


def sequence(db, session) -> int:
    db.session.refresh(session)
    return session.sequence
