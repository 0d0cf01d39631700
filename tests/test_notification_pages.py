"""The pages of messages: one-click unsubscribe (RFC 8058) with no sign-in, the choices of what
to get, and the notification list with its bell."""

from __future__ import annotations

from sqlalchemy import select

from lca.core.outbox import record_message
from lca.models import AuditEvent, EmailStatus, Message, MessageKind
from lca.notifications.preferences import unsubscribe_token
from lca.notifications.schedule import record_due_notices
from tests.factories import HourLogFactory, InstructorFactory, LearnerFactory, instructor_teaching

PUBLIC = "http://127.0.0.1:5000"
ONE_CLICK = "List-Unsubscribe=One-Click"


def _audits(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _digest_mail(db, deliver, mailbox):
    teaching = instructor_teaching()
    HourLogFactory(enrolment=teaching.enrolment)
    db.session.commit()
    from lca.core.dates import local_today

    record_due_notices(local_today())
    db.session.commit()
    deliver()
    (mail,) = mailbox.to(teaching.instructor.email)
    return teaching.instructor, mail


# --------------------------------------------------------------------------- one-click unsubscribe


def test_one_click_unsubscribe_from_the_mail_header_needs_no_sign_in(app, db, deliver, mailbox):
    instructor, mail = _digest_mail(db, deliver, mailbox)
    address = mail["List-Unsubscribe"].strip("<>")
    assert address.startswith(f"{PUBLIC}/unsubscribe/{instructor.id}/digests/")
    assert address in mail.get_body(("plain",)).get_content()
    path = address.removeprefix(PUBLIC)

    app.config["WTF_CSRF_ENABLED"] = True  # as in production: the one route is exempt
    try:
        anonymous = app.test_client(use_cookies=False)
        page = anonymous.get(path)
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert "สรุปประจำวัน" in body and "<form" in body and instructor.wants_digests

        # exactly what a mail provider sends (RFC 8058 §3.1): no cookie, no CSRF token
        response = anonymous.post(
            path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded"
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 200
    assert "จะไม่ได้รับสรุปประจำวันอีก" in response.get_data(as_text=True)
    db.session.refresh(instructor)
    assert instructor.wants_digests is False and instructor.wants_reminders is True
    (event,) = _audits(db, "notifications.unsubscribe")
    assert event.actor_id == instructor.id and event.target_id == instructor.id

    # once off, a second click changes nothing and says so; no new digest is written
    assert "ถูกปิดไว้แล้ว" in app.test_client().get(path).get_data(as_text=True)
    assert app.test_client().post(path, data=ONE_CLICK).status_code == 200
    assert len(_audits(db, "notifications.unsubscribe")) == 1


def test_the_other_routes_still_need_their_csrf_token(app, db, login, client):
    learner = LearnerFactory()
    login(learner)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/account/notifications", data={}).status_code == 400
        assert client.post("/notifications/read-all", data={}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_forged_or_another_persons_or_unknown_links_change_nothing(db, client):
    victim, attacker = LearnerFactory(), LearnerFactory()
    db.session.commit()
    good = unsubscribe_token(victim.id, "reminders")
    refused = {
        f"/unsubscribe/{victim.id}/reminders/{'0' * 64}": 404,  # forged signature
        f"/unsubscribe/{victim.id}/reminders/{good[:-1]}": 404,  # one character short
        f"/unsubscribe/{victim.id}/reminders/{good[:-1]}é": 404,  # not even hex (found by fuzzing)
        f"/unsubscribe/{victim.id}/digests/{good}": 404,  # another topic's link
        f"/unsubscribe/{attacker.id}/reminders/{good}": 404,  # another person's id
        f"/unsubscribe/999999/reminders/{good}": 404,  # nobody
        f"/unsubscribe/99999999999/reminders/{good}": 404,  # beyond any id
        f"/unsubscribe/{victim.id}/security/{good}": 400,  # not a topic
        f"/unsubscribe/{victim.id}/wants_reminders/{good}": 400,
    }
    for path, status in refused.items():
        for method in ("GET", "POST"):
            response = client.open(path, method=method, data=ONE_CLICK)
            assert response.status_code == status, (path, method)
            if "99999999999" not in path:  # beyond any id: the router's own 404
                assert "ไม่มีการเปลี่ยนแปลงใด ๆ" in response.get_data(as_text=True)
    db.session.refresh(victim)
    db.session.refresh(attacker)
    assert victim.wants_reminders and attacker.wants_reminders
    assert _audits(db, "notifications.unsubscribe") == []


# --------------------------------------------------------------------------- the choices page


def test_a_person_chooses_reminders_and_digests_and_sees_security_as_always_on(db, client, login):
    learner = LearnerFactory()
    login(learner)
    assert "/account/notifications" in client.get("/account").get_data(as_text=True)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert page.count("checked") == 2
    assert "ส่งเสมอ" in page and "ลิงก์ตั้งรหัสผ่านใหม่ที่คุณขอ" in page

    response = client.post("/account/notifications", data={"wants_digests": "y"})
    assert response.status_code == 302
    db.session.refresh(learner)
    assert learner.wants_reminders is False and learner.wants_digests is True
    (event,) = _audits(db, "notifications.choose")
    assert event.details["after"] == {"reminders": False, "digests": True}
    assert "บันทึกการเลือกข้อความของคุณแล้ว" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )

    client.post("/account/notifications", data={"wants_digests": "y"})  # the same again
    assert len(_audits(db, "notifications.choose")) == 1


# --------------------------------------------------------------------------- the list and the bell


def _message(recipient, **params):
    return record_message(recipient, MessageKind.WINDOW_REMINDER, link="home.learner", **params)


REMINDER = {"cohort": "CA-2569-01", "ends_on": "2027-01-31", "days_left": 7, "threshold": 7}


def test_the_list_shows_ones_own_messages_newest_first_and_the_bell_counts_unread(
    db, client, login
):
    learner, other = LearnerFactory(), LearnerFactory()
    _message(learner, **{**REMINDER, "days_left": 30})
    newest = _message(learner, **REMINDER)
    mine_not_mailed = _message(learner, **{**REMINDER, "days_left": 3})
    mine_not_mailed.email_status = EmailStatus.NOT_SENT  # no e-mail reached them: still listed
    _message(other, **{**REMINDER, "days_left": 12})
    db.session.commit()
    login(learner)

    page = client.get("/notifications").get_data(as_text=True)
    assert "จะปิดในอีก 30 วัน" in page and "จะปิดในอีก 7 วัน" in page
    assert "จะปิดในอีก 3 วัน" in page and "จะปิดในอีก 12 วัน" not in page
    assert page.index("อีก 3 วัน") < page.index("อีก 30 วัน")  # newest first
    assert "31 มกราคม 2570" in page  # Buddhist era
    assert page.count("ใหม่:") == 3
    assert "ยังไม่ได้อ่าน 3" in page  # the bell
    english = client.get("/notifications?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "Your field window closes in 7 days, on 31 January 2027" in english
    client.get("/notifications?lang=th", follow_redirects=True)

    opened = client.post(f"/notifications/{newest.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == "/learner"
    db.session.refresh(newest)
    assert newest.read_at is not None
    assert "ยังไม่ได้อ่าน 2" in client.get("/notifications").get_data(as_text=True)

    client.post("/notifications/read-all")
    page = client.get("/notifications").get_data(as_text=True)
    assert "ใหม่:" not in page and "ยังไม่ได้อ่าน" not in page
    unread_of_other = db.session.scalars(
        select(Message).where(Message.recipient_id == other.id, Message.read_at.is_(None))
    ).all()
    assert len(unread_of_other) == 1  # "mark all read" is one's own


def test_another_persons_message_cannot_be_opened(db, client, login):
    learner, other = LearnerFactory(), LearnerFactory()
    theirs = _message(other, **REMINDER)
    db.session.commit()
    login(learner)
    assert client.post(f"/notifications/{theirs.id}/open").status_code == 403
    assert client.post("/notifications/99999999999/open").status_code == 404
    db.session.refresh(theirs)
    assert theirs.read_at is None


def test_a_message_whose_words_cannot_be_rendered_still_shows_in_the_list(db, client, login):
    learner = LearnerFactory()
    record_message(learner, MessageKind.LOG_RETURNED, link="no.such_endpoint")  # no params
    db.session.commit()
    login(learner)
    page = client.get("/notifications")
    assert page.status_code == 200 and "ข้อความจาก LCA" in page.get_data(as_text=True)
    message = db.session.scalars(select(Message).where(Message.recipient_id == learner.id)).one()
    assert client.post(f"/notifications/{message.id}/open").headers["Location"] == (
        "/notifications"
    )


def test_the_bell_costs_one_query_and_pages_of_the_list(db, client, login, count_statements):
    instructor = InstructorFactory()
    for days in range(45):
        _message(instructor, **{**REMINDER, "days_left": days})
    db.session.commit()
    login(instructor)
    with count_statements() as few:
        client.get("/account")
    for days in range(45, 60):
        _message(instructor, **{**REMINDER, "days_left": days})
    db.session.commit()
    with count_statements() as more:
        client.get("/account")
    assert more.count == few.count
    assert "ยังไม่ได้อ่าน 60" in client.get("/account").get_data(as_text=True)
    first = client.get("/notifications").get_data(as_text=True)
    assert "หน้า 1 จาก 3" in first or "1" in first
    assert client.get("/notifications?page=3").status_code == 200
    assert client.get("/notifications?page=99").status_code == 200
