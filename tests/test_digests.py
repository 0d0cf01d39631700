"""The calendar's messages: each instructor's and administrator's daily digest and the field-window
reminders, written once a day per person from LCA_DIGEST_HOUR, delivered to a real SMTP server."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import func, select

from lca.core.dates import local_today, programme_timezone
from lca.core.db import utcnow
from lca.core.outbox import record_message
from lca.models import EmailStatus, LogStatus, Message, MessageKind, ReportStatus
from lca.notifications.schedule import record_due_notices, reminder_threshold
from tests.factories import (
    AdminFactory,
    EnrolmentFactory,
    FieldReportFactory,
    HourLogFactory,
    LearnerFactory,
    eligible_enrolment,
    instructor_teaching,
    module,
)

PUBLIC = "http://127.0.0.1:5000"


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def _html(mail) -> str:
    return mail.get_body(("html",)).get_content()


def _messages(kind: MessageKind, recipient=None) -> list[Message]:
    from lca.core.db import db

    query = select(Message).where(Message.kind == kind)
    if recipient is not None:
        query = query.where(Message.recipient_id == recipient.id)
    return list(db.session.scalars(query))


def _at(hour: int, minute: int = 0, day=None) -> datetime:
    day = day or local_today()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=programme_timezone())


@pytest.fixture(autouse=True)
def _fresh_worker(app):
    """Each test is a worker's first look of the day."""
    app.extensions.pop("lca_notices_checked_at", None)
    yield
    app.extensions.pop("lca_notices_checked_at", None)


# --------------------------------------------------------------------------- instructor's digest


def test_an_instructor_gets_one_digest_of_what_waits_oldest_first(db, deliver, mailbox, client):
    teaching = instructor_teaching(learners=2)
    first, second = teaching.enrolments
    older = HourLogFactory(enrolment=second, submitted_at=utcnow() - timedelta(days=3))
    HourLogFactory(enrolment=first, submitted_at=utcnow() - timedelta(days=1))
    HourLogFactory(enrolment=first, status=LogStatus.APPROVED)  # nothing to do
    FieldReportFactory(enrolment=first)  # handed in, waits to be graded (with a pending log)
    db.session.commit()

    assert record_due_notices(now=_at(7, 0)) >= 1
    db.session.commit()
    deliver()
    arrived = mailbox.to(teaching.instructor.email)

    assert len(arrived) == 1
    mail = arrived[0]
    assert "บันทึกชั่วโมงที่รอตรวจ 3 รายการ" in _subject(mail)
    assert "รายงานภาคสนามที่รอให้คะแนน 1 ฉบับ" in _subject(mail)
    text, html = _text(mail), _html(mail)
    cohort = teaching.cohort.code
    assert f"รุ่น {cohort}" in text and cohort in html
    # the oldest log is named first, with its learner
    assert text.index(older.enrolment.learner.full_name_th) < text.index(first.learner.full_name_th)
    assert f"{PUBLIC}/review" in text
    assert mail["List-Unsubscribe"].startswith(f"<{PUBLIC}/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (message,) = _messages(MessageKind.INSTRUCTOR_DIGEST, teaching.instructor)
    assert message.params["logs"] == 3 and message.params["reports"] == 1
    assert message.email_status is EmailStatus.SENT

    # a second run the same day (a second worker) writes nothing more
    assert record_due_notices(now=_at(15, 0)) == 0
    db.session.commit()
    assert mailbox.to(teaching.instructor.email) == arrived
    assert deliver() == []


def test_no_digest_when_nothing_waits_or_before_the_hour_or_when_turned_off(db, app, deliver):
    quiet = instructor_teaching()
    HourLogFactory(enrolment=quiet.enrolment, status=LogStatus.APPROVED)
    busy = instructor_teaching()
    HourLogFactory(enrolment=busy.enrolment)
    db.session.commit()
    assert app.config["LCA_DIGEST_HOUR"] == 7

    assert record_due_notices(now=_at(6, 59)) == 0  # before the hour
    assert _messages(MessageKind.INSTRUCTOR_DIGEST) == []

    busy.instructor.wants_digests = False
    db.session.commit()
    record_due_notices(now=_at(7, 1))
    assert _messages(MessageKind.INSTRUCTOR_DIGEST) == []  # nothing for quiet, busy said no

    busy.instructor.wants_digests = True
    record_due_notices(now=_at(8))
    assert [m.recipient_id for m in _messages(MessageKind.INSTRUCTOR_DIGEST)] == [
        busy.instructor.id
    ]


def test_a_worker_looks_again_every_few_minutes_for_what_came_in_later(db):
    teaching = instructor_teaching()
    assert record_due_notices(now=_at(7, 0)) == 0  # nothing waits yet
    HourLogFactory(enrolment=teaching.enrolment)
    assert record_due_notices(now=_at(7, 2)) == 0  # looked a moment ago
    assert record_due_notices(now=_at(7, 6)) == 1
    assert record_due_notices(now=_at(7, 12)) == 0  # written already


def test_the_next_day_brings_the_next_digest(db):
    teaching = instructor_teaching()
    HourLogFactory(enrolment=teaching.enrolment)
    today = local_today()
    record_due_notices(today)
    record_due_notices(today)
    record_due_notices(today + timedelta(days=1))
    keys = sorted(m.dedupe_key for m in _messages(MessageKind.INSTRUCTOR_DIGEST))
    assert keys == [
        f"instructor_digest:{teaching.instructor.id}:{today.isoformat()}",
        f"instructor_digest:{teaching.instructor.id}:{(today + timedelta(days=1)).isoformat()}",
    ]


def test_an_instructor_is_told_only_of_the_cohorts_they_teach(db):
    mine, theirs = instructor_teaching(), instructor_teaching()
    HourLogFactory(enrolment=theirs.enrolment)
    record_due_notices(local_today())
    assert _messages(MessageKind.INSTRUCTOR_DIGEST, mine.instructor) == []
    (digest,) = _messages(MessageKind.INSTRUCTOR_DIGEST, theirs.instructor)
    assert [c["code"] for c in digest.params["cohorts"]] == [theirs.cohort.code]


# --------------------------------------------------------------------------- administrator's digest


def test_an_admin_digest_names_eligible_learners_and_failed_deliveries(db, deliver, mailbox):
    admin = AdminFactory(full_name_en="Anong Admin", preferred_language="en")
    graduate = eligible_enrolment()
    refused = LearnerFactory(email="nobody@example.org")
    failed = record_message(refused, MessageKind.LOG_RETURNED, link="home.dashboard")
    failed.email_status, failed.last_error = EmailStatus.FAILED, "550 5.1.1 No such mailbox here"
    db.session.commit()

    record_due_notices(now=_at(9))
    db.session.commit()
    deliver()
    (mail,) = mailbox.to(admin.email)
    subject, text = _subject(mail), _text(mail)
    assert "1 learner waits for a certificate" in subject
    assert "1 message not delivered" in subject
    assert f"Cohort {graduate.cohort.code}: 1 learner" in text
    assert "nobody@example.org" in text and "550 5.1.1" in text
    assert f"{PUBLIC}/admin" in text and mail["List-Unsubscribe"]

    # the next day: the same learner still waits, the old failure is not told again
    record_due_notices(local_today() + timedelta(days=1))
    db.session.commit()
    digests = sorted(_messages(MessageKind.ADMIN_DIGEST, admin), key=lambda m: m.id)
    assert len(digests) == 2 and digests[-1].params["failed"] == 0
    assert digests[-1].params["eligible_learners"] == 1


def test_no_admin_digest_when_nothing_is_waiting_or_turned_off(db):
    quiet = AdminFactory()
    record_due_notices(local_today())
    assert _messages(MessageKind.ADMIN_DIGEST, quiet) == []
    eligible_enrolment()
    quiet.wants_digests = False
    record_due_notices(local_today())
    assert _messages(MessageKind.ADMIN_DIGEST, quiet) == []


# --------------------------------------------------------------------------- window reminders


def _closing_in(days: int, **learner):
    today = local_today()
    enrolment = EnrolmentFactory(learner=LearnerFactory(**learner))
    enrolment.field_starts_on = today - timedelta(days=150)
    enrolment.field_ends_on = today + timedelta(days=days)
    return enrolment


def test_a_learner_is_reminded_30_and_7_days_before_the_window_closes(db, deliver, mailbox):
    enrolment = _closing_in(30)
    learner = enrolment.learner
    HourLogFactory(
        enrolment=enrolment,
        module=module(5),
        minutes=240,
        status=LogStatus.APPROVED,
        worked_on=local_today() - timedelta(days=10),
    )
    db.session.commit()
    today = local_today()

    record_due_notices(today)
    db.session.commit()
    deliver()
    (mail,) = mailbox.to(learner.email)
    assert "30 วัน" in _subject(mail)
    text = _text(mail)
    assert enrolment.cohort.code in text and "5 ชั่วโมง" in text  # 9 needed, 4 approved
    assert "ยังไม่ได้ส่งรายงานภาคสนาม" in text
    assert f"{PUBLIC}/learner" in text
    assert mail["List-Unsubscribe"] and "reminders" in mail["List-Unsubscribe"]

    for later in range(1, 23):  # the days in between: nothing new
        record_due_notices(today + timedelta(days=later))
    assert len(_messages(MessageKind.WINDOW_REMINDER, learner)) == 1
    record_due_notices(today + timedelta(days=23))  # 7 days left
    record_due_notices(today + timedelta(days=23))
    record_due_notices(today + timedelta(days=24))
    reminders = _messages(MessageKind.WINDOW_REMINDER, learner)
    assert sorted(m.params["threshold"] for m in reminders) == [7, 30]
    db.session.commit()
    deliver()
    assert len(mailbox.to(learner.email)) == 2


def test_no_reminder_when_field_work_is_done_or_turned_off_or_the_window_is_far(db):
    done = eligible_enrolment()
    done.field_starts_on = local_today() - timedelta(days=150)
    done.field_ends_on = local_today() + timedelta(days=7)
    unwilling = _closing_in(7)
    unwilling.learner.wants_reminders = False
    far = _closing_in(31)
    closed = _closing_in(-1)
    record_due_notices(local_today())
    for enrolment in (done, unwilling, far, closed):
        assert _messages(MessageKind.WINDOW_REMINDER, enrolment.learner) == []


def test_a_report_waiting_to_be_graded_still_reminds_of_missing_hours(db):
    enrolment = _closing_in(6)
    FieldReportFactory(enrolment=enrolment, status=ReportStatus.SUBMITTED)
    record_due_notices(local_today())
    (reminder,) = _messages(MessageKind.WINDOW_REMINDER, enrolment.learner)
    assert reminder.params["threshold"] == 7 and reminder.params["report"] == "submitted"


def test_an_extended_window_is_reminded_again(db):
    enrolment = _closing_in(7)
    record_due_notices(local_today())
    enrolment.field_ends_on = local_today() + timedelta(days=30)
    record_due_notices(local_today())
    assert len(_messages(MessageKind.WINDOW_REMINDER, enrolment.learner)) == 2


@pytest.mark.parametrize(
    ("days", "threshold"), [(31, None), (30, 30), (8, 30), (7, 7), (0, 7), (-1, None)]
)
def test_the_reminder_due_for_the_days_left(days, threshold):
    assert reminder_threshold(days) == threshold


# --------------------------------------------------------------------------- security messages


def test_security_messages_carry_no_unsubscribe_header(db):
    from lca.notifications.channels import build_email
    from lca.notifications.content import Content, unsubscribe_url

    learner = LearnerFactory()
    for kind in MessageKind:
        message = record_message(learner, kind, link="home.index")
        db.session.flush()
        unsubscribe = unsubscribe_url(message)
        content = Content("s", "t", "<p>h</p>", f"{PUBLIC}/", unsubscribe)
        email = build_email(message, content, "LCA <lca@example.org>")
        optional = kind in (
            MessageKind.WINDOW_REMINDER,
            MessageKind.INSTRUCTOR_DIGEST,
            MessageKind.ADMIN_DIGEST,
        )
        assert (email["List-Unsubscribe"] is not None) is optional, kind
        assert (email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click") is optional


# --------------------------------------------------------------------------- two workers


def test_two_workers_at_the_same_moment_write_each_notice_once(make_app, new_database, tmp_path):
    """On PostgreSQL the two race; on SQLite one waits for the other's write (busy timeout)."""
    from lca.core.db import db

    app = make_app(new_database("lca_two_schedulers"), tmp_path / "data")
    with app.app_context():
        teachings = [instructor_teaching() for _ in range(5)]
        for teaching in teachings:
            HourLogFactory(enrolment=teaching.enrolment)
        reminded = [_closing_in(7) for _ in range(5)]
        db.session.commit()
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    written: list[int] = []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                written.append(record_due_notices(local_today()))
                db.session.commit()
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sum(written) == 10
    with app.app_context():
        counts = dict(
            db.session.execute(select(Message.kind, func.count()).group_by(Message.kind)).all()
        )
        assert counts == {MessageKind.INSTRUCTOR_DIGEST: 5, MessageKind.WINDOW_REMINDER: 5}
        assert len(reminded) == 5
        db.session.remove()
        db.engine.dispose()
