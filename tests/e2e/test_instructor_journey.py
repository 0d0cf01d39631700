"""An instructor, in Thai on a phone and in English at a desk: takes attendance, works the review
queue (approve, return, bulk approve), reads the cohort's progress and grades a field report
with the rubric; the learner reads the grade."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.support import DESKTOP, PHONE

pytestmark = pytest.mark.e2e

#: the instructor's screen in each language; every page is also checked at 360 px
DEVICE = {"th": "phone", "en": "desktop"}


def test_instructor_takes_attendance_reviews_logs_and_grades_a_report(journey):
    t = journey.t
    learner = t.name("learner@example.org")
    desk = journey.page(DEVICE[journey.language])
    journey.sign_in(desk, "instructor@example.org")
    expect(desk.get_by_role("heading", level=1)).to_have_text(
        t("Hello, %(name)s", name=t.name("instructor@example.org"))
    )

    # Attendance: the learner who was marked absent from the festival day was there after all.
    desk.get_by_role("link", name="CA-2569-01").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(
        t("Cohort %(code)s", code="CA-2569-01")
    )
    journey.check(desk)
    desk.get_by_role("link", name=t("Sessions and attendance")).click()
    journey.check(desk)
    festival = desk.get_by_role("row").filter(has_text="6. ")
    festival.get_by_role("link", name=t("Attendance")).click()
    journey.check(desk)
    marks = desk.get_by_role("group", name=t("Attendance of %(name)s", name=learner))
    expect(marks.get_by_label(t("Absent"), exact=True)).to_be_checked()
    marks.get_by_label(t("Present"), exact=True).check()
    desk.get_by_role("button", name=t("Save attendance")).click()
    expect(desk.locator(".flashes")).to_have_text(
        t(
            "Attendance saved: %(recorded)s marked, %(corrected)s corrected.",
            recorded=0,
            corrected=1,
        )
    )
    journey.check(desk)

    # The review queue: one log approved, one returned with a question, two approved at once.
    desk.get_by_role("navigation", name=t("Main menu")).get_by_role(
        "link", name=t("Review queue")
    ).click()
    expect(desk.get_by_text(t("%(count)s logs, oldest first.", count=10))).to_be_visible()
    journey.check(desk)
    journey.screenshot(desk, "review-queue")
    desk.get_by_role("link", name=t.name("learner02@example.org")).click()
    journey.check(desk)
    desk.get_by_role(
        "button", name=t.plural("Approve %(hours)s hour", "Approve %(hours)s hours", 2, hours=2)
    ).click()
    expect(desk.locator(".flashes")).to_have_text(t("Approved."))
    # straight on to the next log waiting in the queue
    expect(desk.locator(".details").get_by_role("link")).to_have_text(
        t.name("learner03@example.org")
    )
    journey.check(desk)
    desk.get_by_role("link", name=t("Back")).click()
    journey.check(desk)
    desk.get_by_role("link", name=t.name("learner04@example.org")).click()
    journey.check(desk)
    desk.get_by_label(t("Message")).fill(
        t.pick("ผู้นำชุมชนที่คุยด้วยเป็นใครบ้าง", "Which community leaders did you talk with?")
    )
    desk.get_by_role("button", name=t("Return with this question")).click()
    journey.confirm(desk)
    expect(desk.locator(".flashes")).to_have_text(t("The log was sent back with your question."))
    journey.check(desk)
    desk.get_by_role("link", name=t("Back")).click()
    expect(desk.get_by_text(t("%(count)s logs, oldest first.", count=8))).to_be_visible()
    journey.check(desk)
    for email in ("learner05@example.org", "learner06@example.org"):
        desk.get_by_label(t("Select the log of %(name)s", name=t.name(email))).check()
    desk.get_by_role("button", name=t("Approve the ticked logs"), exact=True).click()
    journey.confirm(desk)
    expect(desk.locator(".flashes")).to_have_text(t("%(count)s logs approved.", count=2))
    expect(desk.get_by_text(t("%(count)s logs, oldest first.", count=6))).to_be_visible()
    for email in ("learner02", "learner04", "learner05", "learner06"):
        expect(desk.get_by_role("link", name=t.name(f"{email}@example.org"))).to_have_count(0)
    journey.check(desk)

    # The cohort's progress shows what was just recorded.
    desk.get_by_role("link", name=t("Cohorts")).click()
    journey.check(desk)
    desk.get_by_role("link", name="CA-2569-01").first.click()
    journey.check(desk)
    desk.get_by_role("link", name=t("Progress of the learners")).click()
    phone = DEVICE[journey.language] == "phone"
    if phone:  # a card per learner: the festival day (module 6) is no longer behind
        card = desk.locator(".learner-card").filter(has_text=learner)
        expect(card).to_be_visible()
        expect(card).not_to_contain_text(t("Module %(number)s", number=6) + ":")
        desk.set_viewport_size(DESKTOP)  # and the table, as at a desk
    # cells after the name: city, modules 1 to 7, total, field report
    festival_day = desk.get_by_role("row").filter(has_text=learner).locator("td").nth(6)
    expect(festival_day).to_contain_text("6")
    expect(festival_day.get_by_label(t("complete"))).to_be_visible()
    sakchai = desk.get_by_role("row").filter(has_text=t.name("learner02@example.org"))
    expect(sakchai.locator("td").nth(5)).to_have_text("2")
    if phone:
        desk.set_viewport_size(PHONE)
    journey.check(desk)
    journey.screenshot(desk, "cohort-matrix")

    # A field report graded with the rubric.
    desk.get_by_role("link", name=t("Field reports")).click()
    journey.check(desk)
    namfon = t.name("learner01@example.org")
    desk.get_by_role("link", name=namfon).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(
        t("Field report of %(name)s", name=namfon)
    )
    journey.check(desk)
    label = t("Points for criterion %(number)s (0 to %(max)s)").split("%(number)s")[0]
    points = desk.get_by_label(label, exact=False)
    expect(points).to_have_count(5)
    # The total follows the points as they are typed (grading.js), before anything is sent.
    total, verdict = desk.locator("output.grade-total"), desk.locator(".grade-verdict")
    expect(total).to_have_text("0")
    points.nth(0).fill("15")
    expect(total).to_have_text("15")
    expect(verdict).to_have_text(t("Give points for every criterion to see the result."))
    for index, value in enumerate(["14", "16", "2", "11"], start=1):
        points.nth(index).fill(value)
    expect(total).to_have_text("58")
    expect(verdict).to_have_text(t("This total is below the pass mark: revise or fail."))
    points.nth(3).fill("20")
    expect(total).to_have_text("76")
    expect(verdict).to_have_text(t("This total reaches the pass mark."))
    journey.check(desk)
    journey.screenshot(desk, "grading")
    desk.get_by_label(t("Comment")).first.fill(
        t.pick("ใช้ข้อมูลเมืองได้ดี", "Good use of the city's data")
    )
    desk.get_by_label(t("Pass"), exact=True).check()
    desk.get_by_label(t("Overall feedback")).fill(
        t.pick("ผ่าน ขอให้เผยแพร่ผลงานต่อ", "A pass; please share the work further")
    )
    desk.get_by_role("button", name=t("Save the grade")).click()
    expect(desk.locator(".flashes")).to_have_text(
        t("The grade has been saved; the learner can see it now.")
    )
    expect(desk.get_by_text(t("No reports in this state."))).to_be_visible()
    journey.check(desk)

    phone = journey.page("phone")
    journey.sign_in(phone, "learner01@example.org")
    phone.get_by_role("link", name=t("My field report")).first.click()
    journey.check(phone)
    expect(
        phone.get_by_role(
            "heading", name=f"{t('Pass')} · {t('%(total)s of %(max)s points', total=76, max=100)}"
        )
    ).to_be_visible()
    expect(
        phone.get_by_text(t.pick("ใช้ข้อมูลเมืองได้ดี", "Good use of the city's data"))
    ).to_be_visible()
    expect(
        phone.get_by_text(t.pick("ผ่าน ขอให้เผยแพร่ผลงานต่อ", "A pass; please share the work further"))
    ).to_be_visible()
    expect(phone.locator("#main .badge").first).to_have_text(t("Passed"))
