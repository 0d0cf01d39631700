"""A learner in the field, on a 360×740 phone, in Thai and in English: logs field hours with a
photo, answers the log the instructor returned, hands in the revised field report; a graduate
downloads the certificate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from lca.core.dates import format_day, local_today
from tests.factories import tiny_jpeg

pytestmark = pytest.mark.e2e


def test_learner_logs_answers_reports_and_downloads_the_certificate(
    journey, tmp_path, issue_certificate_of, pdf_text
):
    t = journey.t
    photo = tmp_path / t.pick("กิจกรรมกว๊าน.jpg", "field-visit.jpg")
    photo.write_bytes(tiny_jpeg("teal", (640, 480)))
    learner = journey.page("phone")
    journey.sign_in(learner, "learner@example.org")
    expect(learner.get_by_role("heading", level=1)).to_have_text(
        t("Hello, %(name)s", name=t.name("learner@example.org"))
    )
    expect(learner.get_by_text("CA-2569-01").first).to_be_visible()
    journey.screenshot(learner, "learner-home")

    # Field hours with a photo.
    learner.get_by_role("link", name=t("Log hours")).first.click()
    expect(learner.get_by_role("heading", level=1)).to_have_text(t("Log hours"))
    journey.check(learner)
    learner.get_by_label(t("Module"), exact=True).select_option(
        label=t.pick("5. ปฏิบัติการจริงบนพื้นที่", "5. Field Practice")
    )
    expect(learner.get_by_text(t("Field practice only"))).to_be_visible()
    day = local_today() - timedelta(days=2)
    learner.get_by_label(t("Day"), exact=True).fill(day.isoformat())
    learner.get_by_label(t("Hours"), exact=True).fill("1.5")
    learner.get_by_label(t("What did you do?")).fill(
        t.pick(
            "พาเยาวชนสำรวจแหล่งเรียนรู้รอบกว๊านพะเยา",
            "Walked the learning sites around Kwan Phayao with young people",
        )
    )
    learner.get_by_label(t("Mechanism"), exact=True).select_option(
        label=t.pick("2. กลไกเชิงกระบวนการ", "2. Process mechanisms")
    )
    learner.get_by_label(t.pick("การจัดทำแผนที่แบบมีส่วนร่วม", "Participatory mapping")).check()
    learner.get_by_label(t("Place"), exact=True).fill(t.pick("กว๊านพะเยา", "Kwan Phayao"))
    learner.get_by_label(t("Evidence: photos or PDFs")).set_input_files(str(photo))
    learner.get_by_role("button", name=t("Send for review")).click()
    expect(learner.locator(".flashes")).to_have_text(t("Your hours have been sent for review."))
    expect(learner.locator(".page-head .badge")).to_have_text(t("Waiting for review"))
    expect(learner.get_by_role("img", name=t("Photo: %(name)s", name=photo.name))).to_be_visible()
    journey.check(learner)

    # The log the instructor returned with a question.
    learner.get_by_role("link", name=t("My hour logs")).click()
    journey.check(learner)
    returned = learner.get_by_role("row").filter(has_text=t("Returned with a question"))
    expect(returned).to_have_count(1)
    returned.get_by_role("link").click()
    expect(learner.get_by_text(t("Question from the instructor"))).to_be_visible()
    journey.check(learner)
    learner.get_by_role("textbox", name=t("Message")).fill(
        t.pick(
            "ครูร่วม 8 คน ได้ข้อค้นพบว่าเกมช่วยให้ครูเห็นมุมมองของผู้ปกครอง",
            "Eight teachers took part; the game helped them see the parents' point of view",
        )
    )
    learner.get_by_role("button", name=t("Send my answer")).click()
    expect(learner.locator(".flashes")).to_have_text(
        t("Your answer has been sent; the log is back in the review queue.")
    )
    expect(learner.get_by_text(t("The learner's answer"))).to_be_visible()
    journey.check(learner)

    # The field report, revised with the new log and sent again.
    learner.get_by_role("link", name=t("My field report")).first.click()
    expect(learner.get_by_role("heading", level=2, name=t("Grades and feedback"))).to_be_visible()
    expect(learner.locator("#main .badge").first).to_have_text(t("To be revised"))
    journey.check(learner)
    learner.get_by_label(t("What you did in your city and what you learned")).fill(
        t.pick(
            "สำรวจข้อมูลชุมชนรอบกว๊านพะเยา ใช้ข้อมูลนั้นชวนคณะทำงานและเยาวชนสำรวจแหล่งเรียนรู้",
            "I surveyed the community around Kwan Phayao and used the data with the working "
            "group and young people to map learning sites.",
        )
    )
    hours = t.plural("%(hours)s hour", "%(hours)s hours", 2, hours=1.5)
    new_log = f"{format_day(day, 'short', journey.language)} · {hours}"
    learner.get_by_label(new_log, exact=False).check()
    learner.get_by_role("button", name=t("Send my report")).click()
    expect(learner.locator(".flashes")).to_have_text(
        t("Your field report has been sent to your instructor.")
    )
    expect(learner.locator("#main .badge").first).to_have_text(t("Waiting to be graded"))
    journey.check(learner)

    # A classmate who has finished downloads the certificate the programme issued.
    serial = issue_certificate_of(journey.server.app, "graduate@example.org").serial
    graduate = journey.page("phone")
    journey.sign_in(graduate, "graduate@example.org")
    expect(
        graduate.get_by_text(t("Your certificate %(serial)s is ready.", serial=serial))
    ).to_be_visible()
    with graduate.expect_download() as download:
        graduate.get_by_role("link", name=t("Download my certificate")).click()
    assert download.value.suggested_filename == f"{serial}.pdf"
    pdf = download.value.path().read_bytes()
    text = pdf_text(pdf, tmp_path)
    assert "ธนากร ศักดิ์สิทธิ์" in text
    assert serial in text
