"""Delivery's faults, against a real SMTP server (aiosmtpd): refusals, a server that is down,
back-off, header injection, Thai subjects, the stable Message-ID, two workers at once and a
worker killed mid-send."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from lca.core.db import utcnow
from lca.core.outbox import record_message
from lca.models import EmailStatus, Message, MessageKind
from lca.notifications.channels import DeliveryError, SmtpChannel
from lca.notifications.content import Content, render_message
from lca.notifications.delivery import MAX_ATTEMPTS, deliver_due, retry_delay
from tests.factories import LearnerFactory
from tools.instances import ROOT, free_port, instance_env

FACTS = {
    "module_number": 5,
    "module_th": "ปฏิบัติการจริงบนพื้นที่",
    "module_en": "Field Practice",
    "worked_on": "2026-11-20",
    "minutes": 90,
    "cohort": "CA-2569-01",
    "question": "ภาพถ่ายอยู่ที่ไหนครับ",
    "reviewer": "อาจารย์ ทดสอบ",
    "reviewer_en": "Teacher Test",
}


def queue(recipient, **params) -> Message:
    """A message that a returned log writes, to ``recipient``."""
    return record_message(
        recipient,
        MessageKind.LOG_RETURNED,
        link="hours.show_log",
        link_args={"log_id": 1},
        **{**FACTS, **params},
    )


def subject_of(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def closed_port_channel(app) -> SmtpChannel:
    """A channel to a server that is down: nothing listens on the port."""
    return SmtpChannel(f"smtp://127.0.0.1:{free_port()}", app.config["LCA_MAIL_FROM"])


def make_due(db, message: Message) -> None:
    """Time passes: the message's next attempt is now."""
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_a_permanently_refused_address_fails_at_once_and_keeps_the_error(db, deliver, mailbox):
    learner = LearnerFactory(email="nobody@example.org")
    message = queue(learner)
    db.session.commit()
    mailbox.refuse.add("nobody@example.org")

    assert deliver() == []

    assert message.email_status is EmailStatus.FAILED
    assert message.attempts == 1 and "550" in message.last_error
    assert message.claimed_until is None
    make_due(db, message)
    assert deliver() == []  # not tried again
    assert message.attempts == 1


def test_a_server_that_is_down_leaves_the_message_waiting_until_it_is_back(
    app, db, deliver, mailbox
):
    learner = LearnerFactory()
    message = queue(learner)
    db.session.commit()
    before = utcnow()

    assert deliver_due(closed_port_channel(app)) == 0

    assert message.email_status is EmailStatus.WAITING and message.attempts == 1
    assert message.last_error and "refused" in message.last_error.lower()
    assert message.next_attempt_at >= before + timedelta(seconds=59)
    assert deliver() == []  # not due yet: nothing is sent early
    make_due(db, message)
    arrived = deliver()  # the server is back
    assert [m["Message-ID"] for m in arrived] == [message.email_id]
    assert message.email_status is EmailStatus.SENT and message.last_error is None


def test_the_wait_grows_and_the_last_attempt_fails_for_good(app, db, deliver):
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert retry_delay(30) == timedelta(hours=6)
    message = queue(LearnerFactory())
    db.session.commit()
    down = closed_port_channel(app)
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        started = utcnow()
        deliver_due(down)
        assert message.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert message.email_status is EmailStatus.WAITING
            waits.append(message.next_attempt_at - started)
            make_due(db, message)
    assert waits == sorted(waits) and waits[-1] > waits[0] * 8
    assert message.email_status is EmailStatus.FAILED and message.last_error
    make_due(db, message)
    assert deliver() == []


def test_a_name_or_subject_with_line_breaks_never_makes_a_header(app, db, mailbox):
    learner = LearnerFactory(
        full_name_th="สมชาย\r\nBcc: x@evil.example", email="somchai@example.org"
    )
    message = queue(learner)
    db.session.commit()
    content = render_message(message)
    hostile = Content(
        subject="ปิดรับ\r\nBcc: y@evil.example\nX-Injected: 1",
        text=content.text,
        html=content.html,
        link=content.link,
        unsubscribe=None,
    )

    SmtpChannel(mailbox.url, app.config["LCA_MAIL_FROM"]).deliver(message, hostile)

    [mail] = mailbox.messages
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert len(mail.get_all("To")) == 1
    assert mail["To"].addresses[0].addr_spec == "somchai@example.org"
    assert "evil" not in mail["To"].addresses[0].addr_spec
    assert subject_of(mail) == "ปิดรับ Bcc: y@evil.example X-Injected: 1"


def test_a_thai_subject_is_encoded_and_decodes_back_exactly(db, deliver, mailbox):
    message = queue(LearnerFactory())
    db.session.commit()
    expected = render_message(message).subject

    [mail] = deliver()

    raw = mail.as_bytes()
    headers = raw.split(b"\n\n", 1)[0].decode("ascii")  # every header is plain ASCII
    assert "=?utf-8?" in headers.lower()
    assert subject_of(mail) == expected and "พร้อมคำถาม" in expected
    reparsed = message_from_bytes(raw, policy=default_policy)
    assert str(reparsed["Subject"]) == expected


def test_a_long_thai_name_arrives_whole(db, deliver, mailbox, tmp_path):
    """A name longer than one encoded word is split over several; decoded as RFC 2047 says
    (white space between encoded words dropped), it is the name exactly, with no space added
    inside a word. The development mailbox shows it so too."""
    from lca.notifications.dev_mail import read_letter

    name = "ศักดิ์ชัย ฤทธิ์เดชประเสริฐวงศ์ ณ อยุธยา"
    learner = LearnerFactory(full_name_th=name)
    queue(learner)
    db.session.commit()

    [mail] = deliver()

    raw_to = dict(mail.raw_items())["To"]
    assert raw_to.count("=?utf-8?") > 1  # really split over several encoded words
    assert str(make_header(decode_header(raw_to))) == f"{name} <{learner.email}>"
    saved = tmp_path / "00000001-log_returned.eml"
    saved.write_bytes(mail.as_bytes())
    assert read_letter(saved).to == f"{name} <{learner.email}>"


def test_a_message_keeps_its_message_id_when_it_is_sent_again(db, deliver, mailbox):
    message = queue(LearnerFactory())
    db.session.commit()
    [first] = deliver()
    message.email_status = EmailStatus.WAITING  # as if the sent marker had been lost
    db.session.commit()
    [second] = deliver()
    assert first["Message-ID"] == second["Message-ID"] == message.email_id
    assert message.email_id.endswith("@lca.invalid>")


def test_a_deactivated_recipient_gets_nothing(db, deliver):
    learner = LearnerFactory()
    message = queue(learner)
    db.session.commit()
    learner.is_active = False
    db.session.commit()

    assert deliver() == []
    assert message.email_status is EmailStatus.NOT_SENT


def test_a_stopping_worker_finishes_the_message_in_hand_and_gives_back_the_rest(app, db, mailbox):
    learner = LearnerFactory()
    messages = [queue(learner) for _ in range(6)]
    db.session.commit()
    channel = SmtpChannel(mailbox.url, app.config["LCA_MAIL_FROM"])

    assert deliver_due(channel, stopping=lambda: len(mailbox.messages) >= 2) == 2

    waiting = [m for m in messages if m.email_status is EmailStatus.WAITING]
    assert len(waiting) == 4 and all(m.claimed_until is None for m in waiting)


def test_no_password_goes_to_a_server_without_starttls(app, db, mailbox):
    host_port = mailbox.url.removeprefix("smtp://")
    channel = SmtpChannel(f"smtp://lca:s3cret-pass@{host_port}", app.config["LCA_MAIL_FROM"])
    message = queue(LearnerFactory())
    db.session.commit()

    with pytest.raises(DeliveryError) as refused:
        channel.deliver(message, render_message(message))
    assert "STARTTLS" in refused.value.reason and "s3cret" not in refused.value.reason
    deliver_due(channel)
    assert message.email_status is EmailStatus.WAITING and "STARTTLS" in message.last_error
    assert "s3cret" not in message.last_error and mailbox.messages == []


def test_two_workers_deliver_each_message_once(make_app, new_database, tmp_path, mailbox):
    from lca.core.db import db

    app = make_app(new_database("lca_two_workers"), tmp_path / "data")
    with app.app_context():
        learner = LearnerFactory()
        ids = sorted(queue(learner).email_id for _ in range(200))
        db.session.commit()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                deliver_due(SmtpChannel(mailbox.url, app.config["LCA_MAIL_FROM"]), limit=5)
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(m["Message-ID"] for m in mailbox.messages) == ids  # each once
    with app.app_context():
        statuses = db.session.scalars(select(Message.email_status)).all()
        assert set(statuses) == {EmailStatus.SENT}
        db.session.remove()
        db.engine.dispose()


class StallingMailbox:
    """An SMTP server that holds each new connection before its RCPT while ``stall`` is set,
    so a worker can be killed in the middle of sending."""

    def __init__(self) -> None:
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        while self.stall.is_set():
            self.stalled.set()
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"


def _start_worker(env, log):
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "lca", "worker", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_worker_killed_while_sending_is_restarted_and_the_mail_goes_out_once(
    make_app, new_database, tmp_path
):
    from lca.core.db import db

    database_url = new_database("lca_killed_worker")
    app = make_app(database_url, tmp_path / "data")
    with app.app_context():
        message = queue(LearnerFactory(email="field@example.org"))
        db.session.commit()
        email_id, message_id = message.email_id, message.id
    server = StallingMailbox()
    server.stall.set()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    env = instance_env(
        database_url,
        tmp_path / "data",
        free_port(),
        LCA_MAIL_URL=f"smtp://127.0.0.1:{port}",
        LCA_MAIL_CLAIM_SECONDS="3",
    )
    log_path = tmp_path / "worker.log"
    started: list[subprocess.Popen] = []
    try:
        with log_path.open("wb") as log:
            first = _start_worker(env, log)
            started.append(first)
            assert _wait(server.stalled.is_set, 60), log_path.read_text()
            os.kill(first.pid, signal.SIGKILL)  # mid-send: connected, not yet accepted
            first.wait(10)
            with app.app_context():
                held = db.session.execute(select(Message.email_status, Message.claimed_until)).one()
                assert held.email_status is EmailStatus.WAITING and held.claimed_until
                db.session.remove()
            assert server.messages == []
            server.stall.clear()

            second = _start_worker(env, log)
            started.append(second)
            try:
                assert _wait(lambda: server.messages, 60), log_path.read_text()
                time.sleep(1.5)  # a few more rounds: nothing more arrives
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(30) == 0
        assert [m["Message-ID"] for m in server.messages] == [email_id]
        with app.app_context():
            sent = db.session.get(Message, message_id)
            assert sent.email_status is EmailStatus.SENT and sent.attempts == 1
            db.session.remove()
            db.engine.dispose()
    finally:
        for worker in started:  # whatever failed, no worker outlives the test
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        controller.stop()
