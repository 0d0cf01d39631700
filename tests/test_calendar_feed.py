"""Each person's calendar feed (iCalendar): the sessions of their cohorts in Bangkok time and
in their language, one event per session that stays the same event through changes and a
cancellation, a learner's last field day, and a secret address that can be renewed.

Every feed is read by two parsers that share no code: icalendar (which writes it) and vobject.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import icalendar
import pytest
import vobject
from sqlalchemy import select

from lca.core.db import utcnow
from lca.hours.calendar_feed import feed_token, feed_url, webcal_url
from lca.models import AuditEvent, EnrolmentStatus
from lca.web.addresses import public_url
from lca.web.extensions import limiter
from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    EnrolmentFactory,
    FieldWindowExtensionFactory,
    InstructorFactory,
    LearnerFactory,
    instructor_teaching,
    module,
)


def feed_path(user) -> str:
    return urlsplit(feed_url(user)).path


def read_feed(client, user) -> tuple[icalendar.Calendar, vobject.base.Component]:
    """The person's feed as both parsers read it (it must be a calendar to both)."""
    response = client.get(feed_path(user))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == "inline; filename=lca.ics"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    text = response.get_data(as_text=True)
    return icalendar.Calendar.from_ical(text), vobject.readOne(text)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def vevents(parsed: vobject.base.Component) -> dict[str, vobject.base.Component]:
    return {event.uid.value: event for event in parsed.vevent_list}


def host() -> str:
    return str(urlsplit(public_url()).hostname)


def session_uid(session) -> str:
    return f"session-{session.id}@{host()}"


@pytest.fixture
def learner(db):
    """A learner (Thai by preference) in a cohort with a 6-hour session of module 1 at 09:00."""
    enrolment = EnrolmentFactory()
    ClassSessionFactory(cohort=enrolment.cohort, place="หอประชุมเทศบาลนครพะเยา")
    return enrolment.learner


def only_session(calendar) -> icalendar.Event:
    found = [e for uid, e in events(calendar).items() if uid.startswith("session-")]
    assert len(found) == 1
    return found[0]


def test_a_learners_session_in_bangkok_time(client, db, learner):
    calendar, parsed = read_feed(client, learner)
    event = only_session(calendar)
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start.tzinfo is not None and str(event["dtstart"].params["TZID"]) == "Asia/Bangkok"
    assert start.replace(tzinfo=None).time() == time(9, 0)
    assert start.astimezone(UTC).time() == time(2, 0)  # Bangkok is 7 hours ahead of UTC
    assert end - start == timedelta(hours=6)
    assert str(event["location"]) == "หอประชุมเทศบาลนครพะเยา"
    assert str(event["status"]) == "CONFIRMED"
    assert event.decoded("sequence") == 0
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Bangkok"]

    (other,) = [e for uid, e in vevents(parsed).items() if uid.startswith("session-")]
    assert other.dtstart.value.astimezone(UTC) == datetime.combine(
        start.date(), time(2, 0), tzinfo=UTC
    )
    assert other.dtend.value - other.dtstart.value == timedelta(hours=6)
    assert other.location.value == "หอประชุมเทศบาลนครพะเยา"
    assert other.status.value == "CONFIRMED"


def test_the_feed_is_in_the_persons_language(client, db, learner):
    summary = str(only_session(read_feed(client, learner)[0])["summary"])
    cohort_code = learner_cohort_code(db, learner)
    assert summary == f"1. ความรู้เกี่ยวกับเมืองแห่งการเรียนรู้ · {cohort_code}"
    assert "ชั่วโมง" in str(only_session(read_feed(client, learner)[0])["description"])

    learner.preferred_language = "en"
    db.session.flush()
    calendar, parsed = read_feed(client, learner)
    event = only_session(calendar)
    assert str(event["summary"]) == f"1. Learning City Fundamentals · {cohort_code}"
    assert "6 hours" in str(event["description"])
    summaries = {e.summary.value for e in parsed.vevent_list}
    assert f"Last day of field practice · {cohort_code}" in summaries


def learner_cohort_code(db, learner) -> str:
    from lca.models import Enrolment

    return db.session.scalar(
        select(Enrolment).where(Enrolment.learner_id == learner.id)
    ).cohort.code


def test_only_the_cohorts_a_learner_studies_in_now(client, db):
    enrolment = EnrolmentFactory()
    mine = ClassSessionFactory(cohort=enrolment.cohort)
    left = EnrolmentFactory(
        learner=enrolment.learner, status=EnrolmentStatus.WITHDRAWN, withdrawn_at=utcnow()
    )
    ClassSessionFactory(cohort=left.cohort)
    ClassSessionFactory()  # someone else's cohort
    db.session.flush()
    calendar, _parsed = read_feed(client, enrolment.learner)
    assert set(events(calendar)) == {session_uid(mine), f"field-window-{enrolment.id}@{host()}"}


def test_the_last_field_day_is_an_all_day_event(client, db, learner):
    from lca.models import Enrolment

    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.learner_id == learner.id))
    calendar, parsed = read_feed(client, learner)
    uid = f"field-window-{enrolment.id}@{host()}"
    event = events(calendar)[uid]
    last_day = enrolment.field_window_ends_on
    assert event.decoded("dtstart") == last_day and not isinstance(
        event.decoded("dtstart"), datetime
    )
    assert event.decoded("dtend") == last_day + timedelta(days=1)
    assert "DTSTART;VALUE=DATE:" in calendar.to_ical().decode()
    assert str(event["summary"]) == f"วันสุดท้ายของการปฏิบัติการจริงบนพื้นที่ · {enrolment.cohort.code}"
    other = vevents(parsed)[uid]
    assert other.dtstart.value == last_day and type(other.dtstart.value) is date

    # an extension moves the day: a new version of the same event
    extended = last_day + timedelta(days=30)
    FieldWindowExtensionFactory(
        enrolment=enrolment, previous_ends_on=last_day, extended_to=extended
    )
    enrolment.field_ends_on = extended
    db.session.flush()
    event = events(read_feed(client, learner)[0])[uid]
    assert (event.decoded("dtstart"), event.decoded("sequence")) == (extended, 1)


def test_an_edited_session_is_the_same_event_in_a_new_version(client, login, db):
    taught = instructor_teaching()
    session = ClassSessionFactory(cohort=taught.cohort)
    learner = taught.enrolment.learner
    uid = str(only_session(read_feed(client, learner)[0])["uid"])
    login(taught.instructor)
    data = {
        "module_id": str(module(1).id),
        "held_on": session.held_on.isoformat(),
        "starts_at": "13:30",
        "hours": "3",
        "place": "ศาลากลางจังหวัด",
    }
    assert client.post(f"/sessions/{session.id}/edit", data=data).status_code == 302
    calendar, parsed = read_feed(client, learner)
    event = only_session(calendar)
    assert str(event["uid"]) == uid
    assert event.decoded("sequence") == 1
    assert event.decoded("dtstart").astimezone(UTC).time() == time(6, 30)
    assert str(event["location"]) == "ศาลากลางจังหวัด"
    assert vevents(parsed)[uid].sequence.value == "1"

    # saving it again unchanged is no new version
    assert client.post(f"/sessions/{session.id}/edit", data=data).status_code == 302
    assert only_session(read_feed(client, learner)[0]).decoded("sequence") == 1


def test_a_cancelled_session_stays_as_a_cancelled_event(client, login, db):
    taught = instructor_teaching()
    session = ClassSessionFactory(cohort=taught.cohort)
    learner = taught.enrolment.learner
    uid = str(only_session(read_feed(client, learner)[0])["uid"])
    login(taught.instructor)
    response = client.post(f"/sessions/{session.id}/cancel", data={"reason": "น้ำท่วมถนน"})
    assert response.status_code == 302
    calendar, parsed = read_feed(client, learner)
    event = only_session(calendar)
    assert (str(event["uid"]), str(event["status"])) == (uid, "CANCELLED")
    assert event.decoded("sequence") == 1
    assert str(event["summary"]).startswith("ยกเลิก")
    assert vevents(parsed)[uid].status.value == "CANCELLED"
    # the instructor's own feed shows it cancelled too
    assert str(only_session(read_feed(client, taught.instructor)[0])["status"]) == "CANCELLED"


def test_a_session_already_attended_cannot_be_cancelled(client, login, db, flashes):
    taught = instructor_teaching()
    session = ClassSessionFactory(cohort=taught.cohort, held_on=taught.cohort.starts_on)
    AttendanceFactory(class_session=session, enrolment=taught.enrolment)
    login(taught.instructor)
    page = client.post(f"/sessions/{session.id}/cancel", data={"reason": "ฝนตก"})
    assert page.status_code == 200
    assert any("ยกเลิกไม่ได้" in message for message in flashes(page.get_data(as_text=True)))
    db.session.refresh(session)
    assert session.cancelled_at is None
    event = only_session(read_feed(client, taught.enrolment.learner)[0])
    assert (str(event["status"]), event.decoded("sequence")) == ("CONFIRMED", 0)


def test_an_instructors_feed_has_the_sessions_they_teach(client, db):
    taught = instructor_teaching()
    session = ClassSessionFactory(cohort=taught.cohort)
    ClassSessionFactory()  # a cohort someone else teaches
    taught.instructor.preferred_language = "en"
    db.session.flush()
    calendar, parsed = read_feed(client, taught.instructor)
    assert list(events(calendar)) == [session_uid(session)]
    assert [e.uid.value for e in parsed.vevent_list] == [session_uid(session)]
    assert str(calendar["x-wr-calname"]) == "LCA: my sessions"


def test_renewing_the_address(client, login, db, learner):
    old = feed_path(learner)
    login(learner)
    response = client.post("/account/calendar/renew")
    assert response.status_code == 302 and "/account" in response.headers["Location"]
    assert client.get(old).status_code == 404
    db.session.refresh(learner)
    assert learner.calendar_feed_version == 1
    assert client.get(feed_path(learner)).status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "calendar_feed.renew"))
    assert (event.actor_id, event.target_id, event.details) == (
        learner.id,
        learner.id,
        {"version": 1},
    )
    assert "ที่อยู่ใหม่" in client.get("/account").get_data(as_text=True)


def test_every_address_that_is_not_a_current_feed_gets_the_same_404(client, db, learner):
    other = LearnerFactory()
    token = feed_token(learner)
    answers = [
        client.get(f"/calendar/{learner.id}/{'A' * len(token)}.ics"),  # forged
        client.get(f"/calendar/{other.id}/{token}.ics"),  # my token, someone else's id
        client.get(f"/calendar/{learner.id}/{token[:-1]}.ics"),  # cut short
        client.get(f"/calendar/{2**40}/{token}.ics"),  # no such person
        client.get(f"/calendar/{learner.id}/{token}ไทย.ics"),
    ]
    learner.is_active = False
    db.session.flush()
    answers.append(client.get(feed_path(learner)))  # a deactivated account
    assert [a.status_code for a in answers] == [404] * len(answers)
    # the same page, but for the language switch's link to the page itself
    pages = {re.sub(r'href="/calendar/[^"]*"', "", a.get_data(as_text=True)) for a in answers}
    assert len(pages) == 1


def test_the_feed_is_rate_limited(client, db, learner, app, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_CALENDAR_RATE_LIMIT", "2 per minute")
    limiter.reset()
    try:
        codes = [client.get(feed_path(learner)).status_code for _ in range(3)]
    finally:
        limiter.reset()
    assert codes == [200, 200, 429]


def test_the_feed_takes_the_same_statements_whatever_the_sessions(client, db, count_statements):
    enrolment = EnrolmentFactory()
    second = EnrolmentFactory(learner=enrolment.learner)  # a learner in two cohorts

    def statements() -> int:
        with count_statements() as counter:
            assert client.get(feed_path(enrolment.learner)).status_code == 200
        return counter.count

    ClassSessionFactory(cohort=enrolment.cohort)
    few = statements()
    for days in range(8, 20):
        for cohort in (enrolment.cohort, second.cohort):
            ClassSessionFactory(
                cohort=cohort,
                module=module(2 + days % 2),
                held_on=cohort.starts_on + timedelta(days=days),
            )
    assert len(events(read_feed(client, enrolment.learner)[0])) == 1 + 24 + 2
    assert statements() == few


@pytest.mark.parametrize(
    ("language", "heading", "renew"),
    [("th", "ปฏิทิน", "ต่ออายุที่อยู่"), ("en", "Calendar", "Renew the address")],
)
def test_the_account_page_shows_the_feed_addresses(client, login, db, language, heading, renew):
    for person in (LearnerFactory(), InstructorFactory()):
        login(person)
        page = client.get(f"/account?lang={language}", follow_redirects=True).get_data(as_text=True)
        assert f">{heading}</h2>" in page and renew in page
        assert f'value="{feed_url(person)}"' in page
        assert f'href="{webcal_url(person)}"' in page
        assert webcal_url(person).startswith("webcal://")
        assert (
            webcal_url(person)[len("webcal") :] == feed_url(person)[feed_url(person).index(":") :]
        )
        assert "js/copy-link.js" in page


def test_an_administrator_has_no_calendar_section(client, admin, db):
    page = client.get("/account?lang=en", follow_redirects=True).get_data(as_text=True)
    assert 'id="calendar-heading"' not in page
