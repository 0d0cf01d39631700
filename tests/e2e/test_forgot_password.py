"""In real Chromium, in Thai and in English: a learner who forgot the password asks for a link,
reads the mail that arrived at a real SMTP server, follows its link, chooses a new password and
signs in with it."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lca.core.db import db
from lca.models import User
from lca.notifications.channels import SmtpChannel
from lca.notifications.delivery import deliver_due

pytestmark = pytest.mark.e2e

LEARNER = "learner@example.org"
NEW_PASSWORD = "ลมหนาวมาเยือนกว๊านพะเยา"


def deliver(app, mailbox) -> list:
    """The worker's delivery, run once in-process against the journey's app and database."""
    before = len(mailbox.messages)
    with app.app_context():
        deliver_due(SmtpChannel(mailbox.url, app.config["LCA_MAIL_FROM"]))
        db.session.remove()
    return mailbox.messages[before:]


def reads_in(app, email: str, language: str) -> None:
    """The learner reads LCA (and its mail) in ``language``."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.preferred_language = language
        db.session.commit()
        db.session.remove()


def test_a_learner_resets_a_forgotten_password_from_the_mail(journey, mailbox):
    t = journey.t
    app = journey.server.app
    reads_in(app, LEARNER, journey.language)
    deliver(app, mailbox)  # what the demo's story already sent goes out first

    learner = journey.page("phone")
    learner.goto(f"/login?lang={journey.language}")
    journey.check(learner)
    learner.get_by_role("link", name=t("Forgotten your password?")).click()
    expect(learner.get_by_role("heading", level=1)).to_have_text(t("Forgotten your password?"))
    journey.check(learner)
    learner.get_by_label(t("E-mail address")).fill(LEARNER)
    learner.get_by_role("button", name=t("Send me a link")).click()
    expect(learner.locator(".flashes")).to_have_text(
        t(
            "If %(email)s belongs to an account, a link to choose a new password is on its "
            "way there. It works for one hour.",
            email=LEARNER,
        )
    )
    expect(learner.get_by_role("heading", level=1)).to_have_text(t("Sign in"))
    journey.check(learner)

    (mail,) = deliver(app, mailbox)
    assert mail["To"].addresses[0].addr_spec == LEARNER
    assert str(make_header(decode_header(mail["Subject"]))) == t("Choose a new LCA password")
    text = mail.get_body(("plain",)).get_content()
    assert t("Dear %(name)s,", name=t.name(LEARNER)) in text
    (link,) = set(re.findall(rf"{re.escape(journey.server.url)}/reset-password/\S+", text))
    assert deliver(app, mailbox) == []  # once

    learner.goto(link)
    expect(learner.get_by_role("heading", level=1)).to_have_text(t("Choose a new password"))
    journey.check(learner)
    learner.get_by_label(t("New password"), exact=True).fill(NEW_PASSWORD)
    learner.get_by_label(t("New password again")).fill(NEW_PASSWORD)
    learner.get_by_role("button", name=t("Change my password")).click()
    expect(learner.locator(".flashes")).to_have_text(
        t("Your password has been changed. Sign in with it.")
    )
    journey.check(learner)

    journey.sign_in(learner, LEARNER, NEW_PASSWORD)
    expect(learner.get_by_role("heading", level=1)).to_have_text(
        t("Hello, %(name)s", name=t.name(LEARNER))
    )
    (changed,) = deliver(app, mailbox)
    assert str(make_header(decode_header(changed["Subject"]))) == t("Your LCA password was changed")

    learner.goto(link)  # used up: the page says so
    expect(learner.get_by_role("heading", level=1)).to_have_text(t("This link no longer works"))
    expect(learner.get_by_role("link", name=t("Ask for a new link"))).to_be_visible()
    journey.check(learner)
