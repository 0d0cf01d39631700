"""A learner reads the privacy notice from the footer, signs in (the notice is shown once and
acknowledged), and downloads everything LCA holds about them from the account page in
Chromium; the test opens the ZIP the browser saved."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from playwright.sync_api import expect

from lca.ops.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

LEARNER = "learner@example.org"


def test_a_learner_downloads_their_data_from_the_account_page(journey, tmp_path):
    t = journey.t
    page = journey.page("phone")
    page.goto(f"/?lang={journey.language}")
    journey.check(page)
    page.locator("footer").get_by_role("link", name=t("Privacy notice")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Privacy notice"))
    expect(page.get_by_role("button", name=t("I have read this notice"))).to_have_count(0)
    journey.check(page)

    page.goto(f"/login?lang={journey.language}")
    journey.check(page)
    page.get_by_label(t("E-mail address")).fill(LEARNER)
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    # the first sign-in shows the notice, once
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Privacy notice"))
    journey.read_privacy_notice(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Hello, %(name)s", name=t.name(LEARNER))
    )
    journey.check(page)

    page.get_by_role("link", name=t("Account")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Account"))
    journey.check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name=t("Download my data (ZIP)")).click()
    assert download.value.suggested_filename.startswith("lca-personal-data-")
    saved = tmp_path / "my-data.zip"
    download.value.save_as(saved)

    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        profile = json.loads(archive.read("profile.json"))
        assert profile["email"] == LEARNER
        assert profile["privacy_notice_seen_at"]
        readme = archive.read("README.txt").decode()
        assert "ข้อมูลส่วนบุคคลของท่าน" in readme and "Your personal data" in readme
        logs = json.loads(archive.read("hour_logs.json"))
        assert logs and all("description" in log for log in logs)
        files = [item for log in logs for item in log["evidence"]]
        for item in files:
            assert hashlib.sha256(archive.read(item["file"])).hexdigest() == item["sha256"]
        assert json.loads(archive.read("enrolments.json"))[0]["cohort"] == "CA-2569-01"

    # later pages: no notice again
    page.goto("/learner")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Hello, %(name)s", name=t.name(LEARNER))
    )
    journey.check(page)
