"""Messages to learners, delivered by the worker to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from email.header import decode_header, make_header

from lca.hours.services import return_log
from lca.models import EmailStatus, Message, MessageKind
from tests.factories import HourLogFactory, instructor_teaching


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def test_a_returned_log_tells_the_learner_in_thai_with_a_working_link(db, deliver, client, login):
    teaching = instructor_teaching()
    log = HourLogFactory(enrolment=teaching.enrolment)
    return_log(log, teaching.instructor, "ภาพถ่ายอยู่ที่ไหนครับ")
    db.session.commit()

    arrived = deliver()

    learner = teaching.enrolment.learner
    assert [str(m["To"]) for m in arrived] == [f"{learner.full_name_th} <{learner.email}>"]
    mail = arrived[0]
    assert _subject(mail).startswith("บันทึกชั่วโมงวันที่ ") and "พร้อมคำถาม" in _subject(mail)
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "ภาพถ่ายอยู่ที่ไหนครับ" in text and "ภาพถ่ายอยู่ที่ไหนครับ" in html
    link = f"http://127.0.0.1:5000/hours/{log.id}"
    assert link in text
    message = db.session.query(Message).one()
    assert message.kind is MessageKind.LOG_RETURNED and message.email_status is EmailStatus.SENT
    assert mail["Message-ID"] == message.email_id
    assert deliver() == []  # once
    login(learner)
    assert client.get(link.removeprefix("http://127.0.0.1:5000")).status_code == 200
