"""Two logs of one day whose times overlap: a learner on a phone logs 09:00 to 11:00, then 10:00 to
12:00 (accepted, and told on the log's page that it overlaps the first), then an hour inside a
class session they were credited for (refused, naming the session's hours); the instructor sees
both logs flagged in the review queue, with the other log's hours, and on the log's page."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lca.core.dates import format_day, local_today
from lca.core.db import db
from lca.hours.attendance import Mark, record_attendance
from lca.hours.day_limit import minutes_on_day
from lca.models import AttendanceStatus, Enrolment, EnrolmentStatus, User
from tests.factories import ClassSessionFactory, module

pytestmark = pytest.mark.e2e

DEVICE = {"th": "phone", "en": "desktop"}


def a_free_day_with_a_session(app, email: str, instructor_email: str):
    """A recent day on which the learner holds no hours yet, and a session from 13:00 to 16:00
    that day at which the instructor marks them present."""
    with app.app_context():
        enrolment = db.session.scalar(
            select(Enrolment)
            .join(Enrolment.learner)
            .where(User.email == email, Enrolment.status == EnrolmentStatus.ACTIVE)
        )
        instructor = db.session.scalar(select(User).where(User.email == instructor_email))
        day = local_today() - timedelta(days=2)
        while minutes_on_day(enrolment.learner_id, day):
            day -= timedelta(days=1)
        assert day >= enrolment.cohort.starts_on
        session = ClassSessionFactory(
            cohort=enrolment.cohort,
            module=module(2),
            held_on=day,
            starts_at=time(13, 0),
            minutes=180,
            place="ห้องประชุมสภาเมือง",
        )
        record_attendance(session, [Mark(enrolment.id, AttendanceStatus.PRESENT)], instructor)
        db.session.commit()
        db.session.remove()
        return day


def test_overlapping_logs_are_flagged_and_a_credited_session_refused(journey):
    t = journey.t
    day = a_free_day_with_a_session(
        journey.server.app, "learner@example.org", "instructor@example.org"
    )
    work = t.pick("ทบทวนบทเรียนกับกลุ่มเพื่อน", "Went over the lesson with my study group")
    first, second = (
        t("%(start)s–%(end)s", start="09:00", end="11:00"),
        t("%(start)s–%(end)s", start="10:00", end="12:00"),
    )

    learner = journey.page("phone")
    journey.sign_in(learner, "learner@example.org")
    for starts_at, outcome in (("09:00", "sent"), ("10:00", "flagged"), ("13:30", "refused")):
        learner.get_by_role("link", name=t("Log hours")).first.click()
        journey.check(learner)
        learner.get_by_label(t("Module"), exact=True).select_option(
            label=t.pick("1. ความรู้เกี่ยวกับเมืองแห่งการเรียนรู้", "1. Learning City Fundamentals")
        )
        learner.get_by_label(t("Day"), exact=True).fill(day.isoformat())
        learner.get_by_label(t("Started at"), exact=True).fill(starts_at)
        learner.get_by_label(t("Hours"), exact=True).fill("2" if outcome != "refused" else "1")
        learner.get_by_label(t("What did you do?")).fill(work)
        learner.get_by_role("button", name=t("Send for review")).click()
        if outcome == "refused":
            expect(learner.locator("#starts_at-error")).to_have_text(
                t(
                    "From %(start)s to %(end)s on %(day)s you were credited for attendance at a "
                    "class session (%(place)s), so a log cannot claim those hours: change the "
                    "start time or the hours.",
                    start="13:00",
                    end="16:00",
                    day=format_day(day, language=journey.language),
                    place="ห้องประชุมสภาเมือง",
                )
            )
            expect(learner.get_by_label(t("Started at"), exact=True)).to_have_attribute(
                "aria-invalid", "true"
            )
            journey.check(learner)
            continue
        expect(learner.locator(".flashes")).to_have_text(t("Your hours have been sent for review."))
        details = learner.locator("dl.details")
        expect(details).to_contain_text(first if outcome == "sent" else second)
        flag = t("Overlaps another log of that day: %(time)s", time=first)
        expect(details.get_by_text(flag)).to_have_count(1 if outcome == "flagged" else 0)
        journey.check(learner)

    desk = journey.page(DEVICE[journey.language])
    journey.sign_in(desk, "instructor@example.org")
    desk.get_by_role("navigation", name=t("Main menu")).get_by_role(
        "link", name=t("Review queue")
    ).click()
    journey.check(desk)
    rows = desk.locator("table.queue tbody tr").filter(
        has=desk.get_by_role("link", name=t.name("learner@example.org"))
    )
    for own, other in ((first, second), (second, first)):
        row = rows.filter(has=desk.locator(".log-time", has_text=own)).filter(has_text=work)
        expect(row).to_have_count(1)
        flag = t("Overlaps another log of that day: %(time)s", time=other)
        expect(row.get_by_text(flag)).to_be_visible()
        expect(row).to_contain_text(
            t.plural(
                "That day: %(hours)s hour in all", "That day: %(hours)s hours in all", 7, hours=7
            )
        )
    row.scroll_into_view_if_needed()
    journey.screenshot(desk, "review-queue-overlap")

    # The log's page: its time, what the day holds and the flag, linked to the other log.
    rows.filter(has=desk.locator(".log-time", has_text=first)).filter(has_text=work).get_by_role(
        "link"
    ).first.click()
    journey.check(desk)
    details = desk.locator("dl.details")
    expect(details).to_contain_text(
        t.plural("%(hours)s hour in all", "%(hours)s hours in all", 7, hours=7)
    )
    details.get_by_role("link", name=second).click()
    journey.check(desk)
    expect(desk.locator("dl.details")).to_contain_text(second)
