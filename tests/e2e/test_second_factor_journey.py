"""In real Chromium: an instructor registers a passkey with Chromium's virtual authenticator (the
DevTools protocol's WebAuthn domain: a platform authenticator that verifies its user), signs out
and signs in with it; a learner sets up an authenticator app by typing the key shown on the
page (scanning nothing: the code is computed from the key, as the phone would), gets the
recovery codes, and signs in again with a code and with a recovery code."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from lca.core.db import db
from lca.models import Passkey, User, UserSession

pytestmark = pytest.mark.e2e


@pytest.fixture
def on_localhost(server):
    """WebAuthn takes a host name, not an IP address, for its relying party: the journey
    reaches its server as localhost, and that is the site's public address."""
    server.url = server.url.replace("127.0.0.1", "localhost")
    server.app.config["LCA_PUBLIC_URL"] = server.url
    return server


def virtual_authenticator(page: Page) -> None:
    """A passkey-capable authenticator inside this page's browser, as a phone's would be."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def sign_out(journey, page: Page) -> None:
    page.get_by_role("button", name=journey.t("Sign out")).click()
    expect(page.locator(".flashes")).to_contain_text(journey.t("You have signed out."))
    journey.check(page)


def password_step(journey, page: Page, email: str, password: str) -> None:
    page.goto(f"/login?lang={journey.language}")
    journey.check(page)
    page.get_by_label(journey.t("E-mail address")).fill(email)
    page.get_by_label(journey.t("Password"), exact=True).fill(password)
    page.get_by_role("button", name=journey.t("Sign in")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        journey.t("Second step of signing in")
    )
    journey.check(page)


def test_an_instructor_registers_a_passkey_and_signs_in_with_it(journey, on_localhost):
    from lca.ops.demo import DEMO_PASSWORD

    t = journey.t
    page = journey.page("desktop")
    virtual_authenticator(page)
    journey.sign_in(page, "instructor@example.org")  # the demo's app code, the first time
    page.goto("/account")
    journey.check(page)
    page.get_by_role("link", name=t("Passkeys, authenticator app and recovery codes")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Second factor"))
    journey.check(page)
    page.get_by_label(t("Name of the passkey")).fill(t.pick("โน้ตบุ๊กที่ทำงาน", "Work laptop"))
    page.get_by_role("button", name=t("Add a passkey")).click()
    expect(page.locator(".flashes")).to_contain_text(t("The passkey is added."))
    expect(page.locator("ul.passkeys")).to_contain_text(t.pick("โน้ตบุ๊กที่ทำงาน", "Work laptop"))
    journey.check(page)
    sign_out(journey, page)

    password_step(journey, page, "instructor@example.org", DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in with a passkey")).click()
    expect(page).to_have_url(f"{on_localhost.url}/instructor")
    journey.check(page)
    with on_localhost.app.app_context():
        instructor = db.session.scalar(select(User).where(User.email == "instructor@example.org"))
        passkey = db.session.scalar(select(Passkey).where(Passkey.user_id == instructor.id))
        assert passkey.last_used_at is not None and passkey.transports == "internal"
        newest = db.session.scalar(
            select(UserSession)
            .where(UserSession.user_id == instructor.id)
            .order_by(UserSession.id.desc())
        )
        assert newest.second_factor == "passkey" and newest.ended_at is None
        db.session.remove()


def test_a_learner_sets_up_an_authenticator_app_by_typing_its_key(journey, on_localhost):
    from lca.ops.demo import DEMO_PASSWORD

    t = journey.t
    page = journey.page("phone")
    journey.sign_in(page, "learner@example.org")  # a learner: no second step yet
    page.goto("/account/second-factor")
    expect(
        page.get_by_text(t("For learners a second factor is optional, and recommended."))
    ).to_be_visible()
    journey.check(page)
    page.get_by_role("button", name=t("Set up an authenticator app")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Set up an authenticator app"))
    expect(page.get_by_role("img", name=t("QR code for the authenticator app"))).to_be_visible()
    journey.check(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    app = pyotp.TOTP(secret)  # the phone's authenticator app, with the key typed in
    page.get_by_label(t("Code from the authenticator app")).fill(app.now())
    page.get_by_role("button", name=t("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Your recovery codes"))
    journey.check(page)
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name=t("I have saved my codes")).click()
    expect(
        page.get_by_text(
            t.plural("%(num)d recovery code left.", "%(num)d recovery codes left.", 10, num=10)
        )
    ).to_be_visible()
    journey.check(page)
    sign_out(journey, page)

    password_step(journey, page, "learner@example.org", DEMO_PASSWORD)
    # the enrolment's code is used up: the next time step's code, as the app shows it then
    page.get_by_label(t("Code from the authenticator app")).fill(app.at(int(time.time()) + 30))
    page.get_by_role("button", name=t("Continue")).click()
    expect(page).to_have_url(f"{on_localhost.url}/learner")
    journey.check(page)
    sign_out(journey, page)

    password_step(journey, page, "learner@example.org", DEMO_PASSWORD)
    page.get_by_role("link", name=t("Use a recovery code instead")).click()
    journey.check(page)
    page.get_by_label(t("Recovery code")).fill(codes[0])
    page.get_by_role("button", name=t("Continue")).click()
    expect(page).to_have_url(f"{on_localhost.url}/learner")
    journey.check(page)


def test_a_sign_in_long_ago_asks_for_the_password_before_a_passkey_is_added(
    journey, on_localhost, monkeypatch
):
    """The passkey script, refused for want of a recent proof, takes the person to the page
    that asks for the password; it leads back, and the passkey is added."""
    from datetime import timedelta

    from lca.auth import reauth
    from lca.ops.demo import DEMO_PASSWORD

    t = journey.t
    page = journey.page("desktop")
    virtual_authenticator(page)
    journey.sign_in(page, "instructor@example.org")
    later = reauth.utcnow() + timedelta(minutes=11)  # the rule's clock, 11 minutes on
    monkeypatch.setattr(reauth, "utcnow", lambda: later)
    page.goto("/account/second-factor")
    journey.check(page)
    name = t.pick("โน้ตบุ๊กที่ทำงาน", "Work laptop")
    page.get_by_label(t("Name of the passkey")).fill(name)
    page.get_by_role("button", name=t("Add a passkey")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Confirm your password"))
    journey.check(page)
    page.get_by_label(t("Current password")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Confirm"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Second factor"))
    expect(page.locator(".flashes")).to_contain_text(t("Your password is confirmed."))
    journey.check(page)
    page.get_by_label(t("Name of the passkey")).fill(name)
    page.get_by_role("button", name=t("Add a passkey")).click()
    expect(page.locator(".flashes")).to_contain_text(t("The passkey is added."))
    expect(page.locator("ul.passkeys")).to_contain_text(name)
    journey.check(page)
