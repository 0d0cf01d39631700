"""A log form that comes back with an error keeps the photos and PDFs already chosen (as the
learner's drafts), lists them, and saves them with the log; every error shows at once."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from lca.core.dates import local_today
from lca.core.db import utcnow
from lca.core.storage import storage
from lca.core.uploads import Upload
from lca.hours.drafts import DRAFT_LIFETIME, hold_drafts, purge_expired_drafts
from lca.models import DraftFile, EvidenceFile, HourLog
from tests.factories import (
    HourLogFactory,
    LearnerFactory,
    count_rows,
    field_form,
    module,
    stored_files,
    tiny_jpeg,
)

PHOTO = tiny_jpeg()


def kept_ids(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="draft_ids" value="(\d+)">', page)


def test_a_form_error_keeps_the_photo_and_the_next_try_saves_it(
    learner_client, learner_enrolment, db
):
    before = stored_files()
    page = learner_client.post(
        "/hours/new",
        **field_form(learner_enrolment, place="", files=[(io.BytesIO(PHOTO), "เวทีชุมชน.jpg")]),
    ).get_data(as_text=True)
    assert "ระบุสถานที่ที่ทำงาน" in page
    assert "ไฟล์ที่แนบไว้แล้ว (เก็บไว้จากครั้งก่อน)" in page and "เวทีชุมชน.jpg" in page
    assert "ไม่ต้องเลือกใหม่" in page
    draft = db.session.scalar(select(DraftFile))
    assert draft.owner_id == learner_enrolment.learner_id and draft.original_name == "เวทีชุมชน.jpg"
    assert kept_ids(page) == [str(draft.id)]
    assert count_rows(HourLog) == 0

    response = learner_client.post(
        "/hours/new", **field_form(learner_enrolment, files=[], draft_ids=kept_ids(page))
    )
    assert response.status_code == 302
    evidence = db.session.scalar(select(EvidenceFile))
    assert evidence.original_name == "เวทีชุมชน.jpg"
    with storage().open(evidence.storage_key) as file, Image.open(file) as photo:
        assert photo.size == (8, 8) and not photo.getexif()  # the photo, rewritten clean
    assert count_rows(DraftFile) == 0
    assert stored_files() == before + 2  # the evidence and its thumbnail; the draft's are gone


def test_every_error_shows_at_once(learner_client, learner_enrolment, db, field_error):
    page = learner_client.post(
        "/hours/new",
        **field_form(
            learner_enrolment,
            worked_on=(local_today() + timedelta(days=2)).isoformat(),
            hours="",
            mechanism_id="0",
            tool_ids=[],
            place="",
            files=[],
        ),
    ).get_data(as_text=True)
    assert "กรอกจำนวนชั่วโมง" in field_error(page, "hours")
    assert "วันที่ต้องไม่เป็นวันในอนาคต" in field_error(page, "worked_on")
    assert "เลือกกลไกของงานนี้" in field_error(page, "mechanism_id")
    assert "เลือกเครื่องมือที่ใช้อย่างน้อยหนึ่งอย่าง" in page
    assert "ระบุสถานที่ที่ทำงาน" in field_error(page, "place")
    assert "แนบรูปภาพหรือ PDF อย่างน้อยหนึ่งไฟล์" in field_error(page, "files")
    assert count_rows(HourLog) == 0


def test_a_kept_file_counts_as_the_evidence(learner_client, learner_enrolment, db, field_error):
    page = learner_client.post("/hours/new", **field_form(learner_enrolment, hours="")).get_data(
        as_text=True
    )
    assert "แนบรูปภาพ" not in field_error(page, "files")
    page = learner_client.post(
        "/hours/new",
        **field_form(learner_enrolment, hours="", files=[], draft_ids=kept_ids(page)),
    ).get_data(as_text=True)
    assert "แนบรูปภาพ" not in page  # the kept photo is the evidence
    assert len(kept_ids(page)) == 1


def test_a_ticked_kept_file_is_removed(learner_client, learner_enrolment, db):
    before = stored_files()
    page = learner_client.post("/hours/new", **field_form(learner_enrolment, place="")).get_data(
        as_text=True
    )
    (draft_id,) = kept_ids(page)
    page = learner_client.post(
        "/hours/new",
        **field_form(
            learner_enrolment, place="", files=[], draft_ids=[draft_id], remove_drafts=[draft_id]
        ),
    ).get_data(as_text=True)
    assert kept_ids(page) == [] and "ภาพกิจกรรม.jpg" not in page
    assert count_rows(DraftFile) == 0 and stored_files() == before


def test_another_learners_draft_is_never_used_or_shown(learner_client, learner_enrolment, db):
    other = LearnerFactory()
    held = hold_drafts(other, [Upload("ของคนอื่น.jpg", PHOTO)], already=0)
    db.session.commit()
    (theirs,) = held.drafts
    page = learner_client.post(
        "/hours/new",
        **field_form(learner_enrolment, files=[], draft_ids=[str(theirs.id)]),
    ).get_data(as_text=True)
    assert "ของคนอื่น.jpg" not in page and count_rows(HourLog) == 0
    assert "ไม่ได้เก็บไว้แล้ว" in page
    assert db.session.get(DraftFile, theirs.id).owner_id == other.id


def test_an_expired_draft_asks_for_the_file_again(learner_client, learner_enrolment, db):
    page = learner_client.post("/hours/new", **field_form(learner_enrolment, place="")).get_data(
        as_text=True
    )
    draft = db.session.scalar(select(DraftFile))
    draft.uploaded_at = utcnow() - DRAFT_LIFETIME - timedelta(minutes=1)
    db.session.commit()
    page = learner_client.post(
        "/hours/new", **field_form(learner_enrolment, files=[], draft_ids=kept_ids(page))
    ).get_data(as_text=True)
    assert "ไม่ได้เก็บไว้แล้ว (เกินหนึ่งวัน)" in page
    assert count_rows(HourLog) == 0


def test_expired_drafts_are_purged_with_their_files(app, db):
    owner = LearnerFactory()
    before = stored_files()
    old, _fresh = hold_drafts(owner, [Upload("a.jpg", PHOTO), Upload("b.jpg", PHOTO)], 0).drafts
    old.uploaded_at = utcnow() - DRAFT_LIFETIME - timedelta(hours=1)
    db.session.commit()
    assert purge_expired_drafts() == 1
    db.session.commit()
    assert [d.original_name for d in db.session.scalars(select(DraftFile))] == ["b.jpg"]
    assert stored_files() == before + 2


def test_the_operators_command_purges_expired_drafts(app, db):
    owner = LearnerFactory()
    (old,) = hold_drafts(owner, [Upload("a.jpg", PHOTO)], 0).drafts
    old.uploaded_at = utcnow() - timedelta(days=2)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["lca", "purge-drafts"])
    assert result.exit_code == 0 and "1 expired draft files removed" in result.output
    assert count_rows(DraftFile) == 0


def test_editing_a_log_keeps_the_new_photo_after_an_error(learner_client, learner_enrolment, db):
    log = HourLogFactory(enrolment=learner_enrolment, module=module(1))
    data = field_form(learner_enrolment, module_id=str(module(1).id), hours="")
    page = learner_client.post(f"/hours/{log.id}/edit", **data).get_data(as_text=True)
    assert "ภาพกิจกรรม.jpg" in page
    data = field_form(
        learner_enrolment, module_id=str(module(1).id), files=[], draft_ids=kept_ids(page)
    )
    assert learner_client.post(f"/hours/{log.id}/edit", **data).status_code == 302
    assert [e.original_name for e in db.session.scalars(select(EvidenceFile))] == ["ภาพกิจกรรม.jpg"]
    assert count_rows(DraftFile) == 0


def test_draft_ids_that_are_not_ids_are_ignored(learner_client, learner_enrolment, db):
    response = learner_client.post(
        "/hours/new",
        **field_form(learner_enrolment, draft_ids=["abc", "99999999999", "-1", "١٢"]),
    )
    assert response.status_code == 302
    assert count_rows(EvidenceFile) == 1


def test_every_worker_round_purges_expired_drafts(app, db, mailbox):
    from lca.notifications.channels import SmtpChannel
    from lca.ops.worker import run_once

    owner = LearnerFactory()
    old, fresh = hold_drafts(owner, [Upload("a.jpg", PHOTO), Upload("b.jpg", PHOTO)], 0).drafts
    old.uploaded_at = utcnow() - timedelta(days=2)
    db.session.commit()
    run_once(SmtpChannel(mailbox.url, app.config["LCA_MAIL_FROM"]))
    assert list(db.session.scalars(select(DraftFile.original_name))) == ["b.jpg"]
    assert fresh.owner_id == owner.id
