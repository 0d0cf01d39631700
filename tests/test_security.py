"""Sign-in throttling per account and per address, the password policy, ending sessions, and
the headers and page markup that the Content-Security-Policy relies on."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select

from lca import SECURITY_HEADERS
from lca.core.config import load_config
from lca.models import AuditEvent, User
from tests.factories import PASSWORD, AdminFactory, LearnerFactory

THROTTLED = "บัญชีนี้เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป"
WRONG = "อีเมลหรือรหัสผ่านไม่ถูกต้อง"
addresses = (f"203.0.113.{n}" for n in count(1))  # a new client address per attempt


def sign_in(client, email, password=PASSWORD, address=None):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address or next(addresses)},
    )


@pytest.fixture
def account_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_LOGIN_ACCOUNT_RATE_LIMIT", "3 per 15 minutes")


def test_failed_sign_ins_are_throttled_per_account_from_any_address(client, db, account_limit):
    LearnerFactory(email="target@example.org")
    for _ in range(3):
        assert WRONG in sign_in(client, "target@example.org", "guess").get_data(as_text=True)
    throttled = sign_in(client, "Target@Example.org ", PASSWORD)  # right password, too late
    assert throttled.status_code == 429
    assert THROTTLED in throttled.get_data(as_text=True)
    assert "ลองใหม่ในอีก 15 นาที" in throttled.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    LearnerFactory(email="bystander@example.org")
    assert sign_in(client, "bystander@example.org").status_code == 302  # others unaffected


def test_an_administrators_reset_lifts_the_throttle(app, client, login, db, account_limit):
    user = LearnerFactory(email="forgetful@example.org")
    for _ in range(4):
        sign_in(client, "forgetful@example.org", "guess")
    assert sign_in(client, "forgetful@example.org").status_code == 429
    login(AdminFactory())
    page = client.post(f"/admin/users/{user.id}/reset-password").get_data(as_text=True)
    one_time = re.search(r"<code[^>]*>([^<]+)</code>", page).group(1)
    device = app.test_client()
    assert sign_in(device, "forgetful@example.org", one_time).status_code == 302


def test_an_unknown_account_is_throttled_the_same_way(client, db, account_limit):
    """The throttle must not tell which e-mail addresses have accounts."""
    for _ in range(3):
        sign_in(client, "nobody-here@example.org", "guess")
    page = sign_in(client, "nobody-here@example.org", "guess")
    assert page.status_code == 429 and THROTTLED in page.get_data(as_text=True)


def test_successful_sign_ins_do_not_count_against_the_account(app, client, db, account_limit):
    LearnerFactory(email="daily@example.org")
    for _ in range(5):
        device = app.test_client()
        assert sign_in(device, "daily@example.org").status_code == 302


def test_sign_ins_are_throttled_per_address(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_LOGIN_RATE_LIMIT", "3 per minute")
    statuses = [
        sign_in(client, f"spray{n}@example.org", "guess", address="198.51.100.99").status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert sign_in(client, "spray9@example.org", "guess", "198.51.100.98").status_code == 200


def test_a_classroom_signs_in_together_from_one_address(app, db):
    """Fifty learners behind one Wi-Fi (one NAT address) all get in within a minute, with the
    production limits; one account's eleventh wrong password is still refused."""
    config = load_config({"LCA_ENV": "development"})  # the shipped limits
    assert config["LCA_LOGIN_ACCOUNT_RATE_LIMIT"] == "10 per 15 minutes"
    room = "203.0.113.50"
    with pytest.MonkeyPatch.context() as patch:
        for key in ("LCA_LOGIN_RATE_LIMIT", "LCA_LOGIN_ACCOUNT_RATE_LIMIT"):
            patch.setitem(app.config, key, config[key])
        class_of_fifty = [LearnerFactory(email=f"learner{n}@class.example.org") for n in range(50)]
        for learner in class_of_fifty:
            device = app.test_client()
            assert sign_in(device, learner.email, address=room).status_code == 302
        LearnerFactory(email="forgot@class.example.org")
        device = app.test_client()
        wrong = [sign_in(device, "forgot@class.example.org", "guess", room) for _ in range(11)]
        assert [page.status_code for page in wrong[:10]] == [200] * 10
        assert wrong[10].status_code == 429
        assert THROTTLED in wrong[10].get_data(as_text=True)
        latecomer = LearnerFactory(email="late@class.example.org")
        assert sign_in(app.test_client(), latecomer.email, address=room).status_code == 302


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1234", "รหัสผ่านนี้อยู่ในรายการรหัสผ่านที่คนใช้บ่อยที่สุด"),
        ("qwertyuiop", "รหัสผ่านนี้อยู่ในรายการรหัสผ่านที่คนใช้บ่อยที่สุด"),
        ("Iloveyou12", "รหัสผ่านนี้อยู่ในรายการรหัสผ่านที่คนใช้บ่อยที่สุด"),
        ("aaaaaaaaaaaa", "รหัสผ่านนี้เดาง่ายเกินไป"),
        ("abcd1234abcd", "รหัสผ่านนี้เดาง่ายเกินไป"),
        ("somchairakdee", "รหัสผ่านนี้เดาง่ายเกินไป"),  # the person's own name
        ("ssomchai.rakdee@city.example.org", "รหัสผ่านนี้เดาง่ายเกินไป"),  # their e-mail
        ("สั้นไป", "ใช้อย่างน้อย 10 ตัวอักษร"),
        ("learningcity2569", "รหัสผ่านนี้เดาง่ายเกินไป"),  # the programme's own words
        ("Phayao@2569", "รหัสผ่านนี้เดาง่ายเกินไป"),  # a learning city and a year
        ("demo-pass-2569", "รหัสผ่านนี้เดาง่ายเกินไป"),  # the demo accounts' published one
    ],
)
def test_weak_passwords_are_refused(client, login, db, password, message, field_error):
    user = LearnerFactory(
        email="somchai.rakdee@city.example.org",
        full_name_th="สมชาย รักดี",
        full_name_en="Somchai Rakdee",
    )
    login(user)
    before = user.password_hash
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": password,
            "confirm_password": password,
        },
    )
    assert message in field_error(response.get_data(as_text=True), "new_password")
    db.session.refresh(user)
    assert user.password_hash == before


@pytest.mark.parametrize("password", ["ดอกปีบบานที่ลำพูน", "river Kwai bridge 2569", "ก" * 9 + "x1"])
def test_thai_and_passphrase_passwords_are_welcome(client, login, db, password):
    login(LearnerFactory())
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": password,
            "confirm_password": password,
        },
    )
    if password.startswith("ก"):  # one letter repeated: too easy, whatever its length
        assert "รหัสผ่านนี้เดาง่ายเกินไป" in response.get_data(as_text=True)
    else:
        assert response.status_code == 302


def test_sign_out_everywhere_else_ends_the_other_sessions(app, client, db, field_error):
    user = LearnerFactory(email="lost-phone@example.org")
    phone, desk = app.test_client(), app.test_client()
    for device in (phone, desk):
        assert sign_in(device, "lost-phone@example.org").status_code == 302
    wrong = desk.post("/account/sign-out-everywhere", data={"current_password": "not it"})
    assert "รหัสผ่านปัจจุบันไม่ถูกต้อง" in field_error(wrong.get_data(as_text=True), "current_password")
    assert phone.get("/learner").status_code == 200  # nothing changed
    done = desk.post("/account/sign-out-everywhere", data={"current_password": PASSWORD})
    assert done.headers["Location"] == "/account"
    assert "ออกจากระบบบนอุปกรณ์อื่นทั้งหมดแล้ว" in desk.get("/account").get_data(as_text=True)
    assert desk.get("/learner").status_code == 200
    assert phone.get("/learner").status_code == 302  # signed out
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "user.sessions_ended", AuditEvent.target_id == user.id
        )
    ).all()
    assert len(events) == 1


def test_a_remember_me_cookie_dies_with_the_session_token(app, client, db):
    LearnerFactory(email="remembered@example.org")
    device = app.test_client()
    device.post(
        "/login",
        data={"email": "remembered@example.org", "password": PASSWORD, "remember": "y"},
    )
    assert device.get_cookie("lca_remember") is not None
    with device.session_transaction() as session:
        session.clear()  # the browser was closed: only the remember-me cookie is left
    assert device.get("/learner").status_code == 200
    other = app.test_client()
    sign_in(other, "remembered@example.org")
    other.post("/account/sign-out-everywhere", data={"current_password": PASSWORD})
    with device.session_transaction() as session:
        session.clear()
    assert device.get("/learner").status_code == 302


# -- headers and markup -------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(client, db):
    for path in ("/", "/login", "/no-such-page", "/healthz"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        assert "Strict-Transport-Security" not in response.headers  # plain http: no HSTS
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_hsts_when_served_over_https(client, db):
    response = client.get("/", base_url="https://lca.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_session_cookie_is_http_only_and_same_site(client, db):
    LearnerFactory(email="cookie@example.org")
    sign_in(client, "cookie@example.org")
    cookie = client.get_cookie("lca_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    signature = cookie.value.rsplit(".", 1)[1]
    assert len(signature) == 43  # an HMAC-SHA256 in base64, not Flask's default SHA-1 (27)


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline script"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event-handler attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


@pytest.mark.parametrize("actor", ["anonymous", "learner", "instructor", "admin"])
def test_no_page_needs_inline_script_or_style(
    app, client, login, world, actor, url_arguments, permission_matrix
):
    """The policy forbids inline script and style; a page that used them would break
    silently in the browser, so every page a role can open is checked for them."""
    from flask import url_for

    if world[actor] is not None:
        login(world[actor])
    checked = 0
    for (endpoint, method), who in sorted(permission_matrix.rows.items()):
        if method != "GET" or who[actor] != permission_matrix.OK:
            continue
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        with app.test_request_context():
            url = url_for(endpoint, **{a: url_arguments[a] for a in rule.arguments})
        response = client.get(url)
        if not response.content_type.startswith("text/html"):
            continue
        page = response.get_data(as_text=True)
        for pattern, what in INLINE:
            assert not pattern.search(page), f"{what} on {url}: {pattern.search(page).group(0)}"
        checked += 1
    assert checked >= 5


def test_signing_out_forgets_the_remember_me_cookie(app, client, db):
    LearnerFactory(email="shared-pc@example.org")
    device = app.test_client()
    device.post(
        "/login", data={"email": "shared-pc@example.org", "password": PASSWORD, "remember": "y"}
    )
    assert device.get_cookie("lca_remember") is not None
    device.post("/logout")
    assert device.get_cookie("lca_remember") is None
    assert device.get("/learner").status_code == 302  # not signed back in by the cookie


def test_signed_in_pages_are_not_cached(client, login, db):
    assert "Cache-Control" not in client.get("/curriculum").headers  # public: may be cached
    login(LearnerFactory())
    assert client.get("/learner").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_refused_requests_are_logged(client, login, db, caplog):
    learner = LearnerFactory()
    login(learner)
    with caplog.at_level("WARNING", logger="lca"):
        assert client.get("/admin/").status_code == 403
    assert f"access refused: GET /admin/ user={learner.id}" in caplog.text


# -- sessions kept on the server ----------------------------------------------------------

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def _session_of(db, email):
    from lca.models import UserSession

    return db.session.scalars(
        select(UserSession).join(UserSession.user).where(User.email == email)
    ).all()


def test_a_copied_session_cookie_dies_at_sign_out(app, client, db):
    LearnerFactory(email="copied@example.org")
    sign_in(client, "copied@example.org")
    stolen = client.get_cookie("lca_session").value
    thief = app.test_client()
    thief.set_cookie("lca_session", stolen)
    assert thief.get("/learner").status_code == 200  # the copy works while the session lives
    client.post("/logout")
    assert thief.get("/learner").status_code == 302  # and not a moment after
    [row] = _session_of(db, "copied@example.org")
    assert row.ended_at is not None


def test_an_idle_session_ends(client, db):
    LearnerFactory(email="idle@example.org")
    sign_in(client, "idle@example.org")
    assert client.get("/learner").status_code == 200
    [row] = _session_of(db, "idle@example.org")
    row.last_seen_at -= timedelta(minutes=61)
    db.session.flush()
    assert client.get("/learner").status_code == 302
    db.session.refresh(row)
    assert row.ended_at is not None


def test_a_kept_session_lasts_fourteen_days_and_no_longer(client, db):
    LearnerFactory(email="kept@example.org")
    client.post("/login", data={"email": "kept@example.org", "password": PASSWORD, "remember": "y"})
    [row] = _session_of(db, "kept@example.org")
    row.created_at -= timedelta(days=13)
    row.last_seen_at -= timedelta(days=6)  # a week away: still signed in
    db.session.flush()
    assert client.get("/learner").status_code == 200
    row.created_at -= timedelta(days=2)
    db.session.flush()
    assert client.get("/learner").status_code == 302


def test_the_account_page_lists_the_devices(app, client, db):
    LearnerFactory(email="two-phones@example.org")
    other = app.test_client()
    sign_in(other, "two-phones@example.org")
    client.post(
        "/login",
        data={"email": "two-phones@example.org", "password": PASSWORD},
        headers={"User-Agent": ANDROID_CHROME},
    )
    page = client.get("/account").get_data(as_text=True)
    assert "Chrome · Android" in page and "อุปกรณ์นี้" in page
    assert page.count("<li>\n          <strong>") == 2


def test_an_administrator_signs_someone_out_everywhere(app, client, login, db):
    user = LearnerFactory(email="suspect@example.org")
    phone = app.test_client()
    sign_in(phone, "suspect@example.org")
    admin = AdminFactory()
    login(admin)
    assert "ขณะนี้เข้าสู่ระบบอยู่บน 1 อุปกรณ์" in client.get(f"/admin/users/{user.id}/edit").get_data(
        as_text=True
    )
    client.post(f"/admin/users/{user.id}/sign-out")
    assert phone.get("/learner").status_code == 302
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.sessions_ended", AuditEvent.target_id == user.id
        )
    )
    assert event.actor_id == admin.id and event.details["sessions"] == 1
    refused = client.post(f"/admin/users/{admin.id}/sign-out", follow_redirects=True)
    assert "ออกจากระบบบนอุปกรณ์อื่นของคุณได้ที่หน้าบัญชีของคุณ" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("agent", "described"),
    [
        (ANDROID_CHROME, "Chrome · Android"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Safari/604.1",
            "Safari · iPhone",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36 Edg/131.0",
            "Edge · Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox · Linux",
        ),
        ("", "อุปกรณ์ที่ไม่รู้จัก"),
    ],
)
def test_devices_are_described_for_people(app, agent, described):
    from lca.auth.sessions import describe_device

    with app.test_request_context():
        assert describe_device(agent) == described
