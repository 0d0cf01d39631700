"""In real Chromium, in Thai and in English: a learner signed in on a phone and on a laptop
ends the phone's session from the laptop's account page, typing the password again; the phone
is signed out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lca.ops.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

LEARNER = "learner@example.org"


def test_a_learner_ends_the_session_of_another_device(journey):
    t = journey.t
    phone = journey.page("phone")
    journey.sign_in(phone, LEARNER)
    laptop = journey.page("desktop")
    journey.sign_in(laptop, LEARNER)

    laptop.goto("/account")
    journey.check(laptop)
    rows = laptop.locator("ul.sessions li")
    this_device = rows.filter(has_text=t("this device"))
    expect(this_device).to_have_count(1)
    expect(this_device.get_by_role("button")).to_have_count(0)  # sign out is for this one
    # the most recently used other session first: the phone, signed in just before
    laptop.get_by_role("button", name=re.compile(re.escape(t("End this session")))).first.click()
    expect(laptop.get_by_role("heading", level=1)).to_have_text(t("End a session"))
    journey.check(laptop)
    laptop.get_by_label(t("Current password")).fill(DEMO_PASSWORD)
    laptop.get_by_role("button", name=t("End this session")).click()
    expect(laptop.locator(".flashes")).to_have_text(
        t("That session has ended: the device is signed out.")
    )
    expect(laptop.get_by_role("heading", level=1)).to_have_text(t("Account"))
    journey.check(laptop)

    phone.goto("/account")
    expect(phone.get_by_role("heading", level=1)).to_have_text(t("Sign in"))
    journey.check(phone)
