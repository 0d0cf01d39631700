"""An administrator, in Thai on a phone and in English at a desk, extends a learner's field
window, mistypes the year, is asked to confirm, and corrects the date afterwards; the history
lists both changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from lca.core.dates import format_day, local_today

pytestmark = pytest.mark.e2e

DEVICE = {"th": "phone", "en": "desktop"}


def _day(page, label: str, day: date) -> None:
    page.get_by_label(label).fill(day.isoformat())


def test_admin_corrects_a_mistyped_field_window_extension(journey):
    t = journey.t
    page = journey.page(DEVICE[journey.language])
    journey.sign_in(page, "admin@example.org")
    page.get_by_role("link", name=t("Cohorts"), exact=True).click()
    journey.check(page)
    page.get_by_role("link", name="CA-2569-01").first.click()
    journey.check(page)
    journey.screenshot(page, "cohort")

    learner = t.name("learner@example.org")
    row = page.get_by_role("row").filter(has_text=learner)
    row.get_by_role("link", name=t("Change the field window")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Field window of %(name)s", name=learner)
    )
    journey.check(page)

    today = local_today()
    sensible = today + timedelta(days=150)  # after the demo's field window, before the limit
    mistake = sensible.replace(year=sensible.year + 4)  # the year mistyped: far past the end
    label = t("New last day of the field window")
    _day(page, label, mistake)
    page.get_by_label(t("Reason")).fill(t.pick("ลาคลอด 3 เดือน", "Maternity leave, 3 months"))
    page.get_by_role("button", name=t("Save the new last day")).click()
    # Asked to confirm: the warning says why, the box is offered, nothing is saved yet.
    confirm = page.get_by_label(t("Confirm this date"))
    expect(confirm).to_be_visible()
    expect(page.locator("#confirm-error")).to_contain_text(
        format_day(mistake, language=journey.language)
    )
    expect(page.get_by_text(t("The field window has not been changed."))).to_be_visible()
    journey.check(page)
    journey.screenshot(page, "field-window-confirm")
    confirm.check()
    page.get_by_role("button", name=t("Save the new last day")).click()
    expect(page.locator(".flashes")).to_have_text(t("The field window has been changed."))
    journey.check(page)

    # The mistake is corrected to a sensible day, earlier than the mistaken one.
    _day(page, label, sensible)
    page.get_by_label(t("Reason")).fill(
        t.pick("พิมพ์ปีผิด แก้เป็นปีที่ถูกต้อง", "The year was mistyped; corrected")
    )
    page.get_by_role("button", name=t("Save the new last day")).click()
    expect(page.locator(".flashes")).to_have_text(t("The field window has been changed."))
    changes = page.locator("table.field-window-history tbody tr")
    expect(changes).to_have_count(2)
    correction = changes.nth(1)
    expect(correction).to_contain_text(t("(corrected to an earlier day)"))
    expect(correction).to_contain_text(
        t.pick("พิมพ์ปีผิด แก้เป็นปีที่ถูกต้อง", "The year was mistyped; corrected")
    )
    expect(correction).to_contain_text(t.name("admin@example.org"))
    journey.check(page)

    # The learner's progress page says the same and links back to the change.
    page.get_by_role("link", name=t("The learner's progress")).click()
    expect(page.locator("table.field-window-history")).to_contain_text(
        t("(corrected to an earlier day)")
    )
    journey.check(page)
