"""In real Chromium: each demo account signs in through the form and lands on its Thai home."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from lca.ops.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("email", "path", "heading"),
    [
        ("admin@example.org", "/admin/", "ผู้ดูแลระบบ"),
        ("instructor@example.org", "/instructor", "สวัสดี ประเสริฐ แก้วมณี"),
        ("learner@example.org", "/learner", "สวัสดี กมลชนก บุญมา"),
        ("graduate@example.org", "/learner", "สวัสดี ธนากร ศักดิ์สิทธิ์"),
    ],
)
def test_sign_in_and_see_the_role_home_in_thai(page: Page, live_server, email, path, heading):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="เข้าสู่ระบบ").click()
    page.get_by_label("อีเมล").fill(email)
    page.get_by_label("รหัสผ่าน").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    if "learner" not in path:  # staff: the second step, the code from the demo's app key
        expect(page.get_by_role("heading", level=1)).to_have_text("การยืนยันตัวตนขั้นที่สอง")
        for steps_ahead in (0, 1):  # the next code if this one was used by an earlier test
            totp = pyotp.TOTP(DEMO_TOTP_SECRET)
            code = totp.at(int(time.time()) + steps_ahead * totp.interval)
            page.get_by_label("รหัสจากแอปยืนยันตัวตน").fill(code)
            page.get_by_role("button", name="ดำเนินการต่อ").click()
            page.wait_for_load_state()
            if "/login/second-step" not in page.url:
                break
    expect(page).not_to_have_url(re.compile(r"/login"))
    read = page.get_by_role("button", name="รับทราบประกาศนี้แล้ว")  # at the first sign-in only
    if read.count():
        expect(page.get_by_role("heading", level=1)).to_have_text("ประกาศความเป็นส่วนตัว")
        read.click()
    expect(page).to_have_url(f"{live_server}{path}")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    if "learner" in path:
        expect(page.get_by_text("CA-2569-01")).to_be_visible()
    page.get_by_role("button", name="ออกจากระบบ").click()
    expect(page.get_by_text("ออกจากระบบแล้ว")).to_be_visible()
