"""In real Chromium: an instructor grades a field report with the rubric; the learner reads
the scores and feedback."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_hours import sign_in

pytestmark = pytest.mark.e2e


def test_instructor_grades_a_report_and_the_learner_reads_it(browser: Browser, base_url: str):
    desk = browser.new_context(base_url=base_url)
    instructor = desk.new_page()
    sign_in(instructor, "instructor@example.org")
    instructor.get_by_role("link", name="รายงานภาคสนาม").click()
    instructor.get_by_role("link", name="น้ำฝน ปู่ทอง").click()
    expect(instructor.get_by_role("heading", level=1)).to_have_text("รายงานภาคสนามของ น้ำฝน ปู่ทอง")
    points = instructor.get_by_label("คะแนน (0 ถึง", exact=False)
    expect(points).to_have_count(5)
    for index, value in enumerate(["15", "14", "16", "20", "11"]):
        points.nth(index).fill(value)
    instructor.get_by_label("ความเห็น").first.fill("ใช้ข้อมูลเมืองได้ดี")
    instructor.get_by_label("ผ่าน", exact=True).check()
    instructor.get_by_label("ข้อเสนอแนะโดยรวม").fill("ผ่าน ขอให้เผยแพร่ผลงานต่อ")
    instructor.get_by_role("button", name="บันทึกผลการประเมิน").click()
    expect(instructor.get_by_text("บันทึกผลการประเมินแล้ว")).to_be_visible()

    phone = browser.new_context(base_url=base_url, viewport={"width": 360, "height": 740})
    learner = phone.new_page()
    sign_in(learner, "learner01@example.org")
    learner.get_by_role("link", name="รายงานภาคสนามของฉัน").first.click()
    expect(learner.get_by_role("heading", name="ผ่าน · 76 จาก 100 คะแนน")).to_be_visible()
    expect(learner.get_by_text("ใช้ข้อมูลเมืองได้ดี")).to_be_visible()
    expect(learner.get_by_text("ผ่าน ขอให้เผยแพร่ผลงานต่อ")).to_be_visible()
    desk.close()
    phone.close()
