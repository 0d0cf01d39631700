"""In real Chromium: an administrator imports learners with Thai names from a CSV file, fixes
the row the preview flags, and a new learner sets a password with the link from the import."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_hours import sign_in

pytestmark = pytest.mark.e2e

HEADER = "อีเมล,ชื่อ-นามสกุล,ชื่อภาษาอังกฤษ,เมือง,หน่วยงาน\n"
ROWS = (
    "kulap.e2e@example.org,กุหลาบ น้ำใจดี,Kulap Namjaidee,พะเยา,เทศบาลเมืองพะเยา\n"
    "thanakorn.e2e@example.org,ธนากร ฤๅษีวงศ์,,{city},สำนักงานจังหวัด\n"
)


def test_admin_imports_thai_learners_and_one_sets_a_password(
    browser: Browser, base_url: str, tmp_path
):
    wrong = tmp_path / "รายชื่อผู้เรียน.csv"
    wrong.write_bytes(("\ufeff" + HEADER + ROWS.format(city="พะยาว")).encode("utf-8"))
    right = tmp_path / "รายชื่อผู้เรียน-แก้แล้ว.csv"
    right.write_bytes((HEADER + ROWS.format(city="สุโขทัย")).encode("utf-8"))

    desk = browser.new_context(base_url=base_url)
    admin = desk.new_page()
    sign_in(admin, "admin@example.org")
    admin.goto("/cohorts/")
    admin.get_by_role("link", name="CA-2569-01").first.click()
    admin.get_by_role("link", name="นำเข้าผู้เรียนจากตารางคำนวณ").click()

    admin.get_by_label("ตารางรายชื่อผู้เรียน (CSV หรือ XLSX)").set_input_files(wrong)
    admin.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(admin.get_by_role("alert")).to_contain_text("มี 1 แถวที่มีปัญหา")
    expect(admin.get_by_text("ไม่มีเมืองชื่อ พะยาว หมายถึง พะเยา หรือไม่")).to_be_visible()
    expect(admin.get_by_role("button", name="นำเข้าผู้เรียนทั้ง 2 คน")).to_have_count(0)

    admin.get_by_label("ตารางรายชื่อผู้เรียน (CSV หรือ XLSX)").set_input_files(right)
    admin.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(admin.get_by_role("cell", name="ธนากร ฤๅษีวงศ์")).to_be_visible()
    expect(admin.get_by_role("cell", name="บัญชีใหม่")).to_have_count(2)
    admin.get_by_role("button", name="นำเข้าผู้เรียนทั้ง 2 คน").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        "นำเข้าผู้เรียน 2 คนเข้ารุ่น CA-2569-01 แล้ว"
    )
    row = admin.get_by_role("row").filter(has_text="กุหลาบ น้ำใจดี")
    link = row.locator("code").inner_text()
    assert link.startswith(base_url + "/set-password/")

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    learner = phone.new_page()
    learner.goto(link)
    expect(learner.get_by_text("kulap.e2e@example.org")).to_be_visible()
    learner.get_by_label("รหัสผ่านใหม่", exact=True).fill("ดอกกุหลาบบานที่พะเยา")
    learner.get_by_label("ยืนยันรหัสผ่านใหม่").fill("ดอกกุหลาบบานที่พะเยา")
    learner.get_by_role("button", name="ตั้งรหัสผ่าน").click()
    expect(learner.get_by_text("ตั้งรหัสผ่านแล้ว ยินดีต้อนรับ!")).to_be_visible()
    # The link is spent: opening it again says so instead of offering the form.
    learner.goto(link)
    expect(learner.get_by_role("heading", level=1)).to_have_text("ลิงก์นี้ใช้ไม่ได้แล้ว")
    desk.close()
    phone.close()
