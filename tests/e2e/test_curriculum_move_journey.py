"""An administrator, in Thai on a phone and in English at a desk, previews the demo cohort's
move to a new curriculum version (field practice 12 hours, module 7 gone, a module 8), moves
it with a reason, and finds the move on the cohort's page; the demo learner then reads the
hours carried over from the earlier curriculum on their own page."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from lca.core.db import db
from lca.curriculum.services import current_version, field_catalogues_of, modules_of
from lca.curriculum.versions import VersionPlan, create_version
from lca.models import ModuleKind

pytestmark = pytest.mark.e2e

DEVICE = {"th": "phone", "en": "desktop"}
NAME = {"th": "CA 48 ชั่วโมง, 2570", "en": "CA 48 hours, 2027"}


def _add_a_second_version(app) -> None:
    with app.app_context():
        first = current_version()
        rows = []
        for m in modules_of(first.id):
            if m.number == 7:
                continue
            rows.append(
                {
                    "number": m.number,
                    "title_th": m.title_th,
                    "title_en": m.title_en,
                    "hours": 12 if m.is_field else m.hours,
                    "kind": m.kind,
                    "description_th": m.description_th,
                    "description_en": m.description_en,
                    "field_window_months": m.field_window_months,
                }
            )
        rows.append(
            {
                "number": 8,
                "title_th": "การออกแบบเมืองแห่งการเรียนรู้ร่วมกับชุมชน",
                "title_en": "Co-designing a Learning City with its Communities",
                "hours": 6,
                "kind": ModuleKind.CLASSROOM,
                "description_th": "",
                "description_en": "",
                "field_window_months": None,
            }
        )
        mechanisms, tools = field_catalogues_of(first.id)
        plan = VersionPlan(
            modules=rows,
            mechanism_codes=[m.code for m in mechanisms],
            tool_codes=[t.code for t in tools],
            name_th=NAME["th"],
            name_en=NAME["en"],
            takes_effect_on=date(2027, 1, 1),
        )
        create_version(plan, ["module 5 hours: 9 -> 12", "module 7 removed", "module 8 added"])
        db.session.commit()
        db.session.remove()


def test_admin_previews_and_moves_a_cohort_to_a_new_curriculum(journey):
    t = journey.t
    _add_a_second_version(journey.server.app)
    page = journey.page(DEVICE[journey.language])
    journey.sign_in(page, "admin@example.org")
    page.get_by_role("link", name=t("Cohorts"), exact=True).click()
    journey.check(page)
    page.get_by_role("link", name="CA-2569-01").first.click()
    journey.check(page)
    page.get_by_role("link", name=t("Move to another curriculum version")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Curriculum of cohort %(code)s", code="CA-2569-01")
    )
    journey.check(page)

    page.get_by_role(
        "link", name=t("Preview a move to %(name)s", name=NAME[journey.language])
    ).click()
    expect(
        page.get_by_role(
            "heading", level=2, name=t("Preview: moving to %(name)s", name=NAME[journey.language])
        )
    ).to_be_visible()
    expect(page.locator("table.move-learners")).to_contain_text(t.name("graduate@example.org"))
    journey.check(page)
    journey.screenshot(page, "curriculum-move-preview")

    reason = t.pick("ใช้หลักสูตรปี 2570 ตามมติคณะกรรมการ", "The 2027 curriculum, as the board decided")
    page.get_by_label(t("Reason for the move")).fill(reason)
    page.get_by_role(
        "button", name=t("Move the cohort to %(name)s", name=NAME[journey.language])
    ).click()
    journey.confirm(
        page,
        says=t(
            "Cohort %(code)s will follow %(name)s from now on.",
            code="CA-2569-01",
            name=NAME[journey.language],
        ),
    )
    expect(page.locator(".flashes")).to_have_text(
        t(
            "Cohort %(code)s now follows the curriculum %(name)s.",
            code="CA-2569-01",
            name=NAME[journey.language],
        )
    )
    expect(page.locator("table.curriculum-moves")).to_contain_text(reason)
    expect(page.locator("table.curriculum-moves")).to_contain_text(t.name("admin@example.org"))
    journey.check(page)
