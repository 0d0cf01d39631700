"""Self check-in: a learner scans a session's rotating code to check in and again to check out;
the hours from check-in to check-out are credited as approved attendance, on the quarter-hour
grid and capped at the session; the codes cannot be used from a sofa."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from lca.check_in.codes import code_for, current_step
from lca.check_in.desk import ensure_points
from lca.core.dates import programme_timezone
from lca.core.db import utcnow
from lca.models import (
    Attendance,
    AttendanceStatus,
    AuditEvent,
    CheckIn,
    CheckInPoint,
    HourLog,
    LogSource,
    LogStatus,
    ScanKind,
)
from tests.factories import (
    PASSWORD,
    ClassSessionFactory,
    EnrolmentFactory,
    HourLogFactory,
    LearnerFactory,
    count_rows,
    instructor_teaching,
    module,
)


def session_now(cohort, started_minutes_ago: int = 10, minutes: int = 120, **fields):
    """A session of the cohort that started ``started_minutes_ago`` (negative: starts later)."""
    start = datetime.now(programme_timezone()) - timedelta(minutes=started_minutes_ago)
    return ClassSessionFactory(
        cohort=cohort,
        module=module(2),
        held_on=start.date(),
        starts_at=start.time().replace(second=0, microsecond=0),
        minutes=minutes,
        place="หอประชุมเทศบาลนครพะเยา",
        **fields,
    )


@pytest.fixture
def taught(db):
    return instructor_teaching(learners=3)


@pytest.fixture
def session(taught, db):
    found = session_now(taught.cohort)
    ensure_points(found)
    db.session.commit()
    return found


def fresh(db, row):
    """The row as the database holds it now (the app's requests wrote it)."""
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def point_of(session, number: int = 1) -> CheckInPoint:
    from lca.core.db import db

    return db.session.scalar(
        select(CheckInPoint).where(
            CheckInPoint.class_session_id == session.id, CheckInPoint.number == number
        )
    )


def link(session, number: int = 1, steps_back: int = 0) -> str:
    return f"/c/{code_for(point_of(session, number), current_step() - steps_back)}"


def scan(client, session, number: int = 1, steps_back: int = 0):
    """Scan the point's code now; the answer of the link it leads to."""
    first = client.get(link(session, number, steps_back))
    if first.status_code != 302:
        return first
    return client.get(first.headers["Location"])


def events(db, enrolment):
    return db.session.scalars(
        select(CheckIn).where(CheckIn.enrolment_id == enrolment.id).order_by(CheckIn.id)
    ).all()


def back_in_time(db, enrolment, minutes: int) -> None:
    """As if the learner's scans so far were made ``minutes`` earlier."""
    for event in events(db, enrolment):
        event.at = event.at - timedelta(minutes=minutes)
    db.session.commit()


def check_out(client, session, number: int = 1):
    """Scan again and press "Check out"."""
    first = client.get(link(session, number))
    assert first.status_code == 302
    page = client.get(first.headers["Location"])
    assert page.status_code == 200, page.get_data(as_text=True)
    assert 'value="out"' in page.get_data(as_text=True)
    carried = parse_qs(urlsplit(first.headers["Location"]).query)["scan"][0]
    return client.post("/check-in", data={"scan": carried, "direction": "out"})


def credit(db, session, enrolment):
    return db.session.scalar(
        select(Attendance).where(
            Attendance.class_session_id == session.id, Attendance.enrolment_id == enrolment.id
        )
    )


def test_a_scan_checks_in_and_a_second_scan_checks_out_with_the_hours_on_the_grid(
    client, login, db, taught, session
):
    enrolment = taught.enrolment
    login(enrolment.learner)
    answer = scan(client, session)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/sessions/{session.id}/my-check-in"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    [checked_in] = events(db, enrolment)
    assert checked_in.kind is ScanKind.IN and checked_in.step is not None
    clock = checked_in.at.astimezone(programme_timezone()).strftime("%H:%M")
    assert f"เวลา {clock}" in page or clock in page
    assert credit(db, session, enrolment) is None  # nothing until the check-out

    back_in_time(db, enrolment, 67)  # an hour and seven minutes later
    assert check_out(client, session).status_code == 302
    attendance = credit(db, session, enrolment)
    assert (attendance.minutes, attendance.status, attendance.by_check_in) == (
        60,
        AttendanceStatus.LATE,
        True,
    )
    log = db.session.scalar(select(HourLog).where(HourLog.class_session_id == session.id))
    assert (log.minutes, log.status, log.source) == (60, LogStatus.APPROVED, LogSource.ATTENDANCE)
    mine = client.get(f"/sessions/{session.id}/my-check-in").get_data(as_text=True)
    assert "1 ชั่วโมง" in mine


def test_the_stay_is_capped_at_the_session(client, login, db, taught):
    session = session_now(taught.cohort, started_minutes_ago=20, minutes=60)
    ensure_points(session)
    db.session.commit()
    login(taught.enrolment.learner)
    scan(client, session)
    back_in_time(db, taught.enrolment, 200)
    check_out(client, session)
    attendance = credit(db, session, taught.enrolment)
    assert (attendance.minutes, attendance.status) == (60, AttendanceStatus.PRESENT)


def test_a_signed_out_phone_signs_in_and_the_scan_is_not_lost(client, db, taught, session):
    learner = taught.enrolment.learner
    first = client.get(link(session))
    carried = client.get(first.headers["Location"])
    assert carried.status_code == 302 and "/login?next=" in carried.headers["Location"]
    signed_in = client.post(
        carried.headers["Location"], data={"email": learner.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"].startswith("/check-in?scan=")
    done = client.get(signed_in.headers["Location"])
    assert done.headers["Location"] == f"/sessions/{session.id}/my-check-in"
    assert [e.kind for e in events(db, taught.enrolment)] == [ScanKind.IN]


def test_a_forwarded_link_checks_no_one_in(app, client, login, db, taught, session):
    first = client.get(link(session))
    friend = app.test_client()
    _sign_in(friend, taught.enrolments[1].learner)
    answer = friend.get(first.headers["Location"])
    assert answer.status_code == 200  # a page saying so: nothing happened
    assert "ไม่มีการเช็กอินที่รออยู่" in answer.get_data(as_text=True)
    assert count_rows(CheckIn) == 0


def _sign_in(client, user):
    from lca.auth.sessions import start_session
    from lca.core.db import db

    token = start_session(user)
    db.session.commit()
    with client.session_transaction() as kept:
        kept["_user_id"] = token
        kept["_fresh"] = True


def test_the_previous_code_is_still_good_and_an_older_one_has_expired(
    client, login, db, taught, session
):
    login(taught.enrolment.learner)
    expired = scan(client, session, steps_back=2)
    assert expired.status_code == 400
    assert "หมดอายุ" in expired.get_data(as_text=True)
    assert count_rows(CheckIn) == 0
    assert scan(client, session, steps_back=1).status_code == 302
    assert count_rows(CheckIn) == 1


@pytest.mark.parametrize(
    "code",
    [
        "not-a-code",
        "1-2-3",
        "99999999-1-AAAAAAAAAAAAAAAA",
        "999999999999-1-AAAAAAAAAAAAAAAA",
        "1-99999999999-AAAAAAAAAAAAAAAA",
        "%00%0a-1-AAAAAAAAAAAAAAAA",
        "1-1-" + "A" * 500,
    ],
)
def test_garbage_codes_are_refused_plainly(client, db, session, code):
    answer = client.get(f"/c/{code}")
    assert answer.status_code in (400, 404)
    assert count_rows(CheckIn) == 0


def test_a_forged_code_and_a_code_signed_for_another_point_are_refused(
    client, login, db, taught, session
):
    login(taught.enrolment.learner)
    good = code_for(point_of(session), current_step())
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    other = session_now(taught.cohort, started_minutes_ago=5)
    [other_point] = ensure_points(other)
    db.session.commit()
    borrowed = f"{other_point.id}-{good.split('-', 1)[1]}"  # this point's signature, that id
    for code in (forged, borrowed):
        answer = client.get(f"/c/{code}")
        assert answer.status_code == 400
        assert "ไม่ใช่รหัสเช็กอิน" in answer.get_data(as_text=True)
    assert count_rows(CheckIn) == 0


def test_a_learner_of_another_cohort_is_refused(client, login, db, session):
    stranger = EnrolmentFactory()
    login(stranger.learner)
    answer = scan(client, session)
    assert answer.status_code == 403
    assert session.cohort.code in answer.get_data(as_text=True)
    assert count_rows(CheckIn) == 0


def test_a_withdrawn_learner_is_refused(client, login, db, taught, session):
    from lca.models import EnrolmentStatus

    taught.enrolment.status, taught.enrolment.withdrawn_at = EnrolmentStatus.WITHDRAWN, utcnow()
    db.session.commit()
    login(taught.enrolment.learner)
    assert scan(client, session).status_code == 403
    assert count_rows(CheckIn) == 0


def test_staff_scanning_is_told_to_mark_by_hand(client, login, db, taught, session):
    login(taught.instructor)
    answer = scan(client, session)
    assert answer.status_code == 403
    assert "บัญชีผู้เรียน" in answer.get_data(as_text=True) or "สำหรับผู้เรียน" in answer.get_data(
        as_text=True
    )
    assert count_rows(CheckIn) == 0


@pytest.mark.parametrize(
    ("started_minutes_ago", "minutes", "message"),
    [
        (-45, 60, "30 นาที"),  # starts in 45 minutes: check-in opens in 15
        (130, 120, "สิ้นสุด"),  # ended 10 minutes ago
    ],
)
def test_a_scan_outside_the_session_time_is_refused(
    client, login, db, taught, started_minutes_ago, minutes, message
):
    session = session_now(taught.cohort, started_minutes_ago=started_minutes_ago, minutes=minutes)
    ensure_points(session)
    db.session.commit()
    login(taught.enrolment.learner)
    answer = scan(client, session)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert count_rows(CheckIn) == 0


def test_check_in_opens_thirty_minutes_before_the_start(client, login, db, taught):
    session = session_now(taught.cohort, started_minutes_ago=-25)
    ensure_points(session)
    db.session.commit()
    login(taught.enrolment.learner)
    assert scan(client, session).status_code == 302
    assert count_rows(CheckIn) == 1


def test_after_closing_no_scan_counts_and_reopening_lets_them_in(
    client, login, db, taught, session
):
    login(taught.instructor)
    closed = client.post(f"/sessions/{session.id}/check-in/close", follow_redirects=True)
    assert "ปิดการเช็กอินแล้ว" in closed.get_data(as_text=True), closed.get_data(as_text=True)[-3000:]
    assert fresh(db, session).check_in_closed_at is not None
    login(taught.enrolment.learner)
    closed = scan(client, session)
    assert closed.status_code == 400
    assert "ปิดการเช็กอิน" in closed.get_data(as_text=True)
    login(taught.instructor)
    client.post(f"/sessions/{session.id}/check-in/reopen")
    login(taught.enrolment.learner)
    assert scan(client, session).status_code == 302
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"check_in.close", "check_in.reopen"} <= set(actions)


def test_a_cancelled_session_takes_no_check_in(client, login, db, taught, session):
    session.cancelled_at = utcnow()
    db.session.commit()
    login(taught.enrolment.learner)
    assert scan(client, session).status_code == 400
    assert count_rows(CheckIn) == 0


def test_a_double_scan_within_seconds_is_one_check_in(client, login, db, taught, session):
    login(taught.enrolment.learner)
    scan(client, session)
    again = scan(client, session)
    assert again.status_code == 200  # checked in already: offered the check-out
    assert 'value="out"' in again.get_data(as_text=True)
    assert [e.kind for e in events(db, taught.enrolment)] == [ScanKind.IN]


def test_the_code_used_to_check_out_cannot_check_in_again(client, login, db, taught, session):
    login(taught.enrolment.learner)
    scan(client, session)
    back_in_time(db, taught.enrolment, 30)
    check_out(client, session)
    replay = scan(client, session)
    assert replay.status_code == 400
    assert "เช็กเอาต์ด้วยรหัสนี้" in replay.get_data(as_text=True)
    assert [e.kind for e in events(db, taught.enrolment)] == [ScanKind.IN, ScanKind.OUT]
    # the next code (a new step) checks in again: a learner coming back
    next_code = code_for(point_of(session), current_step() + 1)
    from lca.check_in import scans

    answer = scans.read_code(next_code)
    assert answer is not None


def test_the_same_code_from_another_device_of_the_same_learner_is_refused(
    app, client, login, db, taught, session
):
    learner = taught.enrolment.learner
    login(learner)
    code = link(session)
    first = client.get(code)
    client.get(first.headers["Location"])
    phone = app.test_client()
    _sign_in(phone, learner)
    second = phone.get(code)
    answer = phone.get(second.headers["Location"])
    assert answer.status_code == 403
    assert "อุปกรณ์อื่น" in answer.get_data(as_text=True)
    assert len(events(db, taught.enrolment)) == 1


def test_the_server_clock_decides_not_the_phone(client, login, db, taught, session):
    login(taught.enrolment.learner)
    before = utcnow()
    first = client.get(link(session), headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"})
    client.get(first.headers["Location"], headers={"Date": "Mon, 01 Jan 2035 00:00:00 GMT"})
    [checked_in] = events(db, taught.enrolment)
    assert before - timedelta(seconds=2) <= checked_in.at <= utcnow()


def test_no_check_out_credits_nothing_until_the_roster_is_confirmed(client, login, db, taught):
    session = session_now(taught.cohort, started_minutes_ago=100, minutes=120)
    ensure_points(session)
    db.session.commit()
    login(taught.enrolment.learner)
    scan(client, session)
    login(taught.instructor)
    early = client.post(f"/sessions/{session.id}/check-in/confirm", follow_redirects=True)
    assert "ยืนยันรายชื่อได้เมื่อ" in early.get_data(as_text=True)
    assert credit(db, session, taught.enrolment) is None
    session = fresh(db, session)
    client.post(f"/sessions/{session.id}/check-in/close")
    confirmed = client.post(f"/sessions/{session.id}/check-in/confirm")
    assert confirmed.status_code == 302
    attendance = credit(db, session, taught.enrolment)
    assert (attendance.minutes, attendance.status) == (120, AttendanceStatus.PRESENT)
    # the others, never checked in, are credited nothing
    assert count_rows(Attendance) == 1
    assert "check_in.confirm_roster" in db.session.scalars(select(AuditEvent.action)).all()


def test_a_festival_day_runs_from_the_first_check_in_to_the_last_check_out(
    client, login, db, taught
):
    session = session_now(taught.cohort, started_minutes_ago=150, minutes=240)
    ensure_points(session)
    db.session.commit()
    login(taught.instructor)
    client.post(f"/sessions/{session.id}/check-in/points", data={"name": "บูธธนาคารขยะ"})
    client.post(f"/sessions/{session.id}/check-in/points", data={"name": "เวทีเสวนา"})
    login(taught.enrolment.learner)
    scan(client, session, 1)
    back_in_time(db, taught.enrolment, 40)
    scan(client, session, 2)  # moves on to the booth: checked out of the door at that moment
    back_in_time(db, taught.enrolment, 50)
    scan(client, session, 3)
    kinds = [(e.kind, point_number(db, e)) for e in events(db, taught.enrolment)]
    assert kinds == [
        (ScanKind.IN, 1),
        (ScanKind.OUT, 1),
        (ScanKind.IN, 2),
        (ScanKind.OUT, 2),
        (ScanKind.IN, 3),
    ]
    back_in_time(db, taught.enrolment, 20)
    check_out(client, session, 3)
    attendance = credit(db, session, taught.enrolment)
    assert attendance.minutes == 105  # 40 + 50 + 20 minutes, on the grid
    log = db.session.scalar(select(HourLog).where(HourLog.class_session_id == session.id))
    assert "บูธธนาคารขยะ" in log.description and "เวทีเสวนา" in log.description
    mine = client.get(f"/sessions/{session.id}/my-check-in").get_data(as_text=True)
    assert "บูธธนาคารขยะ" in mine


def point_number(db, event) -> int:
    return db.session.get(CheckInPoint, event.point_id).number


def test_the_day_holds_twelve_hours_with_check_ins(client, login, db, taught):
    session = session_now(taught.cohort, started_minutes_ago=150, minutes=180)
    ensure_points(session)
    HourLogFactory(
        enrolment=taught.enrolment,
        module=module(1),
        worked_on=session.held_on,
        minutes=11 * 60,
        status=LogStatus.APPROVED,
    )
    db.session.commit()
    login(taught.enrolment.learner)
    scan(client, session)
    back_in_time(db, taught.enrolment, 120)
    done = check_out(client, session)
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "12 ชั่วโมง" in page
    assert credit(db, session, taught.enrolment).minutes == 60


def test_a_session_that_checks_where_phones_are(client, login, db, taught, session):
    login(taught.instructor)
    saved = client.post(
        f"/sessions/{session.id}/check-in/place",
        data={"latitude": "19.166700", "longitude": "99.901900", "metres": "200"},
    )
    assert saved.status_code == 302
    login(taught.enrolment.learner)
    first = client.get(link(session))
    asked = client.get(first.headers["Location"])
    assert asked.status_code == 200
    assert "data-share-place" in asked.get_data(as_text=True)
    assert count_rows(CheckIn) == 0
    carried = parse_qs(urlsplit(first.headers["Location"]).query)["scan"][0]
    for position in (
        {},
        {"latitude": "nan", "longitude": "1"},
        {"latitude": "13.7563", "longitude": "100.5018"},
    ):
        refused = client.post("/check-in", data={"scan": carried, "direction": "in", **position})
        assert refused.status_code == 200
        assert count_rows(CheckIn) == 0
    far = client.post(
        "/check-in",
        data={"scan": carried, "direction": "in", "latitude": "13.7563", "longitude": "100.5018"},
    )
    assert "เมตร" in far.get_data(as_text=True)
    near = client.post(
        "/check-in",
        data={"scan": carried, "direction": "in", "latitude": "19.1672", "longitude": "99.9021"},
    )
    assert near.status_code == 302
    [checked_in] = events(db, taught.enrolment)
    assert checked_in.location == "inside"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"latitude": "", "longitude": "", "metres": "200"}, "ละติจูด"),
        ({"latitude": "95", "longitude": "99", "metres": "200"}, "-90"),
        ({"latitude": "19.1", "longitude": "99.9", "metres": "5"}, "20"),
        ({"latitude": "abc", "longitude": "99.9", "metres": "200"}, "ตัวเลขไม่ถูกต้อง"),
        ({"latitude": "sNaN", "longitude": "99.9", "metres": "200"}, "ตัวเลขไม่ถูกต้อง"),
        ({"latitude": "19.1", "longitude": "-Infinity", "metres": "200"}, "ตัวเลขไม่ถูกต้อง"),
        ({"latitude": "19.1", "longitude": "99.9", "metres": "99999999999999"}, "5000"),
    ],
)
def test_a_bad_place_check_is_refused_with_its_reason(
    client, login, db, taught, session, data, message
):
    login(taught.instructor)
    answer = client.post(f"/sessions/{session.id}/check-in/place", data=data)
    assert answer.status_code == 200
    assert message in answer.get_data(as_text=True)
    assert fresh(db, session).geofence_metres is None


def test_the_instructor_marks_by_hand_audited(client, login, db, taught, session):
    login(taught.instructor)
    enrolment = taught.enrolments[1]
    answer = client.post(
        f"/sessions/{session.id}/check-in/by-hand",
        data={"mark": f"in-{enrolment.id}"},
    )
    assert answer.status_code == 302
    [event] = events(db, enrolment)
    assert event.recorded_by_id == taught.instructor.id and event.step is None
    roster = client.get(f"/sessions/{session.id}/check-in/roster").get_data(as_text=True)
    assert "ผู้สอนบันทึกให้" in roster
    stranger = EnrolmentFactory()
    refused = client.post(
        f"/sessions/{session.id}/check-in/by-hand",
        data={"mark": f"in-{stranger.id}"},
        follow_redirects=True,
    )
    assert "ไม่ใช่ผู้เรียนของรุ่นนี้" in refused.get_data(as_text=True)
    twice = client.post(
        f"/sessions/{session.id}/check-in/by-hand",
        data={"mark": f"in-{enrolment.id}"},
        follow_redirects=True,
    )
    assert "เช็กอินแล้ว" in twice.get_data(as_text=True)
    assert len(events(db, enrolment)) == 1
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "check_in.by_hand"))
    assert audit.details["enrolment_id"] == enrolment.id


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"mark": "in-x"},
        {"mark": "up-1"},
        {"mark": "in-"},
        {"mark": "in-1-2"},
        {"mark": "in-99999999999"},
    ],
)
def test_bad_hand_marks_are_refused(client, login, db, taught, session, data):
    login(taught.instructor)
    answer = client.post(f"/sessions/{session.id}/check-in/by-hand", data=data)
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "เลือกผู้เรียนในรายชื่อ" in page
    assert count_rows(CheckIn) == 0


def test_the_roll_form_takes_over_from_check_ins(client, login, db, taught, session):
    enrolment = taught.enrolment
    login(enrolment.learner)
    scan(client, session)
    back_in_time(db, enrolment, 40)
    check_out(client, session)
    assert credit(db, session, enrolment).minutes == 30
    login(taught.instructor)
    rows = {f"marks-{i}-enrolment_id": str(e.id) for i, e in enumerate(taught.enrolments)}
    client.post(
        f"/sessions/{session.id}/attendance",
        data={**rows, "marks-0-status": "present"},
    )
    attendance = credit(db, session, enrolment)
    assert (attendance.minutes, attendance.by_check_in) == (120, False)
    for direction in ("in", "out"):  # checked in again and out: the roll's mark stands
        client.post(
            f"/sessions/{session.id}/check-in/by-hand",
            data={"mark": f"{direction}-{enrolment.id}"},
        )
    assert len(events(db, enrolment)) == 4
    assert credit(db, session, enrolment).minutes == 120


def test_a_point_needs_a_name_and_names_are_not_repeated(client, login, db, taught, session):
    login(taught.instructor)
    empty = client.post(f"/sessions/{session.id}/check-in/points", data={"name": "  "})
    assert empty.status_code == 200 and "field-error" in empty.get_data(as_text=True)
    client.post(f"/sessions/{session.id}/check-in/points", data={"name": "บูธ 1"})
    again = client.post(f"/sessions/{session.id}/check-in/points", data={"name": "บูธ 1"})
    assert "มีจุดชื่อนี้แล้ว" in again.get_data(as_text=True)
    assert count_rows(CheckInPoint) == 2


def test_the_screen_shows_a_code_that_checks_in(client, login, db, taught, session, monkeypatch):
    from types import SimpleNamespace

    from lca.check_in import codes

    login(taught.instructor)
    page = client.get(f"/sessions/{session.id}/check-in")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert 'id="check-in-qr"' in text and "data:image/svg+xml" in text
    assert session.place in text
    # the server's clock 7 seconds into a step: that step's code, shown 23 seconds more; 30
    # seconds later the next step's, another QR code
    moment = 59_000_000 * 30 + 7
    monkeypatch.setattr(codes, "time", SimpleNamespace(time=lambda: moment))
    code = client.get(f"/sessions/{session.id}/check-in/1/code").get_json()
    assert (code["step"], code["refresh_in"]) == (59_000_000, 23)
    moment += 30
    later = client.get(f"/sessions/{session.id}/check-in/1/code").get_json()
    assert (later["step"], later["refresh_in"]) == (59_000_001, 23)
    assert later["qr"] != code["qr"] and later["qr"].startswith("data:image/svg+xml")
    monkeypatch.undo()
    assert client.get(f"/sessions/{session.id}/check-in/9").status_code == 404
    english = client.get(f"/sessions/{session.id}/check-in?lang=en", follow_redirects=True)
    english = english.get_data(as_text=True)
    assert "Roster" in english and "Confirm the roster" not in english  # not ended yet


def test_the_roster_costs_the_same_whatever_the_roll(
    client, login, db, taught, session, count_statements
):
    login(taught.instructor)
    url = f"/sessions/{session.id}/check-in/roster"
    client.get(url)
    with count_statements() as few:
        client.get(url)
    for _ in range(12):
        EnrolmentFactory(cohort=taught.cohort)
    db.session.commit()
    with count_statements() as many:
        client.get(url)
    assert many.count == few.count


def test_a_learner_sees_the_pages_in_english(client, login, db, taught, session):
    learner = taught.enrolment.learner
    learner.preferred_language = "en"
    db.session.commit()
    login(learner)
    first = client.get(link(session))
    done = client.get(first.headers["Location"] + "&lang=en")
    page = client.get(done.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "Checked in" in page and "scan the code on the screen again" in page


def test_another_learners_stay_page_is_not_theirs(client, login, db, taught, session):
    login(LearnerFactory())
    assert client.get(f"/sessions/{session.id}/my-check-in").status_code == 403


def test_a_check_out_before_any_check_in_is_refused_plainly(client, login, db, taught, session):
    login(taught.enrolment.learner)
    first = client.get(link(session))
    carried = parse_qs(urlsplit(first.headers["Location"]).query)["scan"][0]
    answer = client.post("/check-in", data={"scan": carried, "direction": "out"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "ยังไม่ได้เช็กอินในการเรียนครั้งนี้" in page
    assert 'value="in"' in page and "data-share-place" not in page  # no place check here
    assert count_rows(CheckIn) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"scan": "x" * 301, "direction": "in"},
        {"scan": "bm90IHNpZ25lZA.abc.def", "direction": "in"},
        {"direction": "in"},
        {"scan": "", "direction": "sideways"},
    ],
)
def test_a_broken_carried_scan_is_nothing_waiting(client, login, db, taught, session, data):
    login(taught.enrolment.learner)
    client.get(link(session))  # the browser's cookie is there: the value itself is broken
    answer = client.post("/check-in", data=data)
    assert answer.status_code == 200
    assert "ไม่มีการเช็กอินที่รออยู่" in answer.get_data(as_text=True)
    assert count_rows(CheckIn) == 0


def test_a_carried_scan_older_than_ten_minutes_has_waited_too_long(
    client, login, db, taught, session, monkeypatch
):
    from lca.check_in import scans

    first = client.get(link(session))
    monkeypatch.setattr(scans, "SCAN_KEEPS", timedelta(seconds=-1))
    login(taught.enrolment.learner)
    answer = client.get(first.headers["Location"])
    assert "ไม่มีการเช็กอินที่รออยู่" in answer.get_data(as_text=True)
    assert count_rows(CheckIn) == 0


def test_the_instructors_home_opens_todays_check_in_screen(client, login, db, taught, session):
    held = session_now(taught.cohort, started_minutes_ago=60 * 24 * 2)  # two days ago, untaken
    held.cancelled_at = utcnow()
    db.session.commit()
    login(taught.instructor)
    page = client.get("/instructor").get_data(as_text=True)
    assert f"/sessions/{session.id}/check-in" in page
    assert "เปิดหน้าจอเช็กอิน" in page
    # today's is waiting for its attendance, the cancelled one is not
    assert "ยังไม่ได้บันทึกการเข้าเรียนของการเรียนที่จัดไปแล้ว 1 ครั้ง" in page


def test_the_learners_timetable_shows_the_credit_and_links_todays_check_in(
    client, login, db, taught, session
):
    login(taught.enrolment.learner)
    scan(client, session)
    back_in_time(db, taught.enrolment, 50)
    check_out(client, session)
    page = client.get("/learner").get_data(as_text=True)
    assert f"/sessions/{session.id}/my-check-in" in page
    assert "ได้รับ 0.75 ชั่วโมง" in page
