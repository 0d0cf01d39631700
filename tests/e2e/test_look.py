"""The look and feel, in Thai and in English on a 360-px phone: a destructive button looks
different from a safe one and asks first (Escape or cancel leaves everything as it was;
without JavaScript the form simply submits); Thai reads in Sarabun, served by LCA itself; the
pages carry a favicon; the cohort matrix is a short list a phone can search and filter."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lca.core.db import db
from lca.models import User
from tests.e2e.support import DESKTOP, PHONE

pytestmark = pytest.mark.e2e

BACKGROUND = "el => getComputedStyle(el).backgroundColor"


def user_id(app, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.email == email))
        db.session.remove()
    assert found is not None
    return found


def is_active(app, email: str) -> bool:
    with app.app_context():
        active = db.session.scalar(select(User.is_active).where(User.email == email))
        db.session.remove()
    return bool(active)


def test_deactivating_an_account_looks_dangerous_and_asks_first(journey):
    t, app = journey.t, journey.server.app
    email = "learner@example.org"
    page = journey.page("phone")
    journey.sign_in(page, "admin@example.org")
    page.goto(f"/admin/users/{user_id(app, email)}/edit")
    journey.check(page)
    name = journey.t.name(email)

    deactivate = page.get_by_role("button", name=t("Deactivate this account"))
    save = page.get_by_role("button", name=t("Save"))
    sign_out = page.get_by_role("button", name=t("Sign out on every device"))
    assert deactivate.evaluate(BACKGROUND) == "rgb(179, 38, 30)"  # --danger
    assert save.evaluate(BACKGROUND) == "rgb(11, 93, 75)"  # --brand
    assert sign_out.evaluate(BACKGROUND) == "rgb(255, 255, 255)"  # secondary: outlined
    deactivate.hover()
    assert deactivate.evaluate(BACKGROUND) != save.evaluate(BACKGROUND)

    # The question says what will happen; the safe answer has the focus; Escape cancels.
    deactivate.click()
    dialog = page.get_by_role("dialog", name=t("Are you sure?"))
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        t(
            "The account of %(name)s will be deactivated: they can no longer sign in, and "
            "their open sessions end.",
            name=name,
        )
    )
    expect(dialog.get_by_role("button", name=t("Cancel"))).to_be_focused()
    yes = dialog.get_by_role("button", name=t("Deactivate this account"))
    assert yes.evaluate(BACKGROUND) == "rgb(179, 38, 30)"
    journey.check(page)  # axe on the open dialog
    journey.screenshot(page, "confirm-deactivate")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(deactivate).to_be_focused()
    assert is_active(app, email)

    deactivate.click()
    dialog.get_by_role("button", name=t("Cancel")).click()
    expect(dialog).to_have_count(0)
    assert is_active(app, email)

    deactivate.click()
    dialog.get_by_role("button", name=t("Deactivate this account")).click()
    expect(page.get_by_text(t("This account is inactive: it cannot sign in."))).to_be_visible()
    journey.check(page)
    assert not is_active(app, email)


def test_without_javascript_a_destructive_button_just_submits(journey):
    """The server's rules decide: with scripts off, the button submits without a question.
    (axe-core needs scripts, so this page is checked with them on, in the test above.)"""
    t, app = journey.t, journey.server.app
    email = "learner@example.org"
    page = journey.page("phone")
    journey.sign_in(page, "admin@example.org")
    without_scripts = journey.browser.new_context(
        base_url=journey.server.url,
        viewport=PHONE,
        java_script_enabled=False,
        storage_state=page.context.storage_state(),
    )
    try:
        bare = without_scripts.new_page()
        bare.goto(f"/admin/users/{user_id(app, email)}/edit")
        bare.get_by_role("button", name=t("Deactivate this account")).click()
        expect(bare.get_by_text(t("This account is inactive: it cannot sign in."))).to_be_visible()
    finally:
        without_scripts.close()
    assert not is_active(app, email)


FONTS_JS = """async () => {
  await document.fonts.ready;
  return [...document.fonts]
    .filter((f) => f.family.replace(/"/g, "") === "Sarabun" && f.status === "loaded")
    .map((f) => f.weight);
}"""

FETCH_JS = """async (url) => {
  const response = await fetch(url);
  return {status: response.status, type: response.headers.get("content-type")};
}"""


def test_thai_reads_in_sarabun_served_by_lca_and_the_pages_have_an_icon(journey):
    t = journey.t
    page = journey.page("phone")
    page.goto(f"/?lang={journey.language}")
    journey.check(page)
    loaded = page.evaluate(FONTS_JS)
    assert "400" in loaded and "700 900" in loaded, loaded
    assert page.evaluate("() => document.fonts.check('17px Sarabun', 'เมืองแห่งการเรียนรู้')")
    fetched = page.evaluate(
        "() => performance.getEntriesByType('resource').map((r) => new URL(r.name).pathname)"
    )
    assert "/static/fonts/sarabun-400.ttf" in fetched
    heading = page.get_by_role("heading", level=1)
    assert "Sarabun" in heading.evaluate("el => getComputedStyle(el).fontFamily")

    assert page.evaluate(FETCH_JS, "/static/fonts/sarabun-700.ttf") == {
        "status": 200,
        "type": "font/ttf",
    }
    assert page.evaluate(FETCH_JS, "/static/fonts/sarabun-100.ttf")["status"] == 404
    assert page.evaluate(FETCH_JS, "/static/fonts/Sarabun-Thin.ttf")["status"] == 404

    icon = page.locator("link[rel=icon]")
    href = icon.get_attribute("href")
    assert href == "/static/favicon.svg"
    assert page.evaluate(FETCH_JS, href) == {"status": 200, "type": "image/svg+xml; charset=utf-8"}
    assert page.evaluate(FETCH_JS, "/favicon.ico")["type"].startswith("image/svg+xml")
    expect(page.get_by_role("link", name=t("Curriculum")).first).to_be_visible()


ONE_LINE_JS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.getClientRects().length > 0)
  .filter((el) => {
    const lines = el.getClientRects().length;
    const height = el.getBoundingClientRect().height;
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.6;
    return lines > 1 || height > line * 1.5;
  })
  .map((el) => el.outerHTML.slice(0, 100))"""


def cohort_id(app, code: str = "CA-2569-01") -> int:
    from lca.models import Cohort

    with app.app_context():
        found = db.session.scalar(select(Cohort.id).where(Cohort.code == code))
        db.session.remove()
    assert found is not None
    return found


def test_the_cohort_matrix_is_a_short_list_on_a_phone(journey):
    t, app = journey.t, journey.server.app
    page = journey.page("phone")
    journey.sign_in(page, "instructor@example.org")
    url = f"/cohorts/{cohort_id(app)}/progress"
    page.goto(url)
    journey.check(page)
    journey.screenshot(page, "cohort-matrix")
    cards = page.locator(".learner-card")
    everyone = cards.count()
    assert everyone >= 10
    expect(page.locator(".matrix-wide")).to_be_hidden()
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 250 * everyone, f"{height} px for {everyone} learners"
    # the cohort code, status words and badges each stay on one line
    assert page.evaluate(ONE_LINE_JS, "h1 .code, .learner-card .badge, .card-facts .status") == []

    # The search box narrows the list as a name is typed.
    name = journey.t.name("learner@example.org")
    search = page.get_by_label(t("Search by name"))
    search.fill(name.split()[0])
    expect(cards.filter(visible=True)).to_have_count(1)
    expect(cards.filter(visible=True)).to_contain_text(name)
    search.fill("ไม่มีชื่อนี้ nobody")
    expect(cards.filter(visible=True)).to_have_count(0)
    expect(page.get_by_text(t("No learner matches."))).to_be_visible()
    search.fill("")
    expect(cards.filter(visible=True)).to_have_count(everyone)

    # Who is behind: a filter the server applies (it works without scripts).
    page.get_by_label(t("Only learners who are behind")).check()
    page.get_by_role("button", name=t("Show"), exact=True).click()
    expect(page).to_have_url(re.compile(r"behind=1"))
    journey.check(page)
    behind = cards.count()
    assert 0 < behind < everyone
    expect(page.locator(".learner-card .behind")).to_have_count(behind)
    expect(
        page.get_by_text(t("%(shown)s of %(total)s learners shown.", shown=behind, total=everyone))
    ).to_be_visible()

    # At a desk the table stays, with the filter kept in its sort links.
    page.set_viewport_size(DESKTOP)
    expect(page.locator(".learner-cards")).to_be_hidden()
    table = page.get_by_role("table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(behind)
    sort = table.get_by_role("link", name=t("Total"))
    assert "behind=1" in (sort.get_attribute("href") or "")
    sort.click()
    journey.check(page)
    expect(table.locator("tbody tr")).to_have_count(behind)
    journey.screenshot(page, "cohort-matrix-behind")
