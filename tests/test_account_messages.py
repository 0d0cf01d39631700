"""Messages about one's account, delivered by the worker to a real SMTP server (aiosmtpd): the
invitation (from an administrator, an import, the command line; re-sent one or all), the
forgot-password link (one use, one hour, the same answer for any address, throttled), and the
security messages after a password change and a sign-in from a new device."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from email.header import decode_header, make_header
from itertools import count

import pytest
from sqlalchemy import select

from lca.auth.sessions import open_sessions, start_session
from lca.core.db import utcnow
from lca.models import AuditEvent, Message, MessageKind, User
from tests.factories import PASSWORD, CohortFactory, LearnerFactory, multipart

PUBLIC = "http://127.0.0.1:5000"
NEW_PASSWORD = "ฝนตกที่เชียงรายทุกเย็น"
CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"
CHROME_ANDROID = "Mozilla/5.0 (Linux; Android 14; SM-A546E) Chrome/131.0 Mobile Safari/537.36"
addresses = (f"192.0.2.{n}" for n in count(1))  # a new client address per request


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def to(mail) -> str:
    return mail["To"].addresses[0].addr_spec


def text_of(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def html_of(mail) -> str:
    return mail.get_body(("html",)).get_content()


def link_in(mail, path: str) -> str:
    """The one link to ``path…`` in the mail (the same in both parts), as a local path."""
    pattern = rf"{re.escape(PUBLIC)}({re.escape(path)}[\w-]*(?:\?lang=\w\w)?)(?![\w/-])"
    found = set(re.findall(pattern, text_of(mail)))
    assert len(found) == 1, text_of(mail)
    (local,) = found
    assert f"{PUBLIC}{local}" in html_of(mail)
    return local


def kinds(db, user) -> list[MessageKind]:
    return list(
        db.session.scalars(
            select(Message.kind).where(Message.recipient_id == user.id).order_by(Message.id)
        )
    )


def ask_for_reset(client, email, address=None):
    return client.post(
        "/forgot-password",
        data={"email": email},
        environ_base={"REMOTE_ADDR": address or next(addresses)},
    )


def sign_in(client, email, password, agent=CHROME_WINDOWS, address="198.51.100.7"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": address},
    )


def choose(client, path, password=NEW_PASSWORD):
    return client.post(path, data={"new_password": password, "confirm_password": password})


# --------------------------------------------------------------------------- invitations


def test_an_account_made_by_an_administrator_is_invited_in_its_language(
    app, client, admin, db, deliver
):
    response = client.post(
        "/admin/users/new",
        data={
            "email": "Dara@Example.org",
            "full_name_th": "ดารา ศรีสุข",
            "full_name_en": "Dara Srisuk",
            "role": "instructor",
            "city_id": "0",
            "organisation": "",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 200
    arrived = deliver()
    assert [str(mail["To"]) for mail in arrived] == ["Dara Srisuk <dara@example.org>"]
    mail = arrived[0]
    assert subject(mail) == "Your LCA account: choose your password"
    assert "Dear Dara Srisuk," in text_of(mail) and "14 days" in text_of(mail)
    link = link_in(mail, "/set-password/")
    assert deliver() == []  # once
    invitation = db.session.scalar(select(Message).where(Message.kind == MessageKind.INVITATION))
    assert "token" not in invitation.params  # the secret is wiped once sent
    person = app.test_client()
    assert "Choose your password" in person.get(link).get_data(as_text=True)
    assert choose(person, link).headers["Location"] == "/instructor"
    assert person.get(link).status_code == 404  # used up
    changed = deliver()  # setting the password is a password change too
    assert [subject(mail) for mail in changed] == ["Your LCA password was changed"]
    assert sign_in(app.test_client(), "dara@example.org", NEW_PASSWORD).status_code == 302


def test_create_user_without_a_password_invites_by_e_mail(app, db, deliver):
    result = app.test_cli_runner().invoke(
        args=[
            *("lca", "create-user", "--email", "ops@example.org", "--name-th", "ผู้ดูแล ระบบ"),
            *("--role", "admin", "--invite"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "invitation" in result.output
    user = db.session.scalar(select(User).where(User.email == "ops@example.org"))
    assert user.password_hash == "!" and user.setup_token_hash  # no password works yet
    (mail,) = deliver()
    assert subject(mail) == "บัญชี LCA ของคุณ: ตั้งรหัสผ่าน"
    assert "เรียน คุณผู้ดูแล ระบบ" in text_of(mail)
    link = link_in(mail, "/set-password/")
    assert app.test_client().get(link).status_code == 200


@pytest.fixture
def imported(app, client, admin, db):
    """Three learners imported into a cohort through the pages; the result page."""
    cohort = CohortFactory()
    rows = [
        "email,full_name_th,full_name_en",
        "somsri@example.org,สมศรี ใจดี,Somsri Jaidee",
        "namfon@example.org,น้ำฝน ปู่ทอง,",
        "sakchai@example.org,ศักดิ์ชัย ฤทธิ์เดช,",
    ]
    data = ("\r\n".join(rows) + "\r\n").encode()
    client.post(
        f"/admin/cohorts/{cohort.id}/import",
        **multipart({"file": (io.BytesIO(data), "learners.csv")}),
    )
    page = client.post(f"/admin/cohorts/{cohort.id}/import/confirm").get_data(as_text=True)
    return cohort, page


def test_an_import_invites_every_new_learner_once(app, db, deliver, imported):
    _cohort, page = imported
    assert "ส่งทางอีเมลแล้ว" in page and len(re.findall(r'/admin/users/\d+/invitation"', page)) == 3
    arrived = deliver()
    assert sorted(to(mail) for mail in arrived) == [
        "namfon@example.org",
        "sakchai@example.org",
        "somsri@example.org",
    ]
    somsri = next(mail for mail in arrived if "somsri" in str(mail["To"]))
    link = link_in(somsri, "/set-password/")
    assert link.removesuffix("?lang=th") in page  # the same link as on the result page
    assert choose(app.test_client(), link).headers["Location"] == "/learner"


def test_resend_one_invitation_makes_a_new_link_and_the_old_one_stops(
    app, client, db, deliver, imported, flashes
):
    cohort, _page = imported
    (old,) = [m for m in deliver() if "namfon" in str(m["To"])]
    old_link = link_in(old, "/set-password/")
    namfon = db.session.scalar(select(User).where(User.email == "namfon@example.org"))
    back = f"/admin/cohorts/{cohort.id}/invitations"
    response = client.post(f"/admin/users/{namfon.id}/invitation", data={"next": back})
    assert response.headers["Location"] == back
    page = client.get(back).get_data(as_text=True)
    assert "ส่งคำเชิญใหม่ไปที่ namfon@example.org แล้ว" in flashes(page)
    (again,) = deliver()
    assert str(again["To"]) == "น้ำฝน ปู่ทอง <namfon@example.org>"
    new_link = link_in(again, "/set-password/")
    assert new_link != old_link
    person = app.test_client()
    assert person.get(old_link).status_code == 404
    assert choose(person, new_link).headers["Location"] == "/learner"
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.invitation_resent", AuditEvent.target_id == namfon.id
        )
    )
    # Once the password is chosen there is nothing to send again.
    assert [subject(mail) for mail in deliver()] == ["รหัสผ่าน LCA ของคุณถูกเปลี่ยนแล้ว"]
    refused = client.post(f"/admin/users/{namfon.id}/invitation", follow_redirects=True)
    assert "namfon@example.org ตั้งรหัสผ่านไว้แล้ว" in flashes(refused.get_data(as_text=True))
    assert deliver() == []


def test_resend_all_unused_invitations(app, client, db, deliver, imported, flashes):
    cohort, _page = imported
    first = {to(m): link_in(m, "/set-password/") for m in deliver()}
    somsri_link = next(link for to, link in first.items() if "somsri" in to)
    choose(app.test_client(), somsri_link)  # Somsri has chosen her password
    deliver()  # her "password changed"
    listing = client.get(f"/admin/cohorts/{cohort.id}/invitations").get_data(as_text=True)
    assert "namfon@example.org" in listing and "somsri@example.org" not in listing
    response = client.post(f"/admin/cohorts/{cohort.id}/invitations/resend")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ส่งคำเชิญอีกครั้งแล้ว 2 ฉบับ" in flashes(page)
    again = deliver()
    assert sorted(to(mail) for mail in again) == ["namfon@example.org", "sakchai@example.org"]
    person = app.test_client()
    for mail in again:
        assert person.get(first[to(mail)]).status_code == 404  # the old links stop
        assert person.get(link_in(mail, "/set-password/")).status_code == 200
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.invitation_resent")
    ).all()
    assert len(events) == 2


# --------------------------------------------------------------------------- forgot password


def test_forgot_password_sends_a_link_that_works_once_and_ends_every_session(
    app, client, db, deliver, flashes
):
    learner = LearnerFactory(email="kanda@example.org", full_name_th="กานดา มีสุข")
    start_session(learner)  # signed in on a phone
    start_session(learner)  # and on a computer
    db.session.commit()
    assert "/forgot-password" in client.get("/login").get_data(as_text=True)
    response = ask_for_reset(client, "Kanda@Example.org ")
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert flashes(page) == [
        "หาก kanda@example.org เป็นอีเมลของบัญชีในระบบ ลิงก์สำหรับตั้งรหัสผ่านใหม่กำลังส่งไปที่อีเมล"
        "นั้น ลิงก์ใช้ได้ภายในหนึ่งชั่วโมง"
    ]
    (mail,) = deliver()
    assert str(mail["To"]) == "กานดา มีสุข <kanda@example.org>"
    assert subject(mail) == "ตั้งรหัสผ่าน LCA ใหม่"
    assert "60 นาที" in text_of(mail)
    link = link_in(mail, "/reset-password/")
    assert deliver() == []

    person = app.test_client()
    form = person.get(link).get_data(as_text=True)
    assert "ตั้งรหัสผ่านใหม่" in form and "kanda@example.org" in form
    weak = choose(person, link, "short")
    assert weak.status_code == 200 and "ใช้อย่างน้อย 10 ตัวอักษร" in weak.get_data(as_text=True)
    done = choose(person, link)
    assert done.headers["Location"] == "/login"
    assert flashes(person.get("/login").get_data(as_text=True)) == [
        "เปลี่ยนรหัสผ่านแล้ว เข้าสู่ระบบด้วยรหัสผ่านใหม่ได้เลย"
    ]
    db.session.refresh(learner)
    assert open_sessions(learner) == []  # every other session ended
    assert learner.reset_token_hash is None
    assert sign_in(app.test_client(), "kanda@example.org", PASSWORD).status_code == 200  # old
    assert sign_in(app.test_client(), "kanda@example.org", NEW_PASSWORD).status_code == 302

    twice = person.get(link)
    assert twice.status_code == 404
    assert "ลิงก์นี้ถูกใช้ไปแล้ว" in twice.get_data(as_text=True)
    assert choose(person, link, "another good password 2569").status_code == 404
    (changed,) = deliver()
    assert subject(changed) == "รหัสผ่าน LCA ของคุณถูกเปลี่ยนแล้ว"
    assert link_in(changed, "/forgot-password") == "/forgot-password"
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "user.password_reset_by_link")
    )


def test_an_expired_reset_link_gets_a_clear_page(app, client, db, deliver):
    learner = LearnerFactory(email="late@example.org", preferred_language="en")
    db.session.commit()
    ask_for_reset(client, "late@example.org")
    (mail,) = deliver()
    assert subject(mail) == "Choose a new LCA password"
    link = link_in(mail, "/reset-password/")
    db.session.refresh(learner)
    learner.reset_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert link.endswith("?lang=en")  # the page opens in the reader's language
    page = client.get(link)
    assert page.status_code == 410
    assert "It is more than an hour old" in page.get_data(as_text=True)
    assert choose(client, link).status_code == 410
    db.session.refresh(learner)
    assert sign_in(app.test_client(), "late@example.org", PASSWORD).status_code == 302


def test_a_deactivated_account_gets_no_reset_and_its_old_link_stops(
    app, client, db, deliver, flashes
):
    learner = LearnerFactory(email="gone@example.org")
    db.session.commit()
    ask_for_reset(client, "gone@example.org")
    link = link_in(deliver()[0], "/reset-password/")
    learner.is_active = False
    db.session.commit()
    page = client.get(link)
    assert page.status_code == 403
    assert "บัญชีของลิงก์นี้ถูกระงับการใช้งานแล้ว" in page.get_data(as_text=True)
    assert choose(client, link).status_code == 403
    response = ask_for_reset(client, "gone@example.org")
    assert response.headers["Location"] == "/login"
    (said,) = flashes(client.get("/login").get_data(as_text=True))
    assert said.startswith("หาก gone@example.org เป็นอีเมลของบัญชีในระบบ")
    assert deliver() == [] and kinds(db, learner) == [MessageKind.PASSWORD_RESET]


def test_an_unknown_address_gets_the_same_answer_after_comparable_work(
    app, client, db, deliver, count_statements
):
    LearnerFactory(email="known@example.org")
    db.session.commit()
    before = db.session.query(Message).count()
    with count_statements() as unknown_work:
        unknown = ask_for_reset(client, "nobody@example.org")
    with count_statements() as known_work:
        known = ask_for_reset(client, "known@example.org")
    assert unknown.status_code == known.status_code == 302
    assert unknown.headers["Location"] == known.headers["Location"]
    # The known address writes its link and message; the rest (the look-up, the count of
    # recent mails, the audit) is the same, and no request talks to a mail server.
    assert 0 <= known_work.count - unknown_work.count <= 2
    assert db.session.query(Message).count() == before + 1
    assert [to(mail) for mail in deliver()] == ["known@example.org"]
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "auth.password_reset_requested", AuditEvent.target_id.is_(None)
        )
    )
    assert event.details == {"email": "nobody@example.org", "outcome": "unknown"}


def test_reset_mails_are_limited_per_account(app, client, db, deliver):
    learner = LearnerFactory(email="busy@example.org")
    db.session.commit()
    for _ in range(5):  # from five different addresses: the account's limit still holds
        assert ask_for_reset(client, "busy@example.org").headers["Location"] == "/login"
    assert len(deliver()) == app.config["LCA_RESET_MAILS_PER_HOUR"] == 3
    assert kinds(db, learner) == [MessageKind.PASSWORD_RESET] * 3
    throttled = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "auth.password_reset_requested", AuditEvent.target_id == learner.id
        )
    ).all()
    assert [event.details["outcome"] for event in throttled].count("throttled") == 2
    # An hour later the account may ask again.
    for message in db.session.scalars(select(Message).where(Message.recipient_id == learner.id)):
        message.created_at = utcnow() - timedelta(minutes=61)
    db.session.commit()
    ask_for_reset(client, "busy@example.org")
    assert len(deliver()) == 1


def test_reset_requests_are_limited_per_client_address(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_RESET_RATE_LIMIT", "3 per minute")
    statuses = [
        ask_for_reset(client, f"spray{n}@example.org", "198.51.100.200").status_code
        for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    assert ask_for_reset(client, "spray9@example.org", "198.51.100.201").status_code == 302
    assert (
        client.get("/forgot-password", environ_base={"REMOTE_ADDR": "198.51.100.200"}).status_code
        == 200
    )


@pytest.mark.parametrize("token", ["not-a-token", "x" * 300, "%00", "ไทย"])
def test_a_made_up_reset_link_gets_the_clear_page(client, db, token):
    page = client.get(f"/reset-password/{token}")
    assert page.status_code == 404
    assert "ลิงก์นี้ถูกใช้ไปแล้ว" in page.get_data(as_text=True)


def test_a_bad_address_is_shown_next_to_its_field(client, db, field_error):
    page = client.post("/forgot-password", data={"email": "not an address"})
    assert page.status_code == 200
    assert field_error(page.get_data(as_text=True), "email") == "อีเมลนี้ไม่ถูกต้อง"


# --------------------------------------------------------------------------- security notices


def test_a_password_change_is_told_even_to_someone_who_turned_messages_off(
    app, client, db, deliver
):
    learner = LearnerFactory(
        email="quiet@example.org",
        preferred_language="en",
        wants_reminders=False,
        wants_digests=False,
    )
    db.session.commit()
    assert sign_in(client, "quiet@example.org", PASSWORD).status_code == 302
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    (mail,) = deliver()
    assert subject(mail) == "Your LCA password was changed"
    assert "The password of your LCA account quiet@example.org was changed on" in text_of(mail)
    assert "List-Unsubscribe" not in mail  # a security message cannot be turned off
    assert link_in(mail, "/forgot-password") == "/forgot-password"
    assert app.test_client().get("/forgot-password").status_code == 200
    assert kinds(db, learner) == [MessageKind.PASSWORD_CHANGED]


def test_a_sign_in_from_a_new_device_is_told_once(app, db, deliver):
    learner = LearnerFactory(email="roam@example.org", full_name_th="สายลม พเนจร")
    db.session.commit()
    assert sign_in(app.test_client(), "roam@example.org", PASSWORD).status_code == 302
    assert deliver() == []  # the account's first device: nothing to compare it with
    assert sign_in(app.test_client(), "roam@example.org", PASSWORD).status_code == 302
    newer = CHROME_WINDOWS.replace("131.0", "132.0")  # the same browser, updated
    assert sign_in(app.test_client(), "roam@example.org", PASSWORD, newer, "203.0.113.9")
    assert deliver() == []
    assert sign_in(app.test_client(), "roam@example.org", PASSWORD, CHROME_ANDROID).status_code
    (mail,) = deliver()
    assert str(mail["To"]) == "สายลม พเนจร <roam@example.org>"
    assert subject(mail) == "มีการเข้าสู่ระบบบัญชี LCA ของคุณจากอุปกรณ์ใหม่"
    assert "Chrome · Android" in text_of(mail) and "198.51.100.7" in text_of(mail)
    assert "List-Unsubscribe" not in mail
    assert link_in(mail, "/account") == "/account"
    assert sign_in(app.test_client(), "roam@example.org", PASSWORD, CHROME_ANDROID)
    assert deliver() == []  # known now
    assert sign_in(app.test_client(), "roam@example.org", PASSWORD, address="2001:db8::5")
    (ipv6,) = deliver()  # the same browser from an IPv6 address: another network, told
    assert "Chrome · Windows" in text_of(ipv6)
    assert kinds(db, learner) == [MessageKind.NEW_SIGN_IN] * 2
