"""The review queue as an instructor works it: each log's day total (flagged when the day holds
more than 12 hours), its description and first photo; select all; return or reject many logs
with one message; after one log, the next one waiting."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lca.core.db import utcnow
from lca.models import AuditEvent, HourLog, HourLogNote, LogStatus, Message, MessageKind, NoteKind
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    EvidenceFileFactory,
    HourLogFactory,
    count_rows,
)


def queue_rows(page: str) -> dict[int, str]:
    """The queue's rows by log id (the id of the log each row links to)."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.DOTALL)
    found = {}
    for row in rows:
        link = re.search(r'href="/hours/(\d+)[?"]', row)
        if link:
            found[int(link.group(1))] = row
    return found


def test_each_log_shows_its_day_total_and_an_overfull_day_is_flagged(
    instructor_client, teaching, db
):
    enrolment = teaching.enrolment
    day = enrolment.cohort.starts_on + timedelta(days=7)
    # A day filled before the rule held: 3 hours waiting, 10 approved, 5 rejected (not counted).
    waiting = HourLogFactory(enrolment=enrolment, worked_on=day, minutes=180)
    HourLogFactory(enrolment=enrolment, worked_on=day, minutes=600, status=LogStatus.APPROVED)
    HourLogFactory(enrolment=enrolment, worked_on=day, minutes=300, status=LogStatus.REJECTED)
    calm = HourLogFactory(enrolment=enrolment, worked_on=day + timedelta(days=1), minutes=120)
    rows = queue_rows(instructor_client.get("/review").get_data(as_text=True))
    assert "ทั้งวันรวม 13 ชั่วโมง" in rows[waiting.id]
    assert "เกินเกณฑ์ 12 ชั่วโมงต่อวัน" in rows[waiting.id]
    assert 'class="day-over"' in rows[waiting.id]
    assert "ทั้งวันรวม 2 ชั่วโมง" in rows[calm.id]
    assert "เกินเกณฑ์" not in rows[calm.id]
    page = instructor_client.get("/review?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "That day: 13 hours in all" in page and "Over the 12-hour limit of one day" in page


def test_each_log_shows_its_description_and_first_photo(instructor_client, teaching, db):
    log = HourLogFactory(enrolment=teaching.enrolment, description="ประชุมคณะทำงานเมือง")
    first = EvidenceFileFactory(hour_log=log, original_name="ประชุม.jpg")
    EvidenceFileFactory(hour_log=log, original_name="อีกรูป.jpg")
    pdf_only = HourLogFactory(enrolment=teaching.enrolment, description="ส่งรายงาน")
    EvidenceFileFactory(hour_log=pdf_only, thumbnail_key=None, content_type="application/pdf")
    rows = queue_rows(instructor_client.get("/review").get_data(as_text=True))
    thumbnail = f"/hours/{log.id}/evidence/{first.id}/thumbnail"
    assert "ประชุมคณะทำงานเมือง" in rows[log.id]
    assert f'src="{thumbnail}" width="64" height="64" alt="รูปภาพ: ประชุม.jpg"' in rows[log.id]
    assert rows[log.id].count("<img") == 1
    assert "ส่งรายงาน" in rows[pdf_only.id] and "<img" not in rows[pdf_only.id]
    response = instructor_client.get(thumbnail)
    assert response.status_code == 200 and response.data.startswith(b"\xff\xd8\xff")


def test_the_queue_costs_the_same_statements_for_many_logs(
    instructor_client, teaching, db, count_statements
):
    """Day totals and thumbnails are loaded for the whole page at once, not log by log."""

    def measure():
        with count_statements() as counter:
            page = instructor_client.get("/review").get_data(as_text=True)
        assert page.count("/thumbnail") == page.count("ทั้งวันรวม 2 ชั่วโมง") == count_rows(HourLog)
        return counter.count

    EvidenceFileFactory(hour_log=HourLogFactory(enrolment=teaching.enrolment))
    few = measure()
    for days in range(10):
        other = EnrolmentFactory(cohort=teaching.cohort)
        log = HourLogFactory(
            enrolment=other, worked_on=teaching.cohort.starts_on + timedelta(days=days)
        )
        EvidenceFileFactory(hour_log=log)
    assert measure() == few


def test_select_all_on_the_page_works_without_javascript(instructor_client, teaching, db):
    logs = [HourLogFactory(enrolment=teaching.enrolment) for _ in range(3)]
    page = instructor_client.get("/review").get_data(as_text=True)
    assert "เลือกทั้งหมดในหน้านี้" in page and "/review?select=all" in page
    assert 'name="log_ids"' in page and " checked>" not in page
    assert 'src="/static/js/select-all.js" defer' in page
    page = instructor_client.get("/review?select=all").get_data(as_text=True)
    for log in logs:
        assert f'value="{log.id}" id="log-{log.id}" checked>' in page
    assert "ยกเลิกการเลือกทั้งหมด" in page


@pytest.fixture
def waiting(teaching, db):
    """Three logs waiting in the instructor's cohort, one in a cohort they do not teach and one
    already approved."""
    mine = [HourLogFactory(enrolment=EnrolmentFactory(cohort=teaching.cohort)) for _ in range(3)]
    return (
        mine,
        HourLogFactory(),
        HourLogFactory(enrolment=teaching.enrolment, status=LogStatus.APPROVED),
    )


@pytest.mark.parametrize(
    ("action", "status", "kind", "message_kind", "done", "skipped"),
    [
        (
            "return",
            LogStatus.RETURNED,
            NoteKind.QUESTION,
            MessageKind.LOG_RETURNED,
            "ส่งกลับพร้อมคำถามของคุณแล้ว 3 รายการ",
            "ส่งกลับไม่ได้ 2 รายการ",
        ),
        (
            "reject",
            LogStatus.REJECTED,
            NoteKind.REJECTION,
            MessageKind.LOG_REJECTED,
            "ไม่อนุมัติแล้ว 3 รายการ",
            "บันทึกผลไม่อนุมัติไม่ได้ 2 รายการ",
        ),
    ],
)
def test_return_or_reject_many_logs_with_one_message(
    instructor_client, waiting, db, flashes, action, status, kind, message_kind, done, skipped
):
    mine, elsewhere, approved = waiting
    ids = [log.id for log in (*mine, elsewhere, approved)]
    response = instructor_client.post(
        f"/review/{action}?cohort=0&status=pending",
        data={"log_ids": ids, "body": "  ขอรูปถ่ายกิจกรรมเพิ่ม  "},
    )
    assert response.headers["Location"] == "/review?cohort=0&status=pending"
    text = "".join(flashes(instructor_client.get(response.headers["Location"]).get_data(True)))
    assert done in text and skipped in text
    db.session.expire_all()
    assert [log.status for log in mine] == [status] * 3
    assert (elsewhere.status, approved.status) == (LogStatus.PENDING, LogStatus.APPROVED)
    notes = db.session.scalars(select(HourLogNote)).all()
    assert sorted(n.hour_log_id for n in notes) == sorted(log.id for log in mine)
    assert {(n.kind, n.body) for n in notes} == {(kind, "ขอรูปถ่ายกิจกรรมเพิ่ม")}
    told = db.session.scalars(select(Message).where(Message.kind == message_kind)).all()
    assert sorted(m.recipient_id for m in told) == sorted(log.enrolment.learner_id for log in mine)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == f"hour_log.{action}")
    ).all()
    assert len(events) == 3 and all(e.details.get("bulk") for e in events)


@pytest.mark.parametrize(
    ("action", "message"),
    [("return", "เขียนคำถามที่จะส่งไปกับรายการที่เลือก"), ("reject", "ระบุเหตุผลที่ไม่อนุมัติรายการที่เลือก")],
)
def test_many_logs_are_not_returned_or_rejected_without_a_message(
    instructor_client, waiting, db, field_error, action, message
):
    mine, _elsewhere, _approved = waiting
    ids = [log.id for log in mine]
    page = instructor_client.post(
        f"/review/{action}", data={"log_ids": ids, "body": "   "}
    ).get_data(as_text=True)
    assert message in field_error(page, "body")
    for log in mine:  # still ticked, so the reviewer only types the message
        assert f'value="{log.id}" id="log-{log.id}" checked>' in page
    page = instructor_client.post(
        f"/review/{action}", data={"log_ids": ids, "body": "ก" * 2001}
    ).get_data(as_text=True)
    assert "2000" in field_error(page, "body")
    db.session.expire_all()
    assert [log.status for log in mine] == [LogStatus.PENDING] * 3
    assert (count_rows(HourLogNote), count_rows(Message)) == (0, 0)


@pytest.mark.parametrize("action", ["return", "reject"])
def test_hostile_or_empty_selections_are_refused_clearly(
    instructor_client, waiting, db, flashes, action
):
    for ids in ([], ["ไม่ใช่ตัวเลข"], [2**40], [-1]):
        response = instructor_client.post(
            f"/review/{action}", data={"log_ids": ids, "body": "ข้อความ"}, follow_redirects=True
        )
        assert response.status_code == 200
        assert "โปรดเลือกบันทึก" in "".join(flashes(response.get_data(as_text=True)))
    assert count_rows(HourLogNote) == 0


def test_after_one_log_the_next_one_waiting_in_the_same_queue(
    instructor_client, teaching, db, flashes
):
    cohort = teaching.cohort
    other = CohortFactory(instructors=[teaching.instructor])
    start = utcnow() - timedelta(days=3)
    first, second, third = (
        HourLogFactory(
            enrolment=EnrolmentFactory(cohort=cohort), submitted_at=start + timedelta(hours=i)
        )
        for i in range(3)
    )
    # Older than all, but in another cohort: not in the queue the instructor came from.
    HourLogFactory(enrolment=EnrolmentFactory(cohort=other), submitted_at=start - timedelta(1))
    query = f"?cohort={cohort.id}"
    response = instructor_client.post(f"/hours/{first.id}/approve{query}")
    assert response.headers["Location"] == f"/hours/{second.id}{query}"
    page = instructor_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "อนุมัติแล้ว" in "".join(flashes(page))
    assert f'action="/hours/{second.id}/approve{query}"' in page
    response = instructor_client.post(f"/hours/{second.id}/reject{query}", data={"body": "ซ้ำ"})
    assert response.headers["Location"] == f"/hours/{third.id}{query}"
    response = instructor_client.post(f"/hours/{third.id}/return{query}", data={"body": "กี่คน"})
    assert response.headers["Location"] == f"/review{query}"
    page = instructor_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ไม่มีบันทึกอื่นรอตรวจในรายการนี้แล้ว" in "".join(flashes(page))
    db.session.expire_all()
    assert [log.status for log in (first, second, third)] == [
        LogStatus.APPROVED,
        LogStatus.REJECTED,
        LogStatus.RETURNED,
    ]


def test_the_next_log_wraps_round_to_one_left_waiting_earlier(instructor_client, teaching, db):
    """A log the reviewer passed over comes back once the later ones are done."""
    start = utcnow() - timedelta(days=3)
    skipped, acted = (
        HourLogFactory(enrolment=teaching.enrolment, submitted_at=start + timedelta(hours=i))
        for i in range(2)
    )
    response = instructor_client.post(f"/hours/{acted.id}/approve")
    assert response.headers["Location"] == f"/hours/{skipped.id}"
    assert db.session.get(HourLog, skipped.id).status is LogStatus.PENDING
