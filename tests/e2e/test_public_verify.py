"""Someone with no account, on a phone, in Thai and in English: reads the QR code of an issued
certificate PDF, opens the verification page it points to, and checks the PDF against it; then
types the printed code instead, and a mistyped one."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect

from lca.certificates.codes import display_code

pytestmark = pytest.mark.e2e


def test_anyone_verifies_a_certificate_from_its_qr_code(
    journey, tmp_path, issue_certificate_of, qr_codes
):
    t = journey.t
    issued = issue_certificate_of(journey.server.app, "graduate@example.org")
    if journey.language == "th":  # one certificate picture is enough: it is in both languages
        journey.save_png(
            journey.pdf_page_png(issued.pdf, tmp_path), journey.shots / "certificate.png"
        )

    [link] = qr_codes(issued.pdf, tmp_path)
    assert link == f"{journey.server.url}/verify/{issued.code}"
    visitor = journey.page("phone")
    visitor.goto(link)
    if journey.language == "en":  # a QR code opens in Thai, the programme's language
        journey.check(visitor, language="th")
        visitor.get_by_role("navigation", name="ภาษา").get_by_role("link", name="English").click()
    expect(visitor.get_by_role("heading", level=1)).to_contain_text(t("This certificate is valid"))
    details = visitor.locator("dl.details")
    expect(details).to_contain_text(t.name("graduate@example.org"))
    expect(details).to_contain_text(issued.serial)
    expect(details).to_contain_text(t.plural("%(hours)s hour", "%(hours)s hours", 45, hours=45))
    expect(details.locator("code")).to_have_text(hashlib.sha256(issued.pdf).hexdigest())
    expect(visitor.get_by_role("row")).to_have_count(9)  # heading, seven modules, total
    journey.check(visitor)
    journey.screenshot(visitor, "verify")
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name=t("Download the PDF as issued")).click()
    assert download.value.path().read_bytes() == issued.pdf

    # The code printed on the certificate, typed by hand, in lower case.
    visitor.get_by_role("link", name=t("Verify a certificate")).click()
    journey.check(visitor)
    visitor.get_by_label(t("Verification code")).fill(display_code(issued.code).lower())
    visitor.get_by_role("button", name=t("Verify")).click()
    expect(visitor).to_have_url(link)
    expect(visitor.get_by_text(issued.serial)).to_be_visible()
    journey.check(visitor)
    visitor.get_by_role("link", name=t("Verify a certificate")).click()
    journey.check(visitor)
    visitor.get_by_label(t("Verification code")).fill("A" * 32)
    visitor.get_by_role("button", name=t("Verify")).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(t("No certificate has this code"))
    journey.check(visitor)
