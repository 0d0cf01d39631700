"""Second factors: authenticator-app codes computed here from the shared key (pyotp), passkeys
made and used by a small software authenticator (an EC P-256 key, "none" attestation, the
signatures WebAuthn asks for), one-use recovery codes, staff who must enrol, the administrator's
reset, and hostile bodies on every new route (the browser journey with Chromium's virtual
authenticator is tests/e2e/test_second_factor_journey.py)."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from lca.auth.second_factor import has_second_factor, has_totp
from lca.auth.sessions import start_session
from lca.core.db import db as _db
from lca.core.db import utcnow
from lca.models import AuditEvent, Message, Passkey, RecoveryCode, User, UserSession
from lca.web.extensions import limiter
from tests.factories import (
    PASSWORD,
    AdminFactory,
    InstructorFactory,
    LearnerFactory,
    PasskeyFactory,
    totp_code,
    with_authenticator_app,
)

SECOND_STEP = "/login/second-step"
ORIGIN = "http://localhost"  # the test client's host: LCA_PUBLIC_URL in the tests


@pytest.fixture(autouse=True)
def public_url(app, monkeypatch):
    """The relying party is the site's address; the test client calls itself localhost."""
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", ORIGIN)
    limiter.reset()  # the counts of wrong codes start afresh (ids repeat between tests)
    yield
    limiter.reset()


def b64(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """A passkey on "this device": what a browser's navigator.credentials does, in Python."""

    def __init__(self, rp_id: str = "localhost", origin: str = ORIGIN) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = hashlib.sha256(repr(self.key).encode()).digest()
        self.rp_id, self.origin, self.count = rp_id, origin, 0

    def _client_data(self, kind: str, challenge: str) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": self.origin}
        return json.dumps(data).encode()

    def create(self, options: dict) -> dict:
        numbers = self.key.public_key().public_numbers()
        cose = {
            1: 2,
            3: -7,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([0x45])  # user present, user verified, attested credential data
            + struct.pack(">I", self.count)
            + bytes(16)  # AAGUID
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + cbor2.dumps(cose)
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(self._client_data("webauthn.create", options["challenge"])),
                "attestationObject": b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(self, options: dict) -> dict:
        self.count += 1
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest()
            + bytes([0x05])
            + struct.pack(">I", self.count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
            },
            "clientExtensionResults": {},
        }


def sign_in(client, user, remember=False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def sessions_of(user) -> list[UserSession]:
    """The user's sessions, oldest first (PostgreSQL returns unordered rows in any order: an
    updated row moves to the end of its table)."""
    return list(
        _db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        )
    )


def audited(action: str, user) -> int:
    return _db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == action, AuditEvent.target_id == user.id
        )
    )


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


# --------------------------------------------------------------------------- authenticator app


def test_a_learner_sets_up_an_authenticator_app_from_the_key_on_the_page(client, login, db):
    learner = LearnerFactory()
    login(learner)
    page = client.get("/account").get_data(as_text=True)
    assert "/account/second-factor" in page
    assert client.post("/account/second-factor/app/start").headers["Location"] == (
        "/account/second-factor/app"
    )
    page = client.get("/account/second-factor/app").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert re.search(r'<img class="totp-qr" src="data:image/svg\+xml', page)  # CSP: img-src data:
    # on the phone itself, which cannot scan its own screen: a link the app opens
    link = html.unescape(re.search(r'href="(otpauth://totp/[^"]+)"', page).group(1))
    assert parse_qs(urlsplit(link).query)["secret"] == [secret]
    db.session.refresh(learner)
    assert learner.totp_secret == secret and not has_totp(learner)  # offered, not counted yet

    wrong = client.post("/account/second-factor/app", data={"code": "000000"})
    assert "รหัสไม่ถูกต้อง" in wrong.get_data(as_text=True)
    db.session.refresh(learner)
    assert not has_totp(learner)

    # typed on a Thai keyboard: Thai digits are read as the same code
    thai = totp_code(secret).translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    done = client.post("/account/second-factor/app", data={"code": thai})
    assert done.status_code == 200  # the recovery codes, shown once
    codes = re.findall(
        r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){5})</code>", done.get_data(as_text=True)
    )
    assert len(set(codes)) == 10
    db.session.refresh(learner)
    assert has_totp(learner) and learner.totp_confirmed_at is not None
    kept = set(
        db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == learner.id))
    )
    assert kept == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert audited("second_factor.totp_enrolled", learner) == 1
    assert audited("second_factor.recovery_codes_made", learner) == 1
    # this session counts as having passed the factor just set up
    assert sessions_of(learner)[0].second_factor == "totp"


def test_sign_in_waits_for_the_code_and_no_session_exists_before_it(client, db):
    instructor = with_authenticator_app(InstructorFactory())
    response = sign_in(client, instructor)
    assert response.headers["Location"] == SECOND_STEP
    assert sessions_of(instructor) == []  # nothing on the server yet
    assert client.get("/instructor").headers["Location"].startswith("/login")
    page = client.get(SECOND_STEP).get_data(as_text=True)
    assert "การยืนยันตัวตนขั้นที่สอง" in page and "/login/recovery-code" in page
    response = client.post(SECOND_STEP, data={"code": totp_code()})
    assert response.headers["Location"] == "/instructor"
    assert client.get("/instructor").status_code == 200
    (row,) = sessions_of(instructor)
    assert row.second_factor == "totp"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login"))
    assert event.target_id == instructor.id and event.details == {"method": "totp"}


def test_the_second_step_keeps_next_and_remember(client, db):
    admin = with_authenticator_app(AdminFactory())
    client.post(
        "/login?next=/admin/users",
        data={"email": admin.email, "password": PASSWORD, "remember": "y"},
    )
    response = client.post(SECOND_STEP, data={"code": totp_code()})
    assert response.headers["Location"] == "/admin/users"
    assert sessions_of(admin)[0].remember is True


def test_a_code_cannot_be_used_twice(client, db):
    instructor = with_authenticator_app(InstructorFactory())
    code = totp_code()
    sign_in(client, instructor)
    assert client.post(SECOND_STEP, data={"code": code}).status_code == 302
    client.post("/logout")
    sign_in(client, instructor)
    replay = client.post(SECOND_STEP, data={"code": code})
    assert replay.status_code == 200
    assert "ถูกใช้ไปแล้ว" in replay.get_data(as_text=True)
    assert len(sessions_of(instructor)) == 1  # only the first sign-in's
    assert audited("second_factor.failed", instructor) == 1


def test_a_wrong_code_is_refused_and_counted(client, db):
    instructor = with_authenticator_app(InstructorFactory())
    sign_in(client, instructor)
    for wrong in ("123456" if totp_code() != "123456" else "654321", "abcdef", "1" * 5000, ""):
        page = client.post(SECOND_STEP, data={"code": wrong})
        assert page.status_code == 200
    assert sessions_of(instructor) == []
    assert audited("second_factor.failed", instructor) == 2  # the two six-character tries


@pytest.fixture
def few_tries(app, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_LOGIN_ACCOUNT_RATE_LIMIT", "3 per 15 minutes")


def test_too_many_wrong_codes_lock_the_second_step(client, db, few_tries, caplog):
    instructor = with_authenticator_app(InstructorFactory())
    sign_in(client, instructor)
    with caplog.at_level(logging.WARNING, logger="lca.security"):
        for _ in range(3):
            client.post(
                SECOND_STEP, data={"code": "000000" if totp_code() != "000000" else "111111"}
            )
    locked = client.post(SECOND_STEP, data={"code": totp_code()})  # the right code, too late
    assert locked.status_code == 429
    assert "ใส่รหัสผิดหลายครั้งเกินไป" in locked.get_data(as_text=True)
    assert sessions_of(instructor) == []
    assert audited("second_factor.locked", instructor) == 1
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "lca.security"]
    assert {"event": "second_factor.lockout", "user_id": instructor.id}.items() <= lines[0].items()
    # from another device (another address), the account is locked all the same
    other = client.application.test_client()
    other.post(
        "/login",
        data={"email": instructor.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert other.post(SECOND_STEP, data={"code": totp_code()}).status_code == 429


def test_the_waiting_second_step_expires(client, db):
    instructor = with_authenticator_app(InstructorFactory())
    sign_in(client, instructor)
    with client.session_transaction() as session:
        session["second_step"] = {
            **session["second_step"],
            "at": session["second_step"]["at"] - 301,
        }
    response = client.post(SECOND_STEP, data={"code": totp_code()})
    assert response.headers["Location"] == "/login"
    assert sessions_of(instructor) == []


def test_a_forged_or_broken_waiting_state_is_refused(client, db):
    for state in ({"user": "1", "at": "x"}, [], "nonsense", {"user": 999_999, "at": 0}):
        with client.session_transaction() as session:
            session["second_step"] = state
        assert client.get(SECOND_STEP).headers["Location"] == "/login"


# --------------------------------------------------------------------------- recovery codes


def _codes(client) -> list[str]:
    page = client.post("/account/second-factor/recovery-codes").get_data(as_text=True)
    return re.findall(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){5})</code>", page)


def test_a_recovery_code_works_once(client, login, db):
    instructor = with_authenticator_app(InstructorFactory())
    login(instructor)
    codes = _codes(client)
    assert len(codes) == 10
    client.post("/logout")
    sign_in(client, instructor)
    response = client.post("/login/recovery-code", data={"code": f"  {codes[3].upper()} "})
    assert response.headers["Location"] == "/instructor"
    assert sessions_of(instructor)[-1].second_factor == "recovery"
    client.post("/logout")
    sign_in(client, instructor)
    again = client.post("/login/recovery-code", data={"code": codes[3]})
    assert again.status_code == 200
    assert "รหัสกู้คืนนี้ไม่ถูกต้องหรือถูกใช้ไปแล้ว" in again.get_data(as_text=True)
    assert audited("second_factor.failed", instructor) == 1


def test_new_recovery_codes_replace_the_old_ones(client, login, db):
    instructor = with_authenticator_app(InstructorFactory())
    login(instructor)
    old, new = _codes(client), _codes(client)
    assert set(old).isdisjoint(new)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == instructor.id)
        )
        == 10
    )
    client.post("/logout")
    sign_in(client, instructor)
    assert client.post("/login/recovery-code", data={"code": old[0]}).status_code == 200
    assert client.post("/login/recovery-code", data={"code": new[0]}).status_code == 302


def test_no_recovery_codes_without_a_second_factor(client, login, db):
    learner = LearnerFactory()
    login(learner)
    assert _codes(client) == []
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0


# --------------------------------------------------------------------------- staff must enrol


def test_staff_without_a_second_factor_reach_only_the_set_up(client, db):
    instructor = InstructorFactory()
    response = sign_in(client, instructor)
    assert response.headers["Location"] == "/instructor"
    for path in ("/instructor", "/review", "/account", "/notifications"):
        assert client.get(path).headers["Location"] == "/account/second-factor", path
    page = client.get("/account/second-factor").get_data(as_text=True)
    assert "ผู้ดูแลระบบและผู้สอนต้องตั้งค่าการยืนยันตัวตนสองขั้น" in page
    client.post("/account/second-factor/app/start")
    db.session.refresh(instructor)
    client.post("/account/second-factor/app", data={"code": totp_code(instructor.totp_secret)})
    assert client.get("/instructor").status_code == 200  # enrolled: this session passed it


def test_staff_without_a_second_factor_can_still_sign_out(client, db):
    sign_in(client, AdminFactory())
    assert client.post("/logout").headers["Location"] == "/"
    assert client.get("/admin/").headers["Location"].startswith("/login")


def test_a_staff_session_from_before_is_sent_to_the_second_step(client, db):
    admin = with_authenticator_app(AdminFactory())
    old = start_session(admin)  # a session without a second factor (from before issue 17)
    with client.session_transaction() as session:
        session["_user_id"] = old
    response = client.get("/admin/users")
    assert response.headers["Location"] == SECOND_STEP
    assert all(row.ended_at is not None for row in sessions_of(admin))
    response = client.post(SECOND_STEP, data={"code": totp_code()})
    assert response.headers["Location"] == "/admin/users"


def test_learners_may_go_without_a_second_factor(client, db):
    learner = LearnerFactory()
    assert sign_in(client, learner).headers["Location"] == "/learner"
    assert client.get("/learner").status_code == 200
    assert "เป็นทางเลือก" in client.get("/account/second-factor").get_data(as_text=True)


def test_a_learner_with_a_second_factor_gets_the_second_step(client, db):
    learner = with_authenticator_app(LearnerFactory())
    assert sign_in(client, learner).headers["Location"] == SECOND_STEP
    assert client.post(SECOND_STEP, data={"code": totp_code()}).headers["Location"] == "/learner"


# --------------------------------------------------------------------------- removing


def test_staff_cannot_remove_their_last_second_factor(client, login, db):
    instructor = with_authenticator_app(InstructorFactory())
    login(instructor)
    page = client.post("/account/second-factor/app/remove", follow_redirects=True)
    assert "เจ้าหน้าที่ต้องมีการยืนยันตัวตนสองขั้นอยู่เสมอ" in page.get_data(as_text=True)
    db.session.refresh(instructor)
    assert has_totp(instructor)

    passkey = PasskeyFactory(user=instructor)
    assert client.post("/account/second-factor/app/remove").status_code == 302
    db.session.refresh(instructor)
    assert not has_totp(instructor) and audited("second_factor.totp_removed", instructor) == 1
    page = client.post(
        f"/account/second-factor/passkeys/{passkey.id}/remove", follow_redirects=True
    )
    assert "เจ้าหน้าที่ต้องมีการยืนยันตัวตนสองขั้นอยู่เสมอ" in page.get_data(as_text=True)
    assert db.session.get(Passkey, passkey.id) is not None


def test_a_learner_may_remove_their_only_factor(client, login, db):
    learner = LearnerFactory()
    passkey = PasskeyFactory(user=learner)
    login(learner)
    assert client.post(f"/account/second-factor/passkeys/{passkey.id}/remove").status_code == 302
    assert not has_second_factor(learner)
    assert audited("second_factor.passkey_removed", learner) == 1


def test_another_persons_passkey_cannot_be_removed(client, login, db):
    theirs = PasskeyFactory(user=LearnerFactory())
    login(LearnerFactory())
    page = client.post(f"/account/second-factor/passkeys/{theirs.id}/remove", follow_redirects=True)
    assert "พาสคีย์นี้ไม่ได้ลงทะเบียนไว้กับบัญชีของคุณ" in page.get_data(as_text=True)
    assert db.session.get(Passkey, theirs.id) is not None


# --------------------------------------------------------------------------- the administrator


def test_an_administrator_resets_a_second_factor_and_the_person_is_told(client, admin, db, caplog):
    instructor = with_authenticator_app(InstructorFactory())
    PasskeyFactory(user=instructor)
    _db.session.add(RecoveryCode(user_id=instructor.id, code_hash="0" * 64))
    start_session(instructor, second_factor="totp")
    page = client.get(f"/admin/users/{instructor.id}/edit").get_data(as_text=True)
    assert "รีเซ็ตการยืนยันตัวตนสองขั้น" in page
    with caplog.at_level(logging.WARNING, logger="lca.security"):
        response = client.post(
            f"/admin/users/{instructor.id}/second-factor/reset", follow_redirects=True
        )
    assert "รีเซ็ตการยืนยันตัวตนสองขั้นแล้ว" in response.get_data(as_text=True)
    db.session.refresh(instructor)
    assert not has_second_factor(instructor) and instructor.totp_secret is None
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == instructor.id)
        )
        == 0
    )
    assert all(row.ended_at is not None for row in sessions_of(instructor))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "second_factor.reset"))
    assert event.actor_id == admin.id and event.target_id == instructor.id
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "lca.security"]
    assert any(
        line["event"] == "second_factor.reset" and line["actor_id"] == admin.id for line in lines
    )
    message = db.session.scalar(select(Message).where(Message.recipient_id == instructor.id))
    assert message.params["how"] == "second_factor_reset"
    from lca.notifications.content import render_message

    content = render_message(message)
    assert "การยืนยันตัวตนสองขั้นของบัญชี LCA ของคุณถูกรีเซ็ตแล้ว" in content.subject
    assert instructor.email in content.text
    # the audit trail tells it in words
    trail = client.get("/admin/audit").get_data(as_text=True)
    assert "รีเซ็ตการยืนยันตัวตนสองขั้นของ" in trail


def test_after_a_reset_staff_enrol_again(client, admin, db):
    instructor = with_authenticator_app(InstructorFactory())
    client.post(f"/admin/users/{instructor.id}/second-factor/reset")
    client.post("/logout")
    sign_in(client, instructor)
    assert client.get("/instructor").headers["Location"] == "/account/second-factor"


def test_a_reset_of_nothing_is_refused(client, admin, db):
    learner = LearnerFactory()
    page = client.post(f"/admin/users/{learner.id}/second-factor/reset", follow_redirects=True)
    assert "ไม่มีการยืนยันตัวตนสองขั้นให้รีเซ็ต" in page.get_data(as_text=True)
    assert audited("second_factor.reset", learner) == 0


# --------------------------------------------------------------------------- passkeys


def register(client, authenticator: SoftAuthenticator, name="โทรศัพท์") -> dict:
    options = post_json(client, "/account/second-factor/passkeys/options", {}).get_json()
    answer = authenticator.create(options)
    return post_json(
        client, "/account/second-factor/passkeys", {"name": name, "credential": answer}
    )


def test_a_passkey_is_registered_and_signs_in(client, login, db):
    instructor = with_authenticator_app(InstructorFactory())
    login(instructor)
    options = post_json(client, "/account/second-factor/passkeys/options", {}).get_json()
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == instructor.email
    assert str(instructor.id) not in unb64(options["user"]["id"]).decode("latin-1")
    device = SoftAuthenticator()
    answer = post_json(
        client,
        "/account/second-factor/passkeys",
        {"name": " โทรศัพท์ ", "credential": device.create(options)},
    )
    assert answer.status_code == 200 and answer.get_json() == {"redirect": "/account/second-factor"}
    (passkey,) = db.session.scalars(select(Passkey).where(Passkey.user_id == instructor.id))
    assert passkey.name == "โทรศัพท์" and passkey.credential_id == device.credential_id
    assert audited("second_factor.passkey_added", instructor) == 1
    client.post("/logout")

    sign_in(client, instructor)
    options = post_json(client, "/login/passkey/options", {}).get_json()
    assert [unb64(c["id"]) for c in options["allowCredentials"]] == [device.credential_id]
    assertion = device.get(options)
    response = post_json(client, "/login/passkey", {"credential": assertion})
    assert response.get_json() == {"redirect": "/instructor"}
    assert client.get("/instructor").status_code == 200
    assert sessions_of(instructor)[-1].second_factor == "passkey"
    db.session.refresh(passkey)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None

    # the same answer again (a replay): its challenge was used up
    client.post("/logout")
    sign_in(client, instructor)
    post_json(client, "/login/passkey/options", {})
    replay = post_json(client, "/login/passkey", {"credential": assertion})
    assert replay.status_code == 400 and replay.get_json()["error"]
    assert audited("second_factor.failed", instructor) == 1


def test_a_passkey_for_another_site_or_another_account_is_refused(client, login, db):
    instructor = with_authenticator_app(InstructorFactory())
    login(instructor)
    phishing = SoftAuthenticator(origin="http://lca.example.net")
    assert register(client, phishing).status_code == 400
    mine = SoftAuthenticator()
    assert register(client, mine).status_code == 200
    assert register(client, mine).status_code == 400  # registered already (and excluded)
    assert db.session.scalar(select(func.count()).select_from(Passkey)) == 1
    client.post("/logout")

    other = with_authenticator_app(InstructorFactory())
    sign_in(client, other)
    options = post_json(client, "/login/passkey/options", {}).get_json()
    refused = post_json(client, "/login/passkey", {"credential": mine.get(options)})
    assert refused.status_code == 400
    assert "พาสคีย์นี้ไม่ได้ลงทะเบียนไว้กับบัญชีของคุณ" in refused.get_json()["error"]
    assert sessions_of(other) == []


def test_a_form_post_without_javascript_is_sent_back_with_a_message(client, login, db):
    login(LearnerFactory())
    page = client.post("/account/second-factor/passkeys", data={"name": "x"}, follow_redirects=True)
    assert "พาสคีย์ต้องใช้ JavaScript" in page.get_data(as_text=True)


HOSTILE_BODIES = [
    b"\xff\xfe not json at all",
    b"[]",
    b"null",
    b'"a string"',
    b"{",
    b'{"credential": "x"}',
    b'{"credential": 5, "name": {"a": 1}}',
    b'{"credential": {"id": 5, "rawId": [], "type": null, "response": []}}',
    json.dumps(
        {
            "credential": {
                "id": "!!",
                "rawId": "!!",
                "type": "public-key",
                "response": {
                    "clientDataJSON": "%%%",
                    "attestationObject": 7,
                    "authenticatorData": "AA",
                    "signature": "AA",
                },
            }
        }
    ).encode(),
    json.dumps(  # well-formed base64url of bytes that mean nothing
        {
            "credential": {
                "id": "AA",
                "rawId": "AA",
                "type": "public-key",
                "response": {
                    "clientDataJSON": "e30",
                    "attestationObject": "oA",
                    "authenticatorData": "AAAA",
                    "signature": "AAAA",
                },
            }
        }
    ).encode(),
    b'{"credential": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"name": "' + b"x" * 200_000 + b'"}',
]


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_hostile_bodies_to_the_passkey_routes_get_a_4xx(client, login, db, body):
    instructor = with_authenticator_app(InstructorFactory())
    sign_in(client, instructor)
    post_json(client, "/login/passkey/options", {})
    answer = client.post("/login/passkey", data=body, content_type="application/json")
    assert 400 <= answer.status_code < 500
    assert sessions_of(instructor) == []

    login(LearnerFactory())
    for url in ("/account/second-factor/passkeys/options", "/account/second-factor/passkeys"):
        if url.endswith("passkeys"):
            post_json(client, "/account/second-factor/passkeys/options", {})
        answer = client.post(url, data=body, content_type="application/json")
        assert answer.status_code < 500, url
    answer = client.post(
        "/account/second-factor/passkeys", data=body, content_type="application/json"
    )
    assert 400 <= answer.status_code < 500
    assert db.session.scalar(select(func.count()).select_from(Passkey)) == 0


@pytest.mark.parametrize(
    "code", ["", " ", "١٢٣٤٥٦", "12 34 56 78", "' OR 1=1 --", "\x00" * 10, "9" * 100_000]
)
def test_hostile_codes_on_every_code_form(client, login, db, code):
    instructor = with_authenticator_app(
        InstructorFactory(), secret="KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
    )
    sign_in(client, instructor)
    for url in (SECOND_STEP, "/login/recovery-code"):
        assert client.post(url, data={"code": code}).status_code in (200, 400)
    learner = LearnerFactory()
    login(learner)
    client.post("/account/second-factor/app/start")
    assert client.post("/account/second-factor/app", data={"code": code}).status_code in (200, 400)
    assert sessions_of(instructor) == []
    db.session.refresh(learner)
    assert not has_totp(learner)


def test_the_passkey_routes_without_a_waiting_sign_in(client, db):
    refused = post_json(client, "/login/passkey/options", {})
    assert refused.status_code == 400 and "โปรดเข้าสู่ระบบด้วยรหัสผ่านก่อน" in refused.get_json()["error"]
    assert post_json(client, "/login/passkey", {"credential": {}}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_forgotten_password_reset_does_not_bypass_the_second_factor(client, db):
    """ASVS 5.0 6.4.3: the reset link changes the password; the second step still stands."""
    from lca.auth.services import new_reset_token

    instructor = with_authenticator_app(InstructorFactory())
    token = new_reset_token(instructor)
    db.session.flush()
    new = "ฝนตกที่เชียงรายทุกเย็น"
    answer = client.post(
        f"/reset-password/{token}", data={"new_password": new, "confirm_password": new}
    )
    assert answer.headers["Location"] == "/login"
    response = client.post("/login", data={"email": instructor.email, "password": new})
    assert response.headers["Location"] == SECOND_STEP
    assert client.get("/instructor").headers["Location"].startswith("/login")
    assert [row for row in sessions_of(instructor) if row.ended_at is None] == []


def test_recovery_codes_carry_at_least_112_random_bits(client, login, db):
    """ASVS 5.0 6.5.2: a plain SHA-256 is kept, so each code has 120 random bits (24 base32
    letters), and every set is new."""
    login(with_authenticator_app(InstructorFactory()))
    codes = _codes(client) + _codes(client)
    assert len(set(codes)) == 20
    assert all(len(code.replace("-", "")) * 5 >= 112 for code in codes)


def test_an_app_offered_but_never_confirmed_does_not_pass_the_second_step(client, login, db):
    learner = LearnerFactory()
    PasskeyFactory(user=learner)
    login(learner)
    client.post("/account/second-factor/app/start")  # the key shown, never confirmed
    client.post("/logout")
    db.session.refresh(learner)
    assert learner.totp_secret is not None and not has_totp(learner)
    sign_in(client, learner)
    refused = client.post(SECOND_STEP, data={"code": totp_code(learner.totp_secret)})
    assert refused.status_code == 200
    assert [row for row in sessions_of(learner) if row.ended_at is None] == []


# --------------------------------------------------------------------------- a recent proof

CONFIRM = "/account/confirm-password"
FACTORS = "/account/second-factor"
STALE = "รหัสผ่านปัจจุบันไม่ถูกต้อง"


def no_recent_proof(client) -> None:
    """This session's sign-in proves nothing any more (as after a remember-me cookie)."""
    with client.session_transaction() as session:
        session.pop("reauth_at", None)


def sent_to_confirm(response, back: str = FACTORS) -> bool:
    """The answer leads to the password page, which returns to ``back``."""
    return response.status_code == 302 and leads_to_confirm(response.headers["Location"], back)


def leads_to_confirm(location: str, back: str = FACTORS) -> bool:
    target = urlsplit(location)
    return target.path == CONFIRM and parse_qs(target.query) == {"next": [back]}


def confirm(client, password=PASSWORD, back: str | None = FACTORS):
    query = {} if back is None else {"next": back}
    return client.post(CONFIRM, query_string=query, data={"current_password": password})


@pytest.fixture
def clock(monkeypatch):
    """``clock(minutes)``: the recent-proof rule reads the time that many minutes from now."""
    from lca.auth import reauth

    real = reauth.utcnow

    def move(minutes: float) -> None:
        later = real() + timedelta(minutes=minutes)
        monkeypatch.setattr(reauth, "utcnow", lambda: later)

    return move


def _remove_app(client, user):
    with_authenticator_app(user)
    return client.post(f"{FACTORS}/app/remove"), lambda: has_totp(user)


def _remove_passkey(client, user):
    passkey_id = PasskeyFactory(user=user).id
    response = client.post(f"{FACTORS}/passkeys/{passkey_id}/remove")
    return response, lambda: _db.session.get(Passkey, passkey_id) is not None


def _new_recovery_codes(client, user):
    with_authenticator_app(user)
    response = client.post(f"{FACTORS}/recovery-codes")
    count = select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)
    return response, lambda: _db.session.scalar(count) == 0


def _start_the_app(client, user):
    response = client.post(f"{FACTORS}/app/start")
    return response, lambda: user.totp_secret is None


SENSITIVE = {
    "remove the app": _remove_app,
    "remove a passkey": _remove_passkey,
    "new recovery codes": _new_recovery_codes,
    "start setting up an app": _start_the_app,
}


@pytest.mark.parametrize("action", sorted(SENSITIVE))
def test_a_change_to_the_factors_without_a_recent_proof_asks_for_the_password(
    client, login, db, action
):
    learner = LearnerFactory()
    login(learner)
    no_recent_proof(client)
    response, unchanged = SENSITIVE[action](client, learner)
    assert sent_to_confirm(response)
    db.session.expire_all()
    assert unchanged()
    assert "<code>" not in response.get_data(as_text=True)  # no recovery codes shown
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ยืนยันรหัสผ่านอีกครั้ง" in page and 'autocomplete="current-password"' in page


@pytest.mark.parametrize("action", sorted(SENSITIVE))
def test_after_the_password_again_the_change_goes_through(client, login, db, action):
    learner = LearnerFactory()
    login(learner)
    no_recent_proof(client)
    back = confirm(client)
    assert back.status_code == 302 and back.headers["Location"] == FACTORS
    assert "ยืนยันรหัสผ่านเรียบร้อยแล้ว" in client.get(FACTORS).get_data(as_text=True)
    response, unchanged = SENSITIVE[action](client, learner)
    assert not sent_to_confirm(response)
    db.session.expire_all()
    assert not unchanged()
    assert audited("auth.password_check_failed", learner) == 0


def test_an_app_offered_long_ago_is_not_shown_or_confirmed_without_a_recent_proof(
    client, login, db
):
    """A key offered and left unconfirmed: a stolen session cannot read it, nor confirm it
    with the thief's own phone."""
    learner = LearnerFactory()
    login(learner)
    client.post(f"{FACTORS}/app/start")
    db.session.refresh(learner)
    secret = learner.totp_secret
    no_recent_proof(client)
    shown = client.get(f"{FACTORS}/app")
    assert sent_to_confirm(shown, back=f"{FACTORS}/app")
    assert secret not in shown.get_data(as_text=True)
    sent = client.post(f"{FACTORS}/app", data={"code": totp_code(secret)})
    assert sent_to_confirm(sent, back=f"{FACTORS}/app")
    db.session.expire_all()
    assert not has_totp(learner)
    assert confirm(client, back=f"{FACTORS}/app").headers["Location"] == f"{FACTORS}/app"
    assert secret.replace(" ", "")[:4] in client.get(f"{FACTORS}/app").get_data(as_text=True)


def test_passkey_registration_without_a_recent_proof_is_a_403_naming_the_page(client, login, db):
    learner = LearnerFactory()
    login(learner)
    no_recent_proof(client)
    refused = post_json(client, f"{FACTORS}/passkeys/options", {})
    assert refused.status_code == 403
    body = refused.get_json()
    assert "ยืนยันรหัสผ่านอีกครั้ง" in body["error"]
    assert leads_to_confirm(body["confirm"])
    with client.session_transaction() as session:
        assert "passkey_registration_challenge" not in session
    confirm(client)
    assert register(client, SoftAuthenticator()).status_code == 200
    assert len(passkeys_of_user(learner)) == 1


def test_a_challenge_kept_from_before_does_not_register_a_passkey_without_a_proof(
    client, login, db
):
    """Options asked for while the proof was recent, the answer sent once it is not: refused
    (a copy of a cookie holding a challenge must not add the copier's passkey)."""
    learner = LearnerFactory()
    login(learner)
    options = post_json(client, f"{FACTORS}/passkeys/options", {}).get_json()
    no_recent_proof(client)
    answer = SoftAuthenticator().create(options)
    refused = post_json(client, f"{FACTORS}/passkeys", {"name": "x", "credential": answer})
    assert refused.status_code == 403 and refused.get_json()["confirm"].startswith(CONFIRM)
    assert passkeys_of_user(learner) == []
    with client.session_transaction() as session:
        assert "passkey_registration_challenge" not in session  # not usable after a proof


def passkeys_of_user(user) -> list[Passkey]:
    return list(_db.session.scalars(select(Passkey).where(Passkey.user_id == user.id)))


def test_a_wrong_password_on_the_confirm_page_is_counted_and_audited(client, login, db):
    learner = with_authenticator_app(LearnerFactory())
    login(learner)
    no_recent_proof(client)
    wrong = confirm(client, "not my password")
    assert wrong.status_code == 200 and STALE in wrong.get_data(as_text=True)
    failed = list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "auth.password_check_failed",
                AuditEvent.target_id == learner.id,
            )
        )
    )
    assert [event.details["form"] for event in failed] == ["confirm_password"]
    assert sent_to_confirm(client.post(f"{FACTORS}/app/remove"))  # still no proof
    assert has_totp(learner)


def test_too_many_wrong_passwords_on_the_confirm_page_sign_the_person_out(
    app, client, login, db, monkeypatch
):
    monkeypatch.setitem(app.config, "LCA_PASSWORD_CHECK_RATE_LIMIT", "2 per 15 minutes")
    learner = with_authenticator_app(LearnerFactory())
    login(learner)
    no_recent_proof(client)
    assert confirm(client, "wrong").status_code == 200
    locked = confirm(client, "wrong")
    assert locked.status_code == 302 and locked.headers["Location"] == "/login"
    assert audited("auth.password_check_locked", learner) == 1
    assert all(row.ended_at is not None for row in sessions_of(learner))
    assert client.post(f"{FACTORS}/app/remove").headers["Location"].startswith("/login")
    assert has_totp(learner)


def test_the_proof_lasts_the_configured_minutes(app, client, login, db, clock):
    assert app.config["LCA_REAUTH_MINUTES"] == 10
    learner = LearnerFactory()
    first, second = PasskeyFactory(user=learner), PasskeyFactory(user=learner)
    login(learner)
    clock(9)
    assert client.post(f"{FACTORS}/passkeys/{first.id}/remove").headers["Location"] == FACTORS
    clock(11)
    assert sent_to_confirm(client.post(f"{FACTORS}/passkeys/{second.id}/remove"))
    assert db.session.get(Passkey, second.id) is not None
    assert post_json(client, f"{FACTORS}/passkeys/options", {}).status_code == 403
    confirm(client)  # at minute 11: a new proof, which lasts until minute 21
    clock(20)
    assert client.post(f"{FACTORS}/passkeys/{second.id}/remove").headers["Location"] == FACTORS
    assert passkeys_of_user(learner) == []


def test_a_proof_from_the_future_or_of_the_wrong_shape_is_no_proof(client, login, db):
    learner = with_authenticator_app(LearnerFactory())
    login(learner)
    with client.session_transaction() as session:
        session["reauth_at"] = int(utcnow().timestamp()) + 3600
    assert sent_to_confirm(client.post(f"{FACTORS}/app/remove"))
    for value in ("1700000000", True, 1.5, -1, 10**12, None, [1]):
        login(learner)
        with client.session_transaction() as session:
            session["reauth_at"] = value
        # a cookie LCA never writes is no cookie at all: signed out, nothing removed
        refused = client.post(f"{FACTORS}/app/remove")
        assert refused.headers["Location"].startswith("/login"), value
    assert has_totp(learner)


HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    " //evil.example",
    "/\t/evil.example",
    "http:/evil.example",
    "data:text/html,x",
    "evil.example",
    "",
    "/" + "a" * 5000,
    "/\x00",
    "/ก\r\nLocation: https://evil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_a_hostile_next_never_leaves_the_site(client, login, db, target):
    learner = LearnerFactory()
    login(learner)
    no_recent_proof(client)
    page = client.get(CONFIRM, query_string={"next": target})
    assert page.status_code == 200
    actions = re.findall(r'action="(/account/confirm-password[^"]*)"', page.get_data(as_text=True))
    assert [leads_to_confirm(action.replace("&amp;", "&")) for action in actions] == [True]
    back = confirm(client, back=target)
    assert back.status_code == 302 and back.headers["Location"] == FACTORS


def test_a_local_next_is_kept_and_no_next_leads_to_the_factors(client, login, db):
    learner = LearnerFactory()
    login(learner)
    no_recent_proof(client)
    assert confirm(client, back="/account?tab=1").headers["Location"] == "/account?tab=1"
    no_recent_proof(client)
    assert confirm(client, back=None).headers["Location"] == FACTORS


def test_a_missing_password_on_the_confirm_page_is_a_message_and_not_counted(client, login, db):
    learner = LearnerFactory()
    login(learner)
    no_recent_proof(client)
    for data in ({}, {"current_password": ""}, {"other": PASSWORD}):
        page = client.post(CONFIRM, data=data)
        assert page.status_code == 200
    assert "กรอกรหัสผ่านปัจจุบัน" in client.post(CONFIRM, data={}).get_data(as_text=True)
    assert audited("auth.password_check_failed", learner) == 0


def test_the_confirm_page_needs_a_sign_in(client, db):
    response = client.get(CONFIRM, query_string={"next": FACTORS})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_real_sign_in_is_a_recent_proof(client, db, clock):
    """The password alone (a learner without a factor): the change goes straight through,
    for the configured minutes."""
    learner = LearnerFactory()
    assert sign_in(client, learner).status_code == 302
    clock(9)
    assert client.post(f"{FACTORS}/app/start").headers["Location"] == f"{FACTORS}/app"
    clock(11)
    assert sent_to_confirm(client.get(f"{FACTORS}/app"), back=f"{FACTORS}/app")


def test_staff_enrolling_at_their_first_sign_in_are_not_asked_again(client, db, clock):
    """Password, then straight to setting up the app: no second password on the way."""
    instructor = InstructorFactory()
    assert sign_in(client, instructor).status_code == 302
    with client.session_transaction() as session:
        assert abs(session["reauth_at"] - utcnow().timestamp()) < 120  # the sign-in's time
    clock(9)
    start = client.post(f"{FACTORS}/app/start")
    assert start.headers["Location"] == f"{FACTORS}/app"
    db.session.refresh(instructor)
    done = client.post(f"{FACTORS}/app", data={"code": totp_code(instructor.totp_secret)})
    assert done.status_code == 200 and "<code>" in done.get_data(as_text=True)  # the codes
    db.session.expire_all()
    assert has_totp(instructor)


def test_staff_still_enrolling_whose_proof_expired_reach_the_confirm_page(client, db, clock):
    instructor = InstructorFactory()
    sign_in(client, instructor)
    clock(30)
    start = client.post(f"{FACTORS}/app/start")
    assert sent_to_confirm(start)
    assert client.get(start.headers["Location"]).status_code == 200  # not sent to the set-up
    assert confirm(client).headers["Location"] == FACTORS
    assert client.post(f"{FACTORS}/app/start").headers["Location"] == f"{FACTORS}/app"


def test_the_second_step_is_a_recent_proof(client, db, clock):
    instructor = with_authenticator_app(InstructorFactory())
    sign_in(client, instructor)
    assert client.post(SECOND_STEP, data={"code": totp_code()}).status_code == 302
    assert len(_codes(client)) == 10
    clock(11)
    assert sent_to_confirm(client.post(f"{FACTORS}/recovery-codes"))


def test_a_session_restored_from_the_remember_me_cookie_needs_the_password(client, db):
    learner = with_authenticator_app(LearnerFactory())
    sign_in(client, learner, remember=True)
    client.post(SECOND_STEP, data={"code": totp_code()})
    client.delete_cookie("lca_session")  # the browser was closed; remember-me signs in again
    assert client.get(FACTORS).status_code == 200
    assert sent_to_confirm(client.post(f"{FACTORS}/app/remove"))
    assert has_totp(learner)
    confirm(client)
    assert client.post(f"{FACTORS}/app/remove").headers["Location"] == FACTORS
