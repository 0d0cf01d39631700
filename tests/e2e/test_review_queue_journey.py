"""A day holds at most 12 hours, and the review queue shows it: a learner on a phone logs 3 hours,
then 10 and 12 more on the same day and is refused with what the day already holds; the
instructor sees each log's day total (a day filled before the rule flagged), its description and
photo, selects the whole page and returns it with one question."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lca.core.dates import format_day, local_today
from lca.core.db import db
from lca.models import Enrolment, LogStatus, User
from tests.factories import HourLogFactory, module

pytestmark = pytest.mark.e2e

#: the instructor's screen in each language; every page is also checked at 360 px
DEVICE = {"th": "phone", "en": "desktop"}


def fill_the_day_before_the_rule(app, email: str, day) -> None:
    """Two logs of 8 and 6 hours on one day, sent before a day was limited to 12 hours."""
    with app.app_context():
        enrolment = db.session.scalar(
            select(Enrolment).join(Enrolment.learner).where(User.email == email)
        )
        for minutes in (480, 360):
            HourLogFactory(
                enrolment=enrolment,
                module=module(1),
                worked_on=day,
                minutes=minutes,
                status=LogStatus.PENDING,
            )
        db.session.commit()
        db.session.remove()


def test_a_full_day_is_refused_and_the_queue_shows_day_totals(journey):
    t = journey.t
    today = local_today()
    day, old_day = today - timedelta(days=1), today - timedelta(days=5)
    fill_the_day_before_the_rule(journey.server.app, "learner01@example.org", old_day)

    # The learner logs 3 hours, then tries 10 and 12 more on the same day.
    learner = journey.page("phone")
    journey.sign_in(learner, "learner@example.org")
    for hours, refused in (("3", False), ("10", True), ("12", True)):
        learner.get_by_role("link", name=t("Log hours")).first.click()
        journey.check(learner)
        learner.get_by_label(t("Module"), exact=True).select_option(
            label=t.pick("1. ความรู้เกี่ยวกับเมืองแห่งการเรียนรู้", "1. Learning City Fundamentals")
        )
        learner.get_by_label(t("Day"), exact=True).fill(day.isoformat())
        learner.get_by_label(t("Hours"), exact=True).fill(hours)
        learner.get_by_label(t("What did you do?")).fill(
            t.pick("ทบทวนบทเรียนกับกลุ่มเพื่อน", "Went over the lesson with my study group")
        )
        learner.get_by_role("button", name=t("Send for review")).click()
        if not refused:
            expect(learner.locator(".flashes")).to_have_text(
                t("Your hours have been sent for review.")
            )
            journey.check(learner)
            continue
        expect(learner.locator("#hours-error")).to_have_text(
            t(
                "%(day)s already holds %(held)s hours of your logs and attendance; a day holds "
                "at most %(limit)s hours, so you can add at most %(left)s more for that day.",
                day=format_day(day, language=journey.language),
                held=3,
                limit=12,
                left=9,
            )
        )
        expect(learner.get_by_label(t("Hours"), exact=True)).to_have_attribute(
            "aria-invalid", "true"
        )
        journey.check(learner)

    # The instructor's queue: day totals, the flagged day, descriptions and photos.
    desk = journey.page(DEVICE[journey.language])
    journey.sign_in(desk, "instructor@example.org")
    desk.get_by_role("navigation", name=t("Main menu")).get_by_role(
        "link", name=t("Review queue")
    ).click()
    expect(desk.get_by_text(t("%(count)s logs, oldest first.", count=13))).to_be_visible()
    journey.check(desk)
    rows = desk.locator("table.queue tbody tr")
    mine = rows.filter(has=desk.get_by_role("link", name=t.name("learner@example.org"))).filter(
        has_text=t.pick("ทบทวนบทเรียนกับกลุ่มเพื่อน", "Went over the lesson with my study group")
    )
    over_the_limit = t("Over the %(limit)s-hour limit of one day", limit=12)
    expect(mine).to_contain_text(
        t.plural("That day: %(hours)s hour in all", "That day: %(hours)s hours in all", 3, hours=3)
    )
    expect(mine.get_by_text(over_the_limit)).to_have_count(0)
    overfull = rows.filter(has=desk.get_by_role("link", name=t.name("learner01@example.org")))
    overfull = overfull.filter(
        has_text=t.plural(
            "That day: %(hours)s hour in all", "That day: %(hours)s hours in all", 14, hours=14
        )
    )
    expect(overfull).to_have_count(2)
    for index in range(2):
        expect(overfull.nth(index).get_by_text(over_the_limit)).to_be_visible()
    field_work = rows.filter(has=desk.get_by_role("link", name=t.name("learner02@example.org")))
    expect(field_work).to_contain_text("ลงพื้นที่พูดคุยกับผู้นำชุมชนเรื่องแหล่งเรียนรู้")
    photo = field_work.get_by_role("img")
    expect(photo).to_be_visible()
    expect(photo).to_have_attribute("width", "64")
    photo.scroll_into_view_if_needed()  # loaded lazily, as it comes into view
    desk.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    journey.screenshot(desk, "review-queue-day-totals")

    # Everything on the page goes back with one question.
    desk.get_by_role("button", name=t("Select all on this page")).click()
    boxes = desk.locator("input[name=log_ids]")
    expect(boxes).to_have_count(13)
    for index in range(13):
        expect(boxes.nth(index)).to_be_checked()
    expect(desk.get_by_role("button", name=t("Clear the selection"))).to_be_visible()
    question = t.pick("โปรดแนบใบลงชื่อผู้เข้าร่วม", "Please attach the attendance sheet")
    desk.get_by_label(t("Message for the ticked logs")).fill(question)
    desk.get_by_role("button", name=t("Return the ticked logs with this question")).click()
    journey.confirm(desk)
    expect(desk.locator(".flashes")).to_have_text(
        t("%(count)s logs sent back with your question.", count=13)
    )
    expect(desk.get_by_text(t("Nothing here. Well done!"))).to_be_visible()
    journey.check(desk)

    # Each learner sees the question on their log.
    learner.get_by_role("link", name=t("My hour logs")).click()
    journey.check(learner)
    learner.get_by_role("row").filter(has_text=t("Returned with a question")).filter(
        has_text=format_day(day, "short", language=journey.language)
    ).get_by_role("link").click()
    expect(learner.get_by_text(question)).to_be_visible()
    journey.check(learner)
