"""An administrator, in Thai on a phone and in English at a desk: imports learners from a CSV
file (fixing the row the preview flags; a new learner sets a password with the link), issues
the cohort's certificates, prints the batch PDF and revokes one."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from lca.core.dates import format_day, local_today

pytestmark = pytest.mark.e2e

DEVICE = {"th": "phone", "en": "desktop"}
HEADER = "อีเมล,ชื่อ-นามสกุล,ชื่อภาษาอังกฤษ,เมือง,หน่วยงาน\n"
ROWS = (
    "kulap.e2e@example.org,กุหลาบ น้ำใจดี,Kulap Namjaidee,พะเยา,เทศบาลเมืองพะเยา\n"
    "thanakorn.e2e@example.org,ธนากร ฤๅษีวงศ์,,{city},สำนักงานจังหวัด\n"
)


def test_admin_imports_learners_issues_prints_and_revokes(
    journey, tmp_path, add_a_second_graduate, pdf_text
):
    t = journey.t
    wrong = tmp_path / "รายชื่อผู้เรียน.csv"
    wrong.write_bytes(("\ufeff" + HEADER + ROWS.format(city="พะยาว")).encode("utf-8"))
    right = tmp_path / "รายชื่อผู้เรียน-แก้แล้ว.csv"
    right.write_bytes((HEADER + ROWS.format(city="สุโขทัย")).encode("utf-8"))
    duangjai = add_a_second_graduate(journey.server.app)

    desk = journey.page(DEVICE[journey.language])
    journey.sign_in(desk, "admin@example.org")
    desk.get_by_role("link", name=t("Cohorts"), exact=True).click()
    journey.check(desk)
    desk.get_by_role("link", name="CA-2569-01").first.click()
    journey.check(desk)

    # Import: the preview flags a misspelt city and imports nothing; the corrected file goes in.
    desk.get_by_role("link", name=t("Import learners from a spreadsheet")).click()
    journey.check(desk)
    upload = desk.get_by_label(t("Spreadsheet of learners (CSV or XLSX)"))
    upload.set_input_files(wrong)
    desk.get_by_role("button", name=t("Check the file")).click()
    expect(desk.get_by_role("alert")).to_contain_text(
        t(
            "%(count)s rows have problems. Nothing will be imported until every problem is "
            "fixed in the file and it is uploaded again.",
            count=1,
        )
    )
    expect(
        desk.get_by_text(
            t(
                "No city is called %(city)s; did you mean %(nearest)s?",
                city="พะยาว",
                nearest="พะเยา",
            )
        )
    ).to_be_visible()
    expect(
        desk.get_by_role("button", name=t("Import all %(count)s learners", count=2))
    ).to_have_count(0)
    journey.check(desk)
    upload.set_input_files(right)
    desk.get_by_role("button", name=t("Check the file")).click()
    expect(desk.get_by_role("cell", name="ธนากร ฤๅษีวงศ์")).to_be_visible()
    expect(desk.get_by_role("cell", name=t("New account"))).to_have_count(2)
    journey.check(desk)
    desk.get_by_role("button", name=t("Import all %(count)s learners", count=2)).click()
    # the import asks first, saying what will happen (lca/static/js/confirm.js)
    asked = desk.get_by_role("dialog", name=t("Are you sure?"))
    expect(asked).to_contain_text(
        t(
            "%(count)s learners will be enrolled in %(code)s, and each new account gets an "
            "invitation by e-mail.",
            count=2,
            code="CA-2569-01",
        )
    )
    journey.check(desk)
    asked.get_by_role("button", name=t("Import all %(count)s learners", count=2)).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(
        t("%(count)s learners imported into %(code)s", count=2, code="CA-2569-01")
    )
    journey.check(desk)
    link = desk.get_by_role("row").filter(has_text="กุหลาบ น้ำใจดี").locator("code").inner_text()
    assert link.startswith(journey.server.url + "/set-password/")

    newcomer = journey.page("phone")
    newcomer.goto(f"{link}?lang={journey.language}")
    expect(newcomer.get_by_text("kulap.e2e@example.org")).to_be_visible()
    journey.check(newcomer)
    newcomer.get_by_label(t("New password"), exact=True).fill("ดอกกุหลาบบานที่พะเยา")
    newcomer.get_by_label(t("New password again")).fill("ดอกกุหลาบบานที่พะเยา")
    newcomer.get_by_role("button", name=t("Set my password")).click()
    expect(newcomer.locator(".flashes")).to_have_text(t("Your password is set. Welcome!"))
    journey.check(newcomer)
    newcomer.goto(link)  # spent: the page says so instead of offering the form
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(t("This link no longer works"))
    journey.check(newcomer)

    # Certificates: both graduates at once, the cohort printed as one PDF, one revoked.
    desk.get_by_role("link", name=t("Back to the cohort")).click()
    journey.check(desk)
    desk.get_by_role("link", name=t("Certificates"), exact=True).click()
    expect(
        desk.get_by_text(t("%(count)s learners are eligible and have no certificate yet.", count=2))
    ).to_be_visible()
    journey.check(desk)
    desk.get_by_role("button", name=t("Issue all eligible learners' certificates")).click()
    journey.confirm(desk)
    expect(desk.get_by_role("status")).to_have_text(t("Done."))
    issued = desk.locator("ol.batch li")
    expect(issued).to_have_count(2)
    expect(issued.filter(has_text=t("issued"))).to_have_count(2)
    journey.check(desk)
    desk.get_by_role("link", name=t("Back to the certificates")).click()
    register = desk.get_by_role("region", name=t("Certificates issued"))
    expect(register.get_by_text(t("Valid"), exact=True)).to_have_count(2)
    journey.check(desk)
    with desk.expect_download() as download:
        desk.get_by_role("link", name=t("Print the cohort (one PDF)")).click()
    batch = download.value.path().read_bytes()
    assert len(PdfReader(io.BytesIO(batch)).pages) == 2
    printed = pdf_text(batch, tmp_path)
    assert "ธนากร ศักดิ์สิทธิ์" in printed
    assert duangjai["th"] in printed

    register.get_by_role("row").filter(has_text=duangjai[journey.language]).get_by_role(
        "link"
    ).click()
    journey.check(desk)
    revoke = desk.get_by_role("region", name=t("Revoke"))
    revoke.get_by_label(t("Reason")).fill(
        t.pick("ออกให้ผิดคน ตรวจพบเมื่อทานชื่อ", "Issued in error: the name check failed")
    )
    revoke.get_by_role("button", name=t("Revoke")).click()
    journey.confirm(desk)
    expect(desk.locator(".page-head .badge")).to_have_text(t("Revoked"))
    journey.check(desk)
    desk.get_by_role("link", name="/verify/").click()
    revoked_on = format_day(local_today(), "long", journey.language)
    expect(desk.get_by_role("heading", level=1)).to_contain_text(
        t("This certificate was revoked on %(date)s", date=revoked_on)
    )
    journey.check(desk)
