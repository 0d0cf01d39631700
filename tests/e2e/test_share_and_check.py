"""A graduate on a 360-px phone opens their certificate and finds where to take it (LinkedIn,
a wallet, the badge); someone who was sent the PDF checks the file on the verify page and is
told it is exactly the one LCA issued."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_graduate_shares_the_certificate_and_a_visitor_checks_the_pdf(
    journey, tmp_path, issue_certificate_of
):
    t = journey.t
    issued = issue_certificate_of(journey.server.app, "graduate@example.org")
    graduate = journey.page("phone")
    journey.sign_in(graduate, "graduate@example.org")
    graduate.get_by_role("link", name=t("Add to LinkedIn, a wallet or a badge")).click()
    expect(graduate.get_by_role("heading", level=1)).to_have_text(
        t("Certificate %(serial)s", serial=issued.serial)
    )
    share = graduate.get_by_role("region", name=t("Share or keep this certificate"))
    expect(share).to_be_visible()
    linkedin = share.get_by_role("link", name=t("Add to LinkedIn"))
    query = parse_qs(urlsplit(linkedin.get_attribute("href")).query)
    assert query["certId"] == [issued.serial]
    assert query["certUrl"] == [f"{journey.server.url}/verify/{issued.code}"]
    link = share.get_by_label(t("Link to the credential"))
    expect(link).to_have_value(f"{journey.server.url}/verify/{issued.code}/credential.json")
    badge = share.get_by_role("img")
    expect(badge).to_be_visible()
    expect(badge).to_have_js_property("naturalWidth", 600)  # the baked PNG, loaded
    journey.check(graduate)
    journey.screenshot(graduate, "certificate-share")

    with graduate.expect_download() as wallet:
        share.get_by_role("link", name=t("Download the credential (.json)")).click()
    assert wallet.value.suggested_filename == f"{issued.serial}.json"
    with graduate.expect_download() as png:
        share.get_by_role("link", name=t("Download the badge (PNG)")).click()
    assert png.value.suggested_filename == f"{issued.serial}-badge.png"
    baked = Image.open(io.BytesIO(png.value.path().read_bytes())).text["openbadgecredential"]
    assert baked == wallet.value.path().read_text(encoding="utf-8")

    # Someone the graduate sent the PDF to checks it on the verify page.
    pdf = tmp_path / f"{issued.serial}.pdf"
    pdf.write_bytes(issued.pdf)
    visitor = journey.page("phone")
    visitor.goto(f"/verify?lang={journey.language}")
    journey.check(visitor)
    visitor.get_by_label(t("File to check")).set_input_files(str(pdf))
    visitor.get_by_role("button", name=t("Check this file")).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(
        "✓ " + t("This PDF is exactly the one LCA issued")
    )
    details = visitor.locator("dl.details")
    expect(details).to_contain_text(issued.serial)
    expect(details).to_contain_text(t.name("graduate@example.org"))
    expect(details).to_contain_text(t("This certificate is valid"))
    journey.check(visitor)
    journey.screenshot(visitor, "check-file")

    # A badge image with nothing baked in proves nothing.
    plain = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), "white").save(plain)
    visitor.get_by_label(t("File to check")).set_input_files(str(plain))
    visitor.get_by_role("button", name=t("Check this file")).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(
        "✕ " + t("This image carries no credential")
    )
    journey.check(visitor)
