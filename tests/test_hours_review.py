"""Instructors work the review queue: approve, reject with a reason, return with a question,
approve many at once; never twice, never outside their cohorts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lca.core.db import utcnow
from lca.models import AuditEvent, HourLogNote, LogStatus, NoteKind
from tests.factories import (
    CohortFactory,
    EnrolmentFactory,
    HourLogFactory,
    count_rows,
)


def test_the_queue_shows_the_cohorts_taught_oldest_first(instructor_client, teaching, db):
    enrolment = teaching.enrolment
    newer = HourLogFactory(enrolment=enrolment, submitted_at=utcnow())
    older = HourLogFactory(enrolment=enrolment, submitted_at=utcnow() - timedelta(days=3))
    elsewhere = HourLogFactory()  # a cohort this instructor does not teach
    page = instructor_client.get("/review").get_data(as_text=True)
    assert f"/hours/{older.id}" in page and f"/hours/{newer.id}" in page
    assert page.index(f"/hours/{older.id}") < page.index(f"/hours/{newer.id}")
    assert f'/hours/{elsewhere.id}"' not in page
    assert "2 รายการ" in page


def test_the_queue_filters_by_cohort_module_and_state(instructor_client, teaching, db):
    instructor, enrolment = teaching.instructor, teaching.enrolment
    second = EnrolmentFactory(cohort=CohortFactory(instructors=[instructor]))
    first_log = HourLogFactory(enrolment=enrolment)
    second_log = HourLogFactory(enrolment=second)
    returned = HourLogFactory(enrolment=enrolment, status=LogStatus.RETURNED)
    page = instructor_client.get(f"/review?cohort={second.cohort_id}").get_data(as_text=True)
    # the log's link keeps the filter: after acting on it, the next log comes from this cohort
    assert f'/hours/{second_log.id}?cohort={second.cohort_id}"' in page
    assert f"/hours/{first_log.id}?" not in page
    page = instructor_client.get("/review?status=returned").get_data(as_text=True)
    assert f'/hours/{returned.id}"' in page and f'/hours/{first_log.id}"' not in page
    from tests.factories import module

    page = instructor_client.get(f"/review?module={module(5).id}").get_data(as_text=True)
    assert "0 รายการ" in page
    # A cohort the instructor does not teach is ignored, not shown.
    other = HourLogFactory()
    page = instructor_client.get(f"/review?cohort={other.enrolment.cohort_id}").get_data(
        as_text=True
    )
    assert f'/hours/{other.id}"' not in page


def test_the_queue_is_paginated(app, client, teaching, db):
    enrolment = teaching.enrolment
    for _ in range(app.config["LCA_PAGE_SIZE"] + 3):
        HourLogFactory(enrolment=enrolment)
    assert "หน้า 1 จาก 2" in client.get("/review").get_data(as_text=True)
    assert "หน้า 2 จาก 2" in client.get("/review?page=2").get_data(as_text=True)


def test_approve(instructor_client, teaching, db, flashes):
    instructor, enrolment = teaching.instructor, teaching.enrolment
    log = HourLogFactory(enrolment=enrolment)
    assert instructor_client.post(f"/hours/{log.id}/approve").status_code == 302
    db.session.refresh(log)
    assert (log.status, log.reviewed_by_id) == (LogStatus.APPROVED, instructor.id)
    page = instructor_client.post(f"/hours/{log.id}/approve").get_data(as_text=True)
    assert "อนุมัติ ไม่อนุมัติ หรือส่งกลับได้เฉพาะบันทึกที่รอตรวจ" in "".join(flashes(page))
    approvals = select(func.count()).where(AuditEvent.action == "hour_log.approve")
    assert db.session.scalar(approvals) == 1


@pytest.mark.parametrize(
    ("action", "status", "kind"),
    [
        ("reject", LogStatus.REJECTED, NoteKind.REJECTION),
        ("return", LogStatus.RETURNED, NoteKind.QUESTION),
    ],
)
def test_reject_and_return_need_a_reason(
    instructor_client, teaching, db, action, status, kind, field_error
):
    enrolment = teaching.enrolment
    log = HourLogFactory(enrolment=enrolment)
    page = instructor_client.post(f"/hours/{log.id}/{action}", data={"body": "   "}).get_data(
        as_text=True
    )
    assert field_error(page, "body") in ("ระบุเหตุผล", "เขียนคำถามของคุณ")
    db.session.refresh(log)
    assert log.status is LogStatus.PENDING and count_rows(HourLogNote) == 0
    instructor_client.post(f"/hours/{log.id}/{action}", data={"body": "ขอรูปถ่ายกิจกรรมเพิ่ม"})
    db.session.refresh(log)
    note = db.session.scalar(select(HourLogNote))
    assert (log.status, note.kind, note.body) == (status, kind, "ขอรูปถ่ายกิจกรรมเพิ่ม")


def test_an_instructor_cannot_review_another_cohort(instructor_client, teaching, db):
    log = HourLogFactory()
    for action in ("approve", "reject", "return"):
        assert (
            instructor_client.post(f"/hours/{log.id}/{action}", data={"body": "x"}).status_code
            == 403
        )
    db.session.refresh(log)
    assert log.status is LogStatus.PENDING


def test_approve_many_at_once(instructor_client, teaching, db, flashes):
    enrolment = teaching.enrolment
    mine = [HourLogFactory(enrolment=enrolment) for _ in range(3)]
    already = HourLogFactory(enrolment=enrolment, status=LogStatus.APPROVED)
    elsewhere = HourLogFactory()
    ids = [log.id for log in (*mine, already, elsewhere)]
    page = instructor_client.post("/review/approve", data={"log_ids": ids}, follow_redirects=True)
    text = "".join(flashes(page.get_data(as_text=True)))
    assert "อนุมัติแล้ว 3 รายการ" in text and "อนุมัติไม่ได้ 2 รายการ" in text
    db.session.expire_all()
    assert [log.status for log in mine] == [LogStatus.APPROVED] * 3
    assert elsewhere.status is LogStatus.PENDING
    page = instructor_client.post("/review/approve", data={}, follow_redirects=True)
    assert "โปรดเลือกบันทึกที่จะอนุมัติก่อน" in "".join(flashes(page.get_data(as_text=True)))


def test_the_learner_sees_the_question_and_the_reason(client, login, teaching, db):
    enrolment = teaching.enrolment
    log = HourLogFactory(enrolment=enrolment)
    client.post(f"/hours/{log.id}/return", data={"body": "มีผู้ร่วมกี่คน"})
    login(enrolment.learner)
    page = client.get(f"/hours/{log.id}").get_data(as_text=True)
    assert "มีผู้ร่วมกี่คน" in page and "ส่งกลับให้ชี้แจง" in page
