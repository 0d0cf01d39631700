"""Signing in and out, passwords, languages, sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher, Type, extract_parameters, profiles
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import select

from lca.auth.passwords import hash_password, needs_rehash, password_matches
from lca.auth.sessions import open_sessions, start_session
from lca.models import AuditEvent
from lca.web.pages import is_local_path
from tests.factories import (
    PASSWORD,
    PASSWORD_HASH,
    AdminFactory,
    InstructorFactory,
    LearnerFactory,
    totp_code,
    with_authenticator_app,
)

WRONG = "อีเมลหรือรหัสผ่านไม่ถูกต้อง"
THAI_MONTHS = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
]


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password}, **extra)


@pytest.mark.parametrize(
    ("factory", "home"),
    [(LearnerFactory, "/learner"), (InstructorFactory, "/instructor"), (AdminFactory, "/admin/")],
)
def test_sign_in_through_the_form_lands_on_the_role_home(client, db, factory, home):
    user = factory(email="Somsri@Example.org".lower())
    staff = factory is not LearnerFactory
    if staff:  # staff must have a second factor (tests/test_second_factor.py)
        with_authenticator_app(user)
    response = sign_in(client, "  SOMSRI@example.ORG ")
    assert response.status_code == 302
    if staff:
        assert response.headers["Location"] == "/login/second-step"
        response = client.post("/login/second-step", data={"code": totp_code()})
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "auth.login", AuditEvent.actor_id == user.id)
    )


def test_wrong_password_and_unknown_account_get_the_same_answer(client, db):
    LearnerFactory(email="known@example.org")
    wrong = sign_in(client, "known@example.org", "not the password").get_data(as_text=True)
    unknown = sign_in(client, "nobody@example.org").get_data(as_text=True)
    assert WRONG in wrong and WRONG in unknown
    with client.session_transaction() as session:
        assert "_user_id" not in session
    failures = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert len(failures) == 2


def test_an_inactive_account_cannot_sign_in(client, db):
    LearnerFactory(email="gone@example.org", is_active=False)
    page = sign_in(client, "gone@example.org").get_data(as_text=True)
    assert "บัญชีนี้ถูกปิดใช้งานแล้ว" in page
    assert client.get("/learner").status_code == 302  # still anonymous


def test_empty_sign_in_form_says_what_is_missing(client, db):
    page = client.post("/login", data={}).get_data(as_text=True)
    assert "กรอกอีเมลของคุณ" in page and "กรอกรหัสผ่านของคุณ" in page


def test_next_is_followed_only_to_a_local_path(client, db):
    LearnerFactory(email="next@example.org")
    response = sign_in(client, "next@example.org", query_string={"next": "/account"})
    assert response.headers["Location"] == "/account"
    client.post("/logout")
    for hostile in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"):
        response = sign_in(client, "next@example.org", query_string={"next": hostile})
        assert response.headers["Location"] == "/learner"
        client.post("/logout")


@pytest.mark.parametrize(
    ("target", "local"),
    [
        ("/cohorts/1", True),
        ("/a?b=c", True),
        ("//x.org", False),
        ("http://x.org/", False),
        ("/\\x.org", False),
        ("", False),
        (None, False),
        ("cohorts", False),
        ("/\nx", False),
    ],
)
def test_is_local_path(target, local):
    assert is_local_path(target) is local


def test_anonymous_visitors_are_sent_to_sign_in_with_next(client, db):
    response = client.get("/learner")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_out_ends_the_session(client, db):
    LearnerFactory(email="out@example.org")
    sign_in(client, "out@example.org")
    assert client.get("/learner").status_code == 200
    client.post("/logout")
    assert client.get("/learner").status_code == 302


def test_change_password_signs_out_other_sessions(app, client, db):
    user = LearnerFactory(email="pw@example.org")
    other_device = app.test_client()
    sign_in(other_device, "pw@example.org")
    sign_in(client, "pw@example.org")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "ต้นไม้ใหญ่ริมน้ำ 2569",
            "confirm_password": "ต้นไม้ใหญ่ริมน้ำ 2569",
        },
    )
    assert response.status_code == 302
    assert client.get("/learner").status_code == 200  # this device stays signed in
    assert other_device.get("/learner").status_code == 302  # the other one is signed out
    client.post("/logout")
    assert sign_in(client, "pw@example.org", "ต้นไม้ใหญ่ริมน้ำ 2569").status_code == 302
    db.session.refresh(user)
    assert (
        db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "user.password_change")
        ).target_id
        == user.id
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "current_password": "wrong",
                "new_password": "a long new password",
                "confirm_password": "a long new password",
            },
            "รหัสผ่านปัจจุบันไม่ถูกต้อง",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
            "ใช้อย่างน้อย 10 ตัวอักษร",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "aaaaaaaaaaaa",
                "confirm_password": "aaaaaaaaaaaa",
            },
            "รหัสผ่านนี้เดาง่ายเกินไป",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "a long new password",
                "confirm_password": "another long one",
            },
            "รหัสผ่านใหม่ทั้งสองช่องไม่ตรงกัน",
        ),
        (
            {"current_password": PASSWORD, "new_password": PASSWORD, "confirm_password": PASSWORD},
            "รหัสผ่านใหม่ต้องไม่ซ้ำกับรหัสผ่านปัจจุบัน",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "x" * 257,
                "confirm_password": "x" * 257,
            },
            "ใช้ไม่เกิน 256 ตัวอักษร",
        ),
    ],
)
def test_bad_new_passwords_are_refused_and_nothing_changes(client, login, db, data, message):
    user = LearnerFactory()
    before = user.password_hash
    login(user)
    page = client.post("/account/password", data=data).get_data(as_text=True)
    assert message in page
    db.session.refresh(user)
    assert user.password_hash == before and len(open_sessions(user)) == 1


def test_one_time_password_must_be_replaced_first(client, login, db):
    user = LearnerFactory(must_change_password=True)
    login(user)
    assert client.get("/learner").headers["Location"] == "/account/password"
    assert client.get("/curriculum").headers["Location"] == "/account/password"
    assert client.get("/account/password").status_code == 200
    client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "my own password 1",
            "confirm_password": "my own password 1",
        },
    )
    assert client.get("/learner").status_code == 200


def test_language_switch_is_remembered_and_saved(client, login, db):
    user = LearnerFactory()
    login(user)
    response = client.get("/learner?lang=en")  # saved, then the same page without ``lang``
    assert (response.status_code, response.location) == (303, "/learner")
    assert '<html lang="en">' in client.get("/learner").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/curriculum").get_data(as_text=True)
    db.session.refresh(user)
    assert user.preferred_language == "en"
    switched = client.get("/curriculum?lang=th", follow_redirects=True)
    assert '<html lang="th">' in switched.get_data(as_text=True)
    db.session.refresh(user)
    assert user.preferred_language == "th"


def test_the_saved_language_applies_at_the_next_sign_in(client, db):
    LearnerFactory(email="en@example.org", preferred_language="en")
    sign_in(client, "en@example.org")
    assert '<html lang="en">' in client.get("/learner").get_data(as_text=True)


def test_preferences_form_saves_the_language(client, login, db):
    user = LearnerFactory()
    login(user)
    response = client.post("/account/preferences", data={"preferred_language": "en"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.preferred_language == "en"
    page = client.post("/account/preferences", data={"preferred_language": "fr"})
    assert "Not a valid choice." in page.get_data(as_text=True)
    db.session.refresh(user)
    assert user.preferred_language == "en"


def test_deactivation_ends_open_sessions(client, login, db):
    user, admin = LearnerFactory(), AdminFactory()
    login(user)
    assert client.get("/learner").status_code == 200
    admin_client = client.application.test_client()
    with admin_client.session_transaction() as session:
        session["_user_id"] = start_session(admin, second_factor="totp")
    admin_client.post(f"/admin/users/{user.id}/deactivate")
    assert client.get("/learner").status_code == 302


@pytest.mark.parametrize("profile", ["CHEAPEST", "RFC_9106_LOW_MEMORY"])  # tests', deployment's
def test_hash_password_makes_a_salted_argon2id_hash_of_the_configured_profile(
    app, monkeypatch, profile
):
    monkeypatch.setitem(app.config, "LCA_PASSWORD_PROFILE", profile)
    wanted = getattr(profiles, profile)
    with app.app_context():
        first, second = hash_password("ขอบฟ้า กว้างไกล 2569"), hash_password("ขอบฟ้า กว้างไกล 2569")
        assert password_matches(first, "ขอบฟ้า กว้างไกล 2569")
        assert not password_matches(first, "ขอบฟ้า กว้างไกล 2568")
        assert not needs_rehash(first)
    made = extract_parameters(first)
    assert made.type is Type.ID
    assert made == wanted
    assert first != second  # a fresh salt every time
    PasswordHasher.from_parameters(wanted).verify(first, "ขอบฟ้า กว้างไกล 2569")
    with pytest.raises(VerifyMismatchError):
        PasswordHasher.from_parameters(wanted).verify(first, "ขอบฟ้า กว้างไกล")


def test_a_changed_password_is_stored_as_hash_password_makes_it(client, login, db):
    user = LearnerFactory()
    login(user)
    new = "ทะเลสาบ กว๊านพะเยา ยามเช้า"
    client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm_password": new},
    )
    db.session.refresh(user)
    assert user.password_hash != PASSWORD_HASH and new not in user.password_hash
    assert extract_parameters(user.password_hash) == profiles.CHEAPEST
    PasswordHasher().verify(user.password_hash, new)


def test_forms_refuse_a_post_without_the_csrf_token(app, db):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post("/login", data={"email": "a@example.org", "password": "x"})
        assert response.status_code == 400
        assert "แบบฟอร์มอาจหมดอายุแล้ว" in response.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --------------------------------------------------------------------------- current password


NEW = "ต้นไม้ใหญ่ริมน้ำ 2569"
CHECKS = {
    "password_change": (
        "/account/password",
        {"new_password": NEW, "confirm_password": NEW},
    ),
    "sign_out_everywhere": ("/account/sign-out-everywhere", {}),
    # before a change to one's second factors (lca/auth/reauth.py)
    "confirm_password": ("/account/confirm-password", {}),
}
LOCKED = "ใส่รหัสผ่านปัจจุบันผิดหลายครั้งเกินไป"


@pytest.fixture
def check_limit(app, monkeypatch):
    """Three wrong current passwords per account; the count starts afresh for each test."""
    monkeypatch.setitem(app.config, "LCA_PASSWORD_CHECK_RATE_LIMIT", "3 per 15 minutes")

    def fresh(user) -> None:
        from lca.auth.throttle import forget_password_checks

        forget_password_checks(user.id)

    return fresh


def _audited(db, action: str, user) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == user.id)
        )
    )


@pytest.mark.parametrize("form", sorted(CHECKS))
def test_current_password_guesses_are_counted_per_account_and_end_the_session(
    app, client, login, login_on, db, check_limit, caplog, flashes, form
):
    """Guesses on two sessions of one account count together; the one over the limit ends
    that session, says why on the sign-in page, and is written as a security event."""
    url, fields = CHECKS[form]
    user = LearnerFactory()
    check_limit(user)
    login(user)
    other = app.test_client()
    login_on(other, user)
    for browser in (other, other):
        page = browser.post(url, data={"current_password": "wrong", **fields})
        assert page.status_code == 200  # the form again, with its message
        assert "รหัสผ่านปัจจุบันไม่ถูกต้อง" in page.get_data(as_text=True)
    assert len(_audited(db, "auth.password_check_failed", user)) == 2
    with caplog.at_level("WARNING", logger="lca.security"):
        locked = client.post(url, data={"current_password": "wrong", **fields})
    assert locked.status_code == 302 and locked.headers["Location"] == "/login"
    assert any(LOCKED in text for text in flashes(client.get("/login").get_data(as_text=True)))
    assert client.get("/account").headers["Location"].startswith("/login")  # signed out
    failed = _audited(db, "auth.password_check_failed", user)
    assert len(failed) == 3 and all(e.details["form"] == form for e in failed)
    assert len(_audited(db, "auth.password_check_locked", user)) == 1
    assert any('"event": "password_check.locked"' in r.getMessage() for r in caplog.records)
    # now even the right password is not checked: the other session ends as well
    right = other.post(url, data={"current_password": PASSWORD, **fields})
    assert right.headers["Location"] == "/login"
    assert other.get("/account").status_code == 302
    db.session.expire_all()
    assert password_matches(db.session.get(type(user), user.id).password_hash, PASSWORD)


def test_a_right_current_password_is_not_counted(app, client, login, db, check_limit):
    user = LearnerFactory()
    check_limit(user)
    login(user)
    for _ in range(5):
        response = client.post("/account/sign-out-everywhere", data={"current_password": PASSWORD})
        assert response.headers["Location"] == "/account"
    assert _audited(db, "auth.password_check_failed", user) == []


def test_an_administrators_reset_lifts_the_current_password_count(
    app, client, login, db, check_limit
):
    user = LearnerFactory()
    check_limit(user)
    login(user)
    for _ in range(3):
        client.post("/account/sign-out-everywhere", data={"current_password": "wrong"})
    assert client.get("/account").status_code == 302  # signed out
    login(AdminFactory())
    assert client.post(f"/admin/users/{user.id}/reset-password").status_code == 200
    from lca.auth.throttle import password_checks_locked

    assert not password_checks_locked(user.id)


# --------------------------------------------------------------------------- one other session


def test_one_other_session_can_be_ended_from_the_account_page(
    app, client, login, login_on, db, field_error
):
    """Its row's button asks for the password again (a copied cookie alone cannot sign the
    owner's other devices out); with it, that one session ends, the others stay."""
    user = LearnerFactory()
    login(user)
    phone, laptop = app.test_client(), app.test_client()
    login_on(phone, user)
    login_on(laptop, user)
    page = client.get("/account").get_data(as_text=True)
    ids = [int(n) for n in re.findall(r'name="session_id" value="(\d+)"', page)]
    assert len(ids) == 2  # a button on each other session's row, none on this device's
    phone_id = min(ids)  # the phone's session was started before the laptop's
    asked = client.post("/account/sessions/end", data={"session_id": phone_id})
    assert asked.status_code == 200 and "current_password" in asked.get_data(as_text=True)
    assert phone.get("/account").status_code == 200  # nothing ended yet
    empty = {"session_id": phone_id, "current_password": ""}
    page = client.post("/account/sessions/end", data=empty).get_data(as_text=True)
    assert "กรอกรหัสผ่านปัจจุบัน" in field_error(page, "current_password")
    wrong = {"session_id": phone_id, "current_password": "wrong"}
    page = client.post("/account/sessions/end", data=wrong).get_data(as_text=True)
    assert "รหัสผ่านปัจจุบันไม่ถูกต้อง" in field_error(page, "current_password")
    assert phone.get("/account").status_code == 200
    [failed] = _audited(db, "auth.password_check_failed", user)
    assert failed.details["form"] == "end_session"
    right = {"session_id": phone_id, "current_password": PASSWORD}
    response = client.post("/account/sessions/end", data=right)
    assert response.headers["Location"] == "/account"
    assert "อุปกรณ์นั้นออกจากระบบแล้ว" in client.get("/account").get_data(as_text=True)
    assert phone.get("/account").status_code == 302  # signed out
    assert laptop.get("/account").status_code == 200 and client.get("/account").status_code == 200
    [event] = _audited(db, "user.session_ended", user)
    assert event.details["session"] == phone_id and event.actor_id == user.id


def test_someone_elses_session_cannot_be_ended(app, client, login, login_on, db):
    owner, other = LearnerFactory(), LearnerFactory()
    theirs = app.test_client()
    login_on(theirs, other)
    [their_session] = open_sessions(other)
    login(owner)
    for data in ({}, {"current_password": PASSWORD}):
        response = client.post(
            "/account/sessions/end", data={"session_id": their_session.id, **data}
        )
        assert response.status_code == 404
    assert theirs.get("/account").status_code == 200
    for bad in ("", "abc", "-1", "0", "99999999999999", str(2**31), "1e3", " 1"):
        answer = client.post("/account/sessions/end", data={"session_id": bad})
        assert answer.status_code in (302, 404), bad
    assert _audited(db, "user.session_ended", other) == []


def test_this_devices_session_is_ended_by_signing_out_not_by_its_row(client, login, db, flashes):
    user = LearnerFactory()
    login(user)
    [mine] = open_sessions(user)
    data = {"session_id": mine.id, "current_password": PASSWORD}
    response = client.post("/account/sessions/end", data=data)
    assert response.status_code == 200  # the page again, saying why
    assert "นี่คืออุปกรณ์ที่คุณกำลังใช้อยู่" in " ".join(flashes(response.get_data(as_text=True)))
    assert client.get("/account").status_code == 200


# --------------------------------------------------------------------------- one-time passwords

EXPIRED = "รหัสผ่านใช้ครั้งเดียวนี้หมดอายุแล้ว"


def _reset_by_an_administrator(client, login, user) -> tuple[str, str]:
    login(AdminFactory())
    page = client.post(f"/admin/users/{user.id}/reset-password").get_data(as_text=True)
    client.post("/logout")
    return re.search(r'class="one-time-password"><code>([^<]+)</code>', page)[1], page


def test_a_one_time_password_works_for_24_hours(client, login, db, monkeypatch):
    import lca.auth.services as services
    from lca.core.db import utcnow

    user = LearnerFactory(email="otp@example.org")
    made_at = utcnow()
    password, page = _reset_by_an_administrator(client, login, user)
    db.session.refresh(user)
    expires_at = user.temporary_password_expires_at
    assert abs(expires_at - made_at - timedelta(hours=24)) < timedelta(minutes=1)
    local = expires_at.astimezone(ZoneInfo("Asia/Bangkok"))
    shown = f"{local.day} {THAI_MONTHS[local.month - 1]} {local.year + 543} เวลา {local:%H:%M} น."
    assert shown in page  # the administrator sees until when, in the Buddhist era
    monkeypatch.setattr(services, "utcnow", lambda: made_at + timedelta(hours=23, minutes=59))
    assert sign_in(client, "otp@example.org", password).headers["Location"] == "/learner"
    client.post("/logout")
    monkeypatch.setattr(services, "utcnow", lambda: made_at + timedelta(hours=24, minutes=2))
    refused = sign_in(client, "otp@example.org", password)
    assert refused.status_code == 200 and EXPIRED in refused.get_data(as_text=True)
    assert "ผู้ดูแลระบบ" in refused.get_data(as_text=True)  # who to ask
    assert client.get("/learner").status_code == 302
    [event] = _audited(db, "auth.temporary_password_expired", user)
    assert event.details["expired_at"] == expires_at.isoformat()


def test_a_changed_password_never_expires(client, login, db, monkeypatch):
    import lca.auth.services as services
    from lca.core.db import utcnow

    user = LearnerFactory(email="otp2@example.org")
    password, _page = _reset_by_an_administrator(client, login, user)
    sign_in(client, "otp2@example.org", password)
    own = "บ้านริมคลองของฉัน 2569"
    response = client.post(
        "/account/password",
        data={"current_password": password, "new_password": own, "confirm_password": own},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.temporary_password_expires_at is None and not user.must_change_password
    client.post("/logout")
    later = utcnow() + timedelta(days=30)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    assert sign_in(client, "otp2@example.org", own).headers["Location"] == "/learner"
