"""A learner's next steps on a 360-px phone, in Thai and in English: the log returned with a
question leads straight to the answer form; a graduate's certificate is there to download,
check and share (copied with one button), and once revoked says what that means. And a visitor
who switches language on /verify before typing a code sees no error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lca.certificates.services import find_by_serial, revoke_certificate
from lca.core.dates import format_day, local_today
from lca.core.db import db
from lca.models import Enrolment, HourLog, LogStatus, User
from tests.e2e.support import Words

pytestmark = pytest.mark.e2e


def _returned_log_day(app) -> str:
    with app.app_context():
        day = db.session.scalar(
            select(HourLog.worked_on)
            .join(Enrolment, Enrolment.id == HourLog.enrolment_id)
            .join(User, User.id == Enrolment.learner_id)
            .where(User.email == "learner@example.org", HourLog.status == LogStatus.RETURNED)
        )
        db.session.remove()
    return day


def test_the_learner_goes_from_next_steps_to_the_answer_and_shares_a_certificate(
    journey, issue_certificate_of
):
    t = journey.t
    learner = journey.page("phone")
    journey.sign_in(learner, "learner@example.org")
    day = format_day(_returned_log_day(journey.server.app), language=journey.language)
    answer = learner.get_by_role(
        "link", name=t("Answer the question on your log of %(date)s", date=day)
    )
    expect(answer).to_have_count(1)
    answer.click()
    expect(learner).to_have_url(re.compile(r"/hours/\d+#answer-heading$"))
    expect(learner.get_by_role("heading", name=t("Answer the question"))).to_be_in_viewport()
    expect(learner.get_by_role("textbox", name=t("Message"))).to_be_visible()
    journey.check(learner)

    # A graduate's certificate: download, its verification page, a link to share.
    issued = issue_certificate_of(journey.server.app, "graduate@example.org")
    graduate = journey.page("phone")
    journey.sign_in(graduate, "graduate@example.org")
    expect(
        graduate.get_by_role(
            "heading", name=t("Your certificate %(serial)s is ready.", serial=issued.serial)
        )
    ).to_be_visible()
    link = f"{journey.server.url}/verify/{issued.code}"
    share = graduate.get_by_label(
        t("Link to share (an employer or anyone can check the certificate with it)")
    )
    expect(share).to_have_value(link)
    graduate.get_by_role("button", name=t("Copy the link")).click()
    expect(graduate.get_by_role("status").filter(has_text=t("Link copied."))).to_be_visible()
    journey.check(graduate)
    journey.screenshot(graduate, "learner-certificate")
    graduate.get_by_role("link", name=t("Open its verification page")).click()
    expect(graduate).to_have_url(link)
    expect(graduate.get_by_role("heading", level=1)).to_contain_text(t("This certificate is valid"))
    journey.check(graduate)

    # Revoked: the learner's page says what it means and what to do.
    with journey.server.app.app_context():
        revoke_certificate(find_by_serial(issued.serial), None, "ออกให้ผิดรุ่น")
        db.session.commit()
        db.session.remove()
    graduate.goto("/learner")
    revoked_on = format_day(_today(journey.server.app), language=journey.language)
    revoked = t(
        "Certificate %(serial)s was revoked on %(date)s.", serial=issued.serial, date=revoked_on
    )
    expect(graduate.get_by_role("heading", name=revoked)).to_be_visible()
    expect(graduate.get_by_text("ออกให้ผิดรุ่น")).to_be_visible()
    expect(graduate.get_by_role("button", name=t("Copy the link"))).to_have_count(0)
    journey.check(graduate)


def _today(app):
    with app.app_context():
        return local_today()


def test_switching_language_on_verify_before_typing_a_code_shows_no_error(journey):
    t = journey.t
    other = "en" if journey.language == "th" else "th"
    then = Words(other)
    visitor = journey.page("phone")
    visitor.goto(f"/verify?lang={journey.language}")
    expect(visitor.get_by_role("heading", level=1)).to_have_text(t("Verify a certificate"))
    journey.check(visitor)
    switch = visitor.get_by_role("navigation", name=t("Language"))  # the header's switch
    switch.get_by_role("link", name="English" if other == "en" else "ไทย").click()
    expect(visitor.locator("html")).to_have_attribute("lang", other)
    code = visitor.get_by_label(then("Verification code"))
    expect(code).to_be_visible()
    expect(code).not_to_have_attribute("aria-invalid", "true")
    expect(visitor.locator(".error, .field-error, [role=alert]")).to_have_count(0)
    journey.check(visitor, language=other)
    # A code asked for and not given is still an error, in the language chosen.
    visitor.get_by_role("button", name=then("Verify")).click()
    expect(code).to_have_attribute("aria-invalid", "true")
    journey.check(visitor, language=other)
