"""Self check-in in real Chromium: the instructor opens a session's check-in screen; the QR code
read from a screenshot (zbar) is opened on a phone by a learner who is signed out, signs in and
is checked in; the roster shows them by itself; an hour later the learner scans again, checks
out and finds the hours credited on their home page."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lca.check_in.stays import session_start
from lca.core.dates import programme_timezone
from lca.core.db import db
from lca.models import CheckIn, ClassSession, Cohort, Module, User
from lca.ops.demo import DEMO_COHORT, DEMO_PASSWORD

pytestmark = pytest.mark.e2e

PLACE = {"th": "หอประชุมเทศบาลนครพะเยา", "en": "Phayao City Hall"}


def _session_now(app, language: str) -> int:
    """A two-hour session of the demo cohort that started ten minutes ago."""
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.code == DEMO_COHORT))
        module = db.session.scalar(
            select(Module).where(
                Module.version_id == cohort.curriculum_version_id, Module.number == 3
            )
        )
        start = datetime.now(programme_timezone()) - timedelta(minutes=10)
        session = ClassSession(
            cohort=cohort,
            module=module,
            held_on=start.date(),
            starts_at=start.time().replace(second=0, microsecond=0),
            minutes=120,
            place=PLACE[language],
        )
        db.session.add(session)
        db.session.commit()
        found = session.id
        assert session_start(session) <= datetime.now(programme_timezone())
        db.session.remove()
        return found


def _an_hour_earlier(app, email: str) -> None:
    """As if the learner had checked in an hour and five minutes ago."""
    with app.app_context():
        learner = db.session.scalar(select(User).where(User.email == email))
        for event in db.session.scalars(select(CheckIn)):
            if event.enrolment.learner_id == learner.id:
                event.at = event.at - timedelta(minutes=65)
        db.session.commit()
        db.session.remove()


def _decode(journey, page, tmp_path, name: str) -> str:
    """The link in the QR code on the screen, as a phone's camera reads it."""
    image = tmp_path / f"{name}.png"
    image.write_bytes(page.locator("#check-in-qr").screenshot())
    found = subprocess.run(
        [journey.tool("zbarimg"), "-q", "--raw", str(image)],
        capture_output=True,
        text=True,
        check=False,
    )
    [link] = [line for line in found.stdout.splitlines() if line]
    return link


def test_a_learner_checks_in_by_scanning_and_out_an_hour_later(journey, tmp_path):
    t = journey.t
    app = journey.server.app
    session_id = _session_now(app, journey.language)
    learner_name = t.name("learner@example.org")

    screen = journey.page("desktop")
    journey.sign_in(screen, "instructor@example.org")
    screen.goto(f"/sessions/{session_id}/check-in")
    expect(screen.get_by_role("heading", level=1)).to_have_text(
        t("Check-in: %(place)s", place=PLACE[journey.language])
    )
    journey.check(screen)
    journey.screenshot(screen, "check-in-screen")
    link = _decode(journey, screen, tmp_path, "first")
    assert link.startswith(f"{journey.server.url}/c/")

    phone = journey.page("phone")
    phone.goto(f"/?lang={journey.language}")  # the language this phone chose on an earlier visit
    journey.check(phone)
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text(t("Sign in"))
    expect(phone.locator(".flashes")).to_contain_text(
        t("Sign in to finish checking in: your scan is kept for 10 minutes.")
    )
    journey.check(phone)
    phone.get_by_label(t("E-mail address")).fill("learner@example.org")
    phone.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    phone.get_by_role("button", name=t("Sign in")).click()
    journey.read_privacy_notice(phone)
    expect(phone.get_by_role("heading", level=1)).to_have_text(t("My check-in"))
    expect(phone.locator(".checked-in-at")).to_be_visible()
    journey.check(phone)
    journey.screenshot(phone, "check-in-learner")

    # the roster refreshes by itself: no reload
    roster = screen.locator("#roster")
    expect(roster.get_by_role("row").filter(has_text=learner_name)).to_contain_text(t("here"))
    journey.check(screen)

    _an_hour_earlier(app, "learner@example.org")
    screen.reload()
    link = _decode(journey, screen, tmp_path, "second")
    phone.goto(link)
    expect(phone.get_by_role("button", name=t("Check out"))).to_be_visible()
    journey.check(phone)
    phone.get_by_role("button", name=t("Check out")).click()
    expect(phone.locator(".hours-credited")).to_have_text(
        t.plural("%(hours)s hour", "%(hours)s hours", 1, hours="1")
    )
    journey.check(phone)

    phone.get_by_role("link", name=t("My page")).first.click()
    row = phone.locator(".timetable tr").filter(has_text=PLACE[journey.language])
    expect(row).to_contain_text(t("credited %(hours)s", hours="1"))
    journey.check(phone)

    expect(roster.get_by_role("row").filter(has_text=learner_name)).not_to_contain_text(t("here"))
    journey.check(screen)


def test_a_session_that_checks_where_phones_are_and_a_cancelled_one(journey):
    """The instructor asks phones to be at the place; the learner's phone shares its position
    (granted in the browser) and is checked in; a made-up code is refused with its reason; a
    session cancelled with a reason shows as cancelled in the list."""
    t = journey.t
    app = journey.server.app
    session_id = _session_now(app, journey.language)
    screen = journey.page("desktop")
    journey.sign_in(screen, "instructor@example.org")
    screen.goto(f"/sessions/{session_id}/check-in")
    journey.check(screen)
    screen.get_by_label(t("Latitude")).fill("19.166700")
    screen.get_by_label(t("Longitude")).fill("99.901900")
    screen.get_by_label(t("Radius in metres")).fill("200")
    screen.get_by_role("button", name=t("Save the place check")).click()
    expect(screen.locator(".flashes")).to_have_text(
        t("Saved: phones checking in are asked where they are.")
    )
    journey.check(screen)
    link = screen.locator("#check-in-qr")
    expect(link).to_be_visible()

    phone = journey.page(
        "phone",
        geolocation={"latitude": 19.1668, "longitude": 99.9020},
        permissions=["geolocation"],
    )
    journey.sign_in(phone, "learner@example.org")
    with app.app_context():
        from lca.check_in.codes import code_for, current_step
        from lca.models import CheckInPoint

        point = db.session.scalar(
            select(CheckInPoint).where(CheckInPoint.class_session_id == session_id)
        )
        code = code_for(point, current_step())
        db.session.remove()
    phone.goto(f"/c/{code}")
    expect(phone.get_by_role("button", name=t("Share my location and check in"))).to_be_visible()
    journey.check(phone)
    phone.get_by_role("button", name=t("Share my location and check in")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(t("My check-in"))
    with app.app_context():
        [event] = db.session.scalars(
            select(CheckIn).where(CheckIn.class_session_id == session_id)
        ).all()
        assert event.location == "inside"
        db.session.remove()
    journey.check(phone)

    phone.goto(f"/c/{code[:-3]}xyz")
    expect(phone.locator(".flashes")).to_have_text(
        t(
            "This is not a check-in code of LCA. Scan the code on the session's screen with "
            "your phone's camera."
        )
    )
    journey.check(phone)

    with app.app_context():
        other = db.session.get(ClassSession, session_id)
        later = ClassSession(
            cohort_id=other.cohort_id,
            module_id=other.module_id,
            held_on=other.held_on + timedelta(days=7),
            starts_at=other.starts_at,
            minutes=120,
            place=PLACE[journey.language],
        )
        db.session.add(later)
        db.session.commit()
        later_id, cohort_id = later.id, later.cohort_id
        db.session.remove()
    screen.goto(f"/sessions/{later_id}/edit")
    journey.check(screen)
    screen.get_by_label(t("Reason for cancelling")).fill(
        t.pick("วิทยากรติดภารกิจ", "The speaker cannot come")
    )
    screen.get_by_role("button", name=t("Cancel the session")).click()
    if screen.get_by_role("dialog").count():
        journey.confirm(screen)
    expect(screen).to_have_url(re.compile(f"/cohorts/{cohort_id}/sessions$"))
    expect(screen.get_by_role("row").filter(has_text=t("Cancelled"))).to_have_count(1)
    journey.check(screen)
