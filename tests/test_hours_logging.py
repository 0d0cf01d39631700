"""Learners log hours, with evidence for field practice; every bad input is refused whole."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import select

from lca.core.dates import buddhist_year, local_today
from lca.core.storage import storage
from lca.models import AuditEvent, DraftFile, EvidenceFile, HourLog, LogStatus, NoteKind
from tests.factories import (
    PDF,
    EnrolmentFactory,
    EvidenceFileFactory,
    HourLogFactory,
    HourLogNoteFactory,
    classroom_form,
    count_rows,
    field_form,
    image_bytes,
    module,
    stored_files,
    tiny_jpeg,
)


def kept_as_drafts(db) -> int:
    """How many stored files (each draft and its thumbnail) are kept as drafts."""
    return sum(1 + (d.thumbnail_key is not None) for d in db.session.scalars(select(DraftFile)))


@pytest.fixture
def enrolment(learner_enrolment, db):
    """The enrolment of the learner signed in on ``learner_client``."""
    return learner_enrolment


def test_log_classroom_hours(learner_client, enrolment, db):
    response = learner_client.post("/hours/new", data=classroom_form(enrolment, hours="1.75"))
    assert response.status_code == 302
    log = db.session.scalar(select(HourLog).where(HourLog.enrolment_id == enrolment.id))
    assert (log.minutes, log.status, log.module.number) == (105, LogStatus.PENDING, 1)
    page = learner_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "รอตรวจ" in page and "1.75" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "hour_log.submit"))


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("HEIF", "image/jpeg"),  # a HEIC photo is stored as a JPEG, which browsers show
        ("PDF", "application/pdf"),
    ],
)
def test_log_field_hours_with_evidence(
    learner_client, enrolment, db, kind, content_type, field_error
):
    data = PDF if kind == "PDF" else image_bytes(kind)
    files_before = stored_files()
    response = learner_client.post(
        "/hours/new", **field_form(enrolment, files=[(io.BytesIO(data), "IMG_0001.renamed")])
    )
    assert response.status_code == 302, field_error(response.get_data(as_text=True), "files")
    evidence = db.session.scalar(select(EvidenceFile))
    assert evidence.content_type == content_type
    assert (evidence.thumbnail_key is None) == (kind == "PDF")
    assert stored_files() == files_before + (1 if kind == "PDF" else 2)
    log = evidence.hour_log
    assert (log.minutes, log.mechanism.code, log.place) == (150, "process", "ศาลาประชาคม")
    download = learner_client.get(f"/hours/{log.id}/evidence/{evidence.id}")
    # what is stored and served is the file rewritten clean (tests/test_uploads_clean.py)
    assert evidence.size_bytes == len(download.data)
    assert evidence.sha256 == hashlib.sha256(download.data).hexdigest()
    if kind == "PDF":
        assert len(pikepdf.open(io.BytesIO(download.data)).pages) == 1
    else:
        assert Image.open(io.BytesIO(download.data)).size == (32, 24)
    assert download.headers["Content-Type"].startswith(content_type)
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    if kind != "PDF":
        thumb = learner_client.get(f"/hours/{log.id}/evidence/{evidence.id}/thumbnail")
        assert thumb.status_code == 200 and thumb.data.startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("0", "กรอกชั่วโมงมากกว่า 0"),
        ("-2", "กรอกชั่วโมงมากกว่า 0"),
        ("สอง", "ตัวเลขไม่ถูกต้อง"),
        ("12.25", "ได้ไม่เกิน 12 ชั่วโมง"),
        ("24", "ได้ไม่เกิน 12 ชั่วโมง"),
        ("1.1", "กรอกชั่วโมงทีละ 15 นาที"),
        ("1.333", "กรอกชั่วโมงทีละ 15 นาที"),
        ("", "กรอกจำนวนชั่วโมง"),
    ],
)
def test_bad_hours_are_refused(learner_client, enrolment, db, hours, message, field_error):
    page = learner_client.post("/hours/new", data=classroom_form(enrolment, hours=hours))
    assert message in field_error(page.get_data(as_text=True), "hours")
    assert count_rows(HourLog) == 0


def test_bad_days_are_refused(learner_client, enrolment, db, field_error):
    cases = [
        ((local_today() + timedelta(days=1)).isoformat(), "วันที่ต้องไม่เป็นวันในอนาคต"),
        ((enrolment.cohort.starts_on - timedelta(days=1)).isoformat(), "วันที่ต้องไม่ก่อนวันเริ่มรุ่น"),
        ("2026-02-30", "วันที่ไม่ถูกต้อง"),
    ]
    for day, message in cases:
        page = learner_client.post("/hours/new", data=classroom_form(enrolment, worked_on=day))
        assert message in field_error(page.get_data(as_text=True), "worked_on")
    assert count_rows(HourLog) == 0


def test_field_hours_outside_the_window_are_refused_with_the_window(
    learner_client, enrolment, db, field_error
):
    before_window = enrolment.field_window_starts_on - timedelta(days=1)
    files = stored_files()
    page = learner_client.post(
        "/hours/new", **field_form(enrolment, worked_on=before_window.isoformat())
    )
    message = field_error(page.get_data(as_text=True), "worked_on")
    assert "ต้องอยู่ในช่วงปฏิบัติการของคุณ" in message
    start = enrolment.field_window_starts_on
    assert f"{start.day} " in message and str(buddhist_year(start)) in message
    assert (count_rows(HourLog), stored_files()) == (0, files + kept_as_drafts(db))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"module_id": "999999"}, "module_id", "ตัวเลือกไม่ถูกต้อง"),
        ({"module_id": "abc"}, "module_id", "ตัวเลือกไม่ถูกต้อง"),
        ({"mechanism_id": "0"}, "mechanism_id", "เลือกกลไกของงานนี้"),
        ({"tool_ids": []}, "tool_ids", "เลือกเครื่องมือที่ใช้อย่างน้อยหนึ่งอย่าง"),
        ({"place": ""}, "place", "ระบุสถานที่ที่ทำงาน"),
        ({"description": "  "}, "description", "เล่าสิ่งที่คุณทำ"),
        ({"files": []}, "files", "แนบรูปภาพหรือ PDF อย่างน้อยหนึ่งไฟล์"),
    ],
)
def test_incomplete_field_logs_are_refused(
    learner_client, enrolment, db, overrides, field, message, field_error
):
    files = stored_files()
    page = learner_client.post("/hours/new", **field_form(enrolment, **overrides))
    assert message in field_error(page.get_data(as_text=True), field)
    assert (count_rows(HourLog), count_rows(EvidenceFile)) == (0, 0)
    assert stored_files() == files + kept_as_drafts(db)  # the photo is kept for the next try


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(io.BytesIO(b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024)), "big.jpg")], "ใหญ่เกิน 10 MB"),
        ([(io.BytesIO(tiny_jpeg()), f"p{i}.jpg") for i in range(6)], "แนบไฟล์ได้ไม่เกิน 5 ไฟล์"),
        ([(io.BytesIO(ELF), "holiday.jpg")], "ไม่ใช่รูปภาพ"),
        ([(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "scan.pdf")], "ไม่ใช่รูปภาพ"),
        ([(io.BytesIO(b""), "empty.jpg")], "ว่างเปล่า"),
        ([(io.BytesIO(tiny_jpeg()[:40]), "cut.jpg")], "ไม่ใช่รูปภาพ"),
        ([(io.BytesIO(b"%PDF-1.4 but never ends"), "half.pdf")], "อ่าน half.pdf เป็นไฟล์ PDF ไม่ได้"),
        ([(io.BytesIO(tiny_jpeg()), "ok.jpg"), (io.BytesIO(ELF), "bad.png")], "bad.png"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    learner_client, enrolment, db, files, message, field_error
):
    stored = stored_files()
    page = learner_client.post("/hours/new", **field_form(enrolment, files=files))
    assert message in field_error(page.get_data(as_text=True), "files")
    assert (count_rows(HourLog), count_rows(EvidenceFile)) == (0, 0)
    assert stored_files() == stored + kept_as_drafts(db)  # only the good files, as drafts
    assert all(draft.original_name != "bad.png" for draft in db.session.scalars(select(DraftFile)))


def test_an_enormous_upload_gets_the_too_large_page(app, client, enrolment, db):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/hours/new",
        **field_form(enrolment, files=[(io.BytesIO(b"x" * (limit + 1)), "huge.jpg")]),
    )
    assert response.status_code == 413
    assert "ไฟล์ที่อัปโหลดใหญ่เกินไป" in response.get_data(as_text=True)
    assert count_rows(HourLog) == 0


def test_edit_a_pending_log_and_its_files(learner_client, enrolment, db):
    evidence = EvidenceFileFactory(
        hour_log=HourLogFactory(enrolment=enrolment, module=module(5), minutes=60, place="เดิม")
    )
    log, old_key = evidence.hour_log, evidence.storage_key
    form = field_form(
        enrolment,
        hours="3",
        remove_evidence=[str(evidence.id)],
        files=[(io.BytesIO(image_bytes("PNG")), "ใหม่.png")],
    )
    response = learner_client.post(f"/hours/{log.id}/edit", **form)
    assert response.status_code == 302
    db.session.expire_all()
    assert log.minutes == 180 and log.status is LogStatus.PENDING
    names = db.session.scalars(
        select(EvidenceFile.original_name).where(EvidenceFile.hour_log_id == log.id)
    )
    assert list(names) == ["ใหม่.png"]
    assert not storage().exists(old_key)  # the removed file is gone once the change committed
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "hour_log.update"))
    assert audit.details["changes"]["minutes"] == [60, 180]


def test_a_returned_log_goes_back_to_the_queue_when_edited_or_answered(
    learner_client, enrolment, db, field_error
):
    log = HourLogFactory(enrolment=enrolment, status=LogStatus.RETURNED)
    HourLogNoteFactory(hour_log_id=log.id, kind=NoteKind.QUESTION)
    page = learner_client.get(f"/hours/{log.id}").get_data(as_text=True)
    assert "ช่วยอธิบายเพิ่มเติม" in page and "ตอบคำถาม" in page
    page = learner_client.post(f"/hours/{log.id}/answer", data={"body": ""}).get_data(as_text=True)
    assert "เขียนคำตอบของคุณ" in field_error(page, "body")
    learner_client.post(f"/hours/{log.id}/answer", data={"body": "มีครูร่วม 12 คน"})
    db.session.refresh(log)
    assert log.status is LogStatus.PENDING
    other = HourLogFactory(enrolment=enrolment, status=LogStatus.RETURNED)
    learner_client.post(f"/hours/{other.id}/edit", data=classroom_form(enrolment, hours="3"))
    db.session.refresh(other)
    assert (other.status, other.minutes) == (LogStatus.PENDING, 180)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"hour_log.answer", "hour_log.resubmit"} <= actions


def test_withdraw_a_pending_log(learner_client, enrolment, db):
    log = HourLogFactory(enrolment=enrolment)
    learner_client.post(f"/hours/{log.id}/withdraw")
    db.session.refresh(log)
    assert log.status is LogStatus.WITHDRAWN


@pytest.mark.parametrize("status", [LogStatus.APPROVED, LogStatus.REJECTED])
def test_reviewed_logs_are_locked(learner_client, enrolment, db, status, flashes):
    log = HourLogFactory(enrolment=enrolment, status=status)
    before = (log.minutes, log.status, log.version)
    page = learner_client.post(
        f"/hours/{log.id}/edit", data=classroom_form(enrolment, hours="5"), follow_redirects=True
    ).get_data(as_text=True)
    assert "จึงแก้ไขไม่ได้" in "".join(flashes(page))
    page = learner_client.post(f"/hours/{log.id}/withdraw", follow_redirects=True).get_data(
        as_text=True
    )
    assert "จึงแก้ไขไม่ได้" in "".join(flashes(page))
    page = learner_client.post(f"/hours/{log.id}/answer", data={"body": "x"}, follow_redirects=True)
    assert "ตอบได้เฉพาะบันทึกที่ถูกส่งกลับ" in page.get_data(as_text=True)
    db.session.refresh(log)
    assert (log.minutes, log.status, log.version) == before


def test_another_learners_log_is_forbidden(learner_client, enrolment, db):
    evidence = EvidenceFileFactory()
    log = evidence.hour_log
    for method, url in (
        ("GET", f"/hours/{log.id}"),
        ("GET", f"/hours/{log.id}/edit"),
        ("POST", f"/hours/{log.id}/edit"),
        ("POST", f"/hours/{log.id}/withdraw"),
        ("POST", f"/hours/{log.id}/answer"),
        ("GET", f"/hours/{log.id}/evidence/{evidence.id}"),
        ("GET", f"/hours/{log.id}/evidence/{evidence.id}/thumbnail"),
    ):
        assert learner_client.open(url, method=method, data={}).status_code == 403, url
    db.session.refresh(log)
    assert log.status is LogStatus.PENDING


def test_a_file_of_another_log_is_not_found_through_my_log(learner_client, enrolment, db):
    mine = HourLogFactory(enrolment=enrolment)
    theirs = EvidenceFileFactory()
    assert learner_client.get(f"/hours/{mine.id}/evidence/{theirs.id}").status_code == 404


def test_logging_into_another_learners_enrolment_is_refused(
    learner_client, enrolment, db, field_error
):
    other = EnrolmentFactory()
    page = learner_client.post("/hours/new", data=classroom_form(other))
    assert "ตัวเลือกไม่ถูกต้อง" in field_error(page.get_data(as_text=True), "enrolment_id")
    assert count_rows(HourLog) == 0


def test_a_learner_without_a_cohort_is_told_so(client, login, db):
    from tests.factories import LearnerFactory

    login(LearnerFactory())
    page = client.get("/hours/new").get_data(as_text=True)
    assert "ขณะนี้คุณไม่ได้เรียนอยู่ในรุ่นใด" in page
    assert client.post("/hours/new", data={}).status_code == 200
    assert count_rows(HourLog) == 0
