"""An administrator reads the audit log as sentences (in Thai on a phone, in English at a
desk), filters it by action and opens the object an event names; then reads a cohort's report,
whose long chart labels wrap between words and whose funnel says how it counts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

DEVICE = {"th": "phone", "en": "desktop"}


def test_admin_reads_the_audit_log_and_a_report(journey):
    t = journey.t
    desk = journey.page(DEVICE[journey.language])
    journey.sign_in(desk, "admin@example.org")
    desk.goto("/admin/")
    journey.check(desk)
    desk.get_by_role("link", name=t("Audit log")).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(t("Audit log"))
    # the newest event: this sign-in, told as a sentence with the person's name as a link
    admin = journey.t.name("admin@example.org")
    first = desk.locator(".audit-sentence").first
    expect(first).to_have_text(t("%(actor)s signed in", actor=admin))
    expect(first.get_by_role("link", name=admin)).to_be_visible()
    expect(desk.locator("code", has_text="auth.login")).to_have_count(0)
    journey.check(desk)

    # filter by action: approvals of the demo's instructor, each naming the hours and learner
    desk.get_by_label(t("Action")).select_option(label=t("Hours approved"))
    desk.get_by_role("button", name=t("Show")).click()
    sentences = desk.locator(".audit-sentence")
    expect(sentences.first).to_contain_text(journey.t.name("instructor@example.org"))
    count = sentences.count()
    assert count > 0
    for index in range(count):
        text = sentences.nth(index).inner_text()
        assert re.search(
            t(
                "%(actor)s approved %(object)s of %(learner)s",
                actor=".+",
                object=".+",
                learner=".+",
            ),
            text,
        ), text
    journey.check(desk)
    sentences.first.get_by_role("link").nth(1).click()  # the hour log it names
    expect(desk).to_have_url(re.compile(r"/hours/\d+$"))
    journey.check(desk)

    # the cohort's report: every word of a label is there, none cut with an ellipsis
    desk.goto("/reports/")
    journey.check(desk)
    desk.get_by_role("link", name="CA-2569-01").first.click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("CA-2569-01")
    expect(
        desk.get_by_text(
            t(
                "Each step counts every learner who has reached it, whether or not they have "
                "reached the steps before it: a learner whose field report passed is counted "
                "there even while some hours still wait for approval."
            )
        )
    ).to_be_visible()
    charts = desk.locator("svg.chart")
    drawn = charts.evaluate_all("charts => charts.map(chart => chart.textContent).join(' ')")
    assert "…" not in drawn
    assert desk.locator("svg.chart tspan").count() > desk.locator("svg.chart rect").count()
    journey.check(desk)
