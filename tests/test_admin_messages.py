"""Administrators see the deliveries that failed and can try one again."""

from __future__ import annotations

from lca.core.outbox import record_message
from lca.models import AuditEvent, EmailStatus, MessageKind
from tests.factories import AdminFactory, LearnerFactory
from tests.test_mail_delivery import queue


def _failed(learner, error="550 5.1.1 No such mailbox here"):
    message = queue(learner)
    message.email_status, message.attempts, message.last_error = EmailStatus.FAILED, 1, error
    return message


def test_the_admin_sees_who_was_not_reached_why_and_how_many_wait(db, client, login):
    learner = LearnerFactory(email="typo@exmaple.org", full_name_th="สมหญิง ใจดี")
    _failed(learner)
    queue(LearnerFactory())
    record_message(LearnerFactory(), MessageKind.LOG_RETURNED, link="home.dashboard")
    db.session.commit()
    login(AdminFactory())

    page = client.get("/admin/messages").get_data(as_text=True)

    assert "สมหญิง ใจดี" in page and "typo@exmaple.org" in page
    assert "550 5.1.1 No such mailbox here" in page
    assert "บันทึกชั่วโมงถูกส่งกลับพร้อมคำถาม" in page
    assert "<strong>2</strong>" in page  # waiting now
    english = client.get("/admin/messages?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "Failed deliveries" in english and "Log returned with a question" in english


def test_trying_again_puts_the_message_back_for_the_worker_and_is_audited(
    db, client, login, deliver
):
    admin = AdminFactory()
    message = _failed(LearnerFactory())
    db.session.commit()
    login(admin)

    response = client.post(f"/admin/messages/{message.id}/retry")

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/messages")
    db.session.refresh(message)
    assert message.email_status is EmailStatus.WAITING and message.attempts == 0
    event = db.session.query(AuditEvent).filter_by(action="message.retry").one()
    assert event.actor_id == admin.id and event.target_id == message.id
    assert event.details["error"].startswith("550")
    [mail] = deliver()
    assert mail["Message-ID"] == message.email_id


def test_only_a_failed_message_can_be_tried_again(db, client, login):
    message = queue(LearnerFactory())
    db.session.commit()
    login(AdminFactory())

    page = client.post(f"/admin/messages/{message.id}/retry", follow_redirects=True)

    assert "ลองส่งอีกครั้งได้เฉพาะข้อความที่ส่งไม่สำเร็จ" in page.get_data(as_text=True)
    db.session.refresh(message)
    assert message.email_status is EmailStatus.WAITING
    assert client.post("/admin/messages/999999/retry").status_code == 404


def test_a_deactivated_recipient_is_not_tried_again(db, client, login):
    learner = LearnerFactory()
    message = _failed(learner)
    learner.is_active = False
    db.session.commit()
    login(AdminFactory())

    client.post(f"/admin/messages/{message.id}/retry")

    db.session.refresh(message)
    assert message.email_status is EmailStatus.FAILED
