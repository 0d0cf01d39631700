"""What the field test tripped over on the forms, tried in the browser in Thai and English:
a learner's photo kept after a form error (and a Buddhist-era year typed in the date), the
timetable on the learner's home; an instructor's home, a session scheduled with a Buddhist-era
year, and an attendance sheet that marks nobody until "All present" is pressed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from lca.core.dates import buddhist_year, local_today
from tests.factories import tiny_jpeg

pytestmark = pytest.mark.e2e


def be_iso(day) -> str:
    """What a date input sends when the year is typed in the Buddhist era."""
    return f"{buddhist_year(day)}-{day.month:02d}-{day.day:02d}"


def test_a_form_error_keeps_the_photo_and_a_buddhist_year_is_understood(journey, tmp_path):
    t = journey.t
    photo = tmp_path / t.pick("เวทีชุมชน.jpg", "community-forum.jpg")
    photo.write_bytes(tiny_jpeg("orange", (640, 480)))
    learner = journey.page("phone")
    journey.sign_in(learner, "learner@example.org")
    expect(learner.get_by_role("heading", name=t("My timetable"))).to_be_visible()
    journey.check(learner)

    learner.get_by_role("link", name=t("Log hours")).first.click()
    journey.check(learner)
    learner.get_by_label(t("Module"), exact=True).select_option(
        label=t.pick("5. ปฏิบัติการจริงบนพื้นที่", "5. Field Practice")
    )
    day = local_today() - timedelta(days=3)
    learner.get_by_label(t("Day"), exact=True).fill(be_iso(day))
    learner.get_by_label(t("Hours"), exact=True).fill("2")
    learner.get_by_label(t("What did you do?")).fill(
        t.pick("จัดเวทีชวนชุมชนทำแผนที่แหล่งเรียนรู้", "Ran a forum mapping the learning sites")
    )
    learner.get_by_label(t("Evidence: photos or PDFs")).set_input_files(str(photo))
    # no mechanism, no tool, no place: every one is named at once, and the photo is kept
    learner.get_by_role("button", name=t("Send for review")).click()
    summary = learner.locator(".error-summary")
    expect(summary).to_contain_text(t("Choose the mechanism this work belongs to."))
    expect(summary).to_contain_text(t("Choose at least one tool you used."))
    expect(summary).to_contain_text(t("Say where the work took place."))
    expect(summary).not_to_contain_text(t("The day cannot be in the future."))
    kept = learner.get_by_role(
        "group", name=t("Already attached (kept from your last try): tick to remove")
    )
    expect(kept.get_by_label(photo.name)).not_to_be_checked()
    expect(
        learner.get_by_text(
            t("The files you chose are kept with this form: you do not need to choose them again.")
        )
    ).to_be_visible()
    expect(learner.get_by_label(t("Day"), exact=True)).to_have_value(day.isoformat())
    journey.check(learner)

    learner.get_by_label(t("Mechanism"), exact=True).select_option(
        label=t.pick("2. กลไกเชิงกระบวนการ", "2. Process mechanisms")
    )
    learner.get_by_label(t.pick("การจัดทำแผนที่แบบมีส่วนร่วม", "Participatory mapping")).check()
    learner.get_by_label(t("Place"), exact=True).fill(t.pick("ศาลาประชาคม", "Village hall"))
    learner.get_by_role("button", name=t("Send for review")).click()
    expect(learner.locator(".flashes")).to_have_text(t("Your hours have been sent for review."))
    expect(learner.get_by_role("img", name=t("Photo: %(name)s", name=photo.name))).to_be_visible()
    journey.check(learner)


def test_the_instructor_home_and_an_attendance_sheet_marked_deliberately(journey):
    t = journey.t
    desk = journey.page("phone" if journey.language == "th" else "desktop")
    journey.sign_in(desk, "instructor@example.org")
    expect(desk.get_by_role("heading", name=t("Next sessions")).first).to_be_visible()
    waiting = t.pick(t("%(num)s hour log waits for review", num=10), "10 hour logs wait for review")
    expect(desk.locator(".desk-waiting").first).to_contain_text(waiting)
    journey.check(desk)

    # A session today, its day typed with the Buddhist-era year.
    desk.get_by_role("link", name=t("All sessions and attendance")).first.click()
    expect(desk.locator(".attendance-taken").first).to_be_visible()
    journey.check(desk)
    desk.get_by_role("link", name=t("Schedule a session")).click()
    journey.check(desk)
    desk.get_by_label(t("Module"), exact=True).select_option(index=1)
    desk.get_by_label(t("Day"), exact=True).fill(be_iso(local_today()))
    desk.get_by_label(t("Starts at")).fill("09:00")
    desk.get_by_label(t("Hours"), exact=True).fill("3")
    desk.get_by_label(t("Place"), exact=True).fill(t.pick("หอประชุมเทศบาล", "Town hall"))
    desk.get_by_role("button", name=t("Save"), exact=True).click()

    # The sheet marks nobody; "All present" marks them; one was late.
    expect(desk.get_by_role("heading", level=1)).to_contain_text(t("Attendance"))
    expect(desk.locator("table.attendance input[type=radio]:checked")).to_have_count(0)
    journey.check(desk)
    learner = t.name("learner@example.org")
    desk.get_by_role("button", name=t("All present")).click()
    expect(desk.locator("table.attendance input[type=radio]:checked")).not_to_have_count(0)
    marks = desk.get_by_role("group", name=t("Attendance of %(name)s", name=learner))
    expect(marks.get_by_label(t("Present"), exact=True)).to_be_checked()
    marks.get_by_label(t("Late"), exact=True).check()
    row = desk.get_by_role("row").filter(has_text=learner)
    row.get_by_label(t("Hours if late")).fill("2")
    desk.get_by_role("button", name=t("Save attendance")).click()
    saved = t(
        "Attendance saved: %(recorded)s marked, %(corrected)s corrected.", recorded=0, corrected=0
    )
    expect(desk.locator(".flashes")).to_contain_text(saved.split(":")[0])
    expect(desk.get_by_text(t("Taken")).first).to_be_visible()
    journey.check(desk)
