"""By keyboard alone, in Thai and in English: a learner logs field hours, an instructor works the
review queue. Moving and acting only with Tab, Enter and Space (text is typed into fields, and
a drop-down list is chosen by typing an option's number, as a keyboard user does); at every
stop the focused element is on screen with a visible focus ring."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import Page, expect

from lca.core.dates import local_today
from lca.ops.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.factories import tiny_jpeg

pytestmark = pytest.mark.e2e


def focused(page: Page):
    return page.locator(":focus")


def sign_in_by_keyboard(journey, page: Page, email: str) -> None:
    page.goto(f"/login?lang={journey.language}")
    journey.check(page)
    expect(page.get_by_label(journey.t("E-mail address"))).to_be_focused()  # autofocus
    page.keyboard.type(email)
    journey.tab_to(page, page.get_by_label(journey.t("Password"), exact=True))
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(f"{journey.server.url}/login?lang={journey.language}")
    journey.check(page)
    if "/login/second-step" in page.url:  # staff: the app's code, typed (autofocus)
        expect(page.get_by_label(journey.t("Code from the authenticator app"))).to_be_focused()
        page.keyboard.type(pyotp.TOTP(DEMO_TOTP_SECRET).now())
        page.keyboard.press("Enter")
        expect(page).not_to_have_url(re.compile(r"/login/second-step"))
        journey.check(page)
    journey.read_privacy_notice(page, keyboard=True)  # then, at a first sign-in, the notice


def skip_to_content(page: Page, journey) -> None:
    """The first Tab shows the skip link; Enter moves the focus to the page's content."""
    page.keyboard.press("Tab")
    expect(focused(page)).to_have_text(journey.t("Skip to content"))
    journey.assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_learner_logs_hours_by_keyboard(journey, tmp_path):
    t = journey.t
    photo = tmp_path / "kwan-phayao.jpg"
    photo.write_bytes(tiny_jpeg("teal", (640, 480)))
    page = journey.page("desktop", locale="en-US")  # the date field takes month, day, year
    # Listening from the start: Chromium is told to hand file choosers to the test only once a
    # listener exists, and that message must arrive before the key press opens one.
    page.on("filechooser", lambda chooser: chooser.set_files(str(photo)))
    sign_in_by_keyboard(journey, page, "learner@example.org")
    skip_to_content(page, journey)
    journey.tab_to(page, page.locator("main").get_by_role("link", name=t("Log hours"), exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Log hours"))
    journey.check(page)

    journey.tab_to(page, page.get_by_label(t("Module"), exact=True))
    page.keyboard.type("5")
    expect(page.get_by_text(t("Field practice only"))).to_be_visible()
    day = local_today() - timedelta(days=1)
    journey.tab_to(page, page.get_by_label(t("Day"), exact=True))
    page.keyboard.type(day.strftime("%m%d%Y"))
    journey.tab_to(page, page.get_by_label(t("Hours"), exact=True))
    page.keyboard.type("2")
    journey.tab_to(page, page.get_by_label(t("What did you do?")))
    page.keyboard.type(t.pick("จัดเวทีเสวนากับชุมชน", "Ran a forum with the community"))
    journey.tab_to(page, page.get_by_label(t("Mechanism"), exact=True))
    page.keyboard.type("2")
    tool = page.get_by_label(t.pick("การจัดทำแผนที่แบบมีส่วนร่วม", "Participatory mapping"))
    journey.tab_to(page, tool)
    page.keyboard.press("Space")
    expect(tool).to_be_checked()
    journey.tab_to(page, page.get_by_label(t("Place"), exact=True))
    page.keyboard.type(t.pick("ลานวัฒนธรรมพะเยา", "Phayao cultural square"))
    evidence = page.get_by_label(t("Evidence: photos or PDFs"))
    journey.tab_to(page, evidence)
    page.keyboard.press("Space")
    page.wait_for_function("() => document.getElementById('files').files.length === 1")
    journey.tab_to(page, page.get_by_role("button", name=t("Send for review")))
    page.keyboard.press("Enter")

    expect(page.locator(".flashes")).to_have_text(t("Your hours have been sent for review."))
    details = page.locator("dl.details")
    expect(details).to_contain_text(t.pick("5. ปฏิบัติการจริงบนพื้นที่", "5. Field Practice"))
    expect(details).to_contain_text(t.pick("กลไกเชิงกระบวนการ", "Process mechanisms"))
    expect(details).to_contain_text(t.pick("การจัดทำแผนที่แบบมีส่วนร่วม", "Participatory mapping"))
    expect(page.get_by_role("img", name=t("Photo: %(name)s", name=photo.name))).to_be_visible()
    journey.check(page)


def test_instructor_works_the_review_queue_by_keyboard(journey):
    t = journey.t
    page = journey.page("desktop")
    sign_in_by_keyboard(journey, page, "instructor@example.org")
    menu = page.get_by_role("navigation", name=t("Main menu"))
    journey.tab_to(page, menu.get_by_role("link", name=t("Review queue")))
    page.keyboard.press("Enter")
    expect(page.get_by_text(t("%(count)s logs, oldest first.", count=10))).to_be_visible()
    journey.check(page)

    for email in ("learner05@example.org", "learner06@example.org"):
        tick = page.get_by_label(t("Select the log of %(name)s", name=t.name(email)))
        journey.tab_to(page, tick)
        page.keyboard.press("Space")
        expect(tick).to_be_checked()
    journey.tab_to(page, page.get_by_role("button", name=t("Approve the ticked logs"), exact=True))
    page.keyboard.press("Enter")
    asked = page.get_by_role("dialog", name=t("Are you sure?"))  # it asks first; Cancel has focus
    expect(asked.get_by_role("button", name=t("Cancel"))).to_be_focused()
    journey.check(page)
    journey.tab_to(page, asked.locator("[data-confirm-yes]"))
    page.keyboard.press("Enter")
    expect(page.locator(".flashes")).to_have_text(t("%(count)s logs approved.", count=2))
    journey.check(page)

    skip_to_content(page, journey)
    journey.tab_to(page, page.get_by_role("link", name=t.name("learner02@example.org")))
    page.keyboard.press("Enter")
    journey.check(page)
    journey.tab_to(
        page,
        page.get_by_role(
            "button", name=t.plural("Approve %(hours)s hour", "Approve %(hours)s hours", 2, hours=2)
        ),
    )
    page.keyboard.press("Space")
    expect(page.locator(".flashes")).to_have_text(t("Approved."))
    # on to the next log waiting
    expect(page.locator(".details").get_by_role("link")).to_have_text(
        t.name("learner03@example.org")
    )
    journey.check(page)
