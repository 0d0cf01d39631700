"""Self check-in in real Chromium: the instructor opens a session's check-in screen; the QR code
read from a screenshot (zbar) is opened on a phone by a learner who is signed out, signs in and
is checked in; the roster shows them by itself; an hour later the learner scans again, checks
out and finds the hours credited on their home page."""

from __future__ import annotations

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
