"""In real Chromium, on a phone-sized screen: a learner logs field hours with a photo, sees the
log waiting, an instructor approves it, and the learner sees it approved."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from lca.dates import local_today
from lca.demo import DEMO_PASSWORD
from tests.factories import tiny_jpeg

pytestmark = pytest.mark.e2e
PHONE = {"width": 360, "height": 740}


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("อีเมล").fill(email)
    page.get_by_label("รหัสผ่าน").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()


def test_learner_logs_field_hours_with_a_photo_and_sees_them_approved(
    browser: Browser, base_url: str, tmp_path
):
    photo = tmp_path / "กิจกรรม.jpg"
    photo.write_bytes(tiny_jpeg("teal", (640, 480)))
    phone = browser.new_context(viewport=PHONE, base_url=base_url, is_mobile=True, has_touch=True)
    learner = phone.new_page()
    sign_in(learner, "learner@example.org")
    learner.get_by_role("link", name="บันทึกชั่วโมง").first.click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("บันทึกชั่วโมง")
    learner.get_by_label("กลุ่มวิชา").select_option(label="5. ปฏิบัติการจริงบนพื้นที่")
    expect(learner.get_by_text("สำหรับปฏิบัติการจริงบนพื้นที่เท่านั้น")).to_be_visible()
    day = (local_today() - timedelta(days=2)).isoformat()
    learner.get_by_label("วันที่").fill(day)
    learner.get_by_label("ชั่วโมง", exact=True).fill("1.5")
    learner.get_by_label("คุณทำอะไร").fill("พาเยาวชนสำรวจแหล่งเรียนรู้รอบกว๊านพะเยา")
    learner.get_by_label("กลไก", exact=True).select_option(label="กลไกเชิงกระบวนการ")
    learner.get_by_label("การจัดทำแผนที่แบบมีส่วนร่วม").check()
    learner.get_by_label("สถานที่").fill("กว๊านพะเยา")
    learner.get_by_label("หลักฐาน: รูปภาพหรือ PDF").set_input_files(str(photo))
    assert learner.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    learner.get_by_role("button", name="ส่งให้วิทยากรตรวจ").click()

    expect(learner.get_by_text("ส่งบันทึกชั่วโมงให้วิทยากรตรวจแล้ว")).to_be_visible()
    expect(learner.locator(".badge")).to_have_text("รอตรวจ")
    expect(learner.get_by_role("img", name="รูปภาพ: กิจกรรม.jpg")).to_be_visible()
    log_url = re.sub(r"^https?://[^/]+", "", learner.url)
    assert learner.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    desk = browser.new_context(base_url=base_url)
    instructor = desk.new_page()
    sign_in(instructor, "instructor@example.org")
    instructor.get_by_role("link", name="บันทึกรอตรวจ").click()
    expect(instructor.locator(f'a[href="{log_url}"]')).to_be_visible()
    instructor.goto(log_url)
    instructor.get_by_role("button", name="อนุมัติ 1.5 ชั่วโมง").click()
    expect(instructor.get_by_text("อนุมัติแล้ว").first).to_be_visible()

    learner.reload()
    expect(learner.locator(".badge")).to_have_text("อนุมัติแล้ว")
    learner.goto("/learner")
    expect(learner.get_by_text("อนุมัติแล้ว")).to_be_visible()
    phone.close()
    desk.close()
