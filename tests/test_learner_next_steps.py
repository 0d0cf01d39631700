"""The learner's next steps on their page: every log returned with a question, with a link
straight to the answer form; the certificate once issued (download, verify page, share link);
a revoked or replaced certificate with what it means."""

from __future__ import annotations

import re

import pytest

from lca.certificates.keys import generate_keys
from lca.certificates.services import issue_certificate, reissue_certificate, revoke_certificate
from lca.core.db import db
from lca.models import LogStatus, NoteKind
from tests.factories import (
    AdminFactory,
    EnrolmentFactory,
    HourLogFactory,
    HourLogNoteFactory,
    eligible_enrolment,
    module,
)


@pytest.fixture(autouse=True)
def signing_key(app):
    with app.app_context():
        generate_keys()


def _flat(html: str) -> str:
    return " ".join(html.split())


def test_every_log_returned_with_a_question_links_to_its_answer_form(client, login):
    enrolment = EnrolmentFactory()
    first = HourLogFactory(enrolment=enrolment, status=LogStatus.RETURNED)
    HourLogNoteFactory(hour_log_id=first.id, body="ถ่ายรูปกิจกรรมไว้หรือไม่")
    HourLogNoteFactory(hour_log_id=first.id, kind=NoteKind.ANSWER, body="มีครับ")
    HourLogNoteFactory(hour_log_id=first.id, body="ช่วยแนบรูปที่ถ่ายไว้ด้วย")  # asked again
    second = HourLogFactory(enrolment=enrolment, module=module(2), status=LogStatus.RETURNED)
    HourLogNoteFactory(hour_log_id=second.id, body="วันที่ถูกต้องหรือไม่")
    waiting = HourLogFactory(enrolment=enrolment)  # pending: nothing for the learner to do
    someone_else = HourLogFactory(status=LogStatus.RETURNED)
    db.session.commit()
    login(enrolment.learner)

    page = _flat(client.get("/learner").get_data(as_text=True))
    assert "บันทึก 2 รายการรอคำตอบของคุณ" in page
    links = re.findall(r'href="(/hours/\d+#answer-heading)"', page)
    assert links == [f"/hours/{first.id}#answer-heading", f"/hours/{second.id}#answer-heading"]
    assert "ช่วยแนบรูปที่ถ่ายไว้ด้วย" in page and "วันที่ถูกต้องหรือไม่" in page
    assert "ถ่ายรูปกิจกรรมไว้หรือไม่" not in page  # the question already answered
    assert f"/hours/{waiting.id}#" not in page and f"/hours/{someone_else.id}" not in page
    # The link opens the log at its answer form.
    log_page = client.get(links[0].split("#")[0]).get_data(as_text=True)
    assert 'id="answer-heading"' in log_page and f'action="/hours/{first.id}/answer"' in log_page


def test_an_issued_certificate_is_there_to_download_check_and_share(app, client, login):
    enrolment = eligible_enrolment()
    with app.test_request_context():
        certificate = issue_certificate(enrolment, AdminFactory())
    db.session.commit()
    login(enrolment.learner)
    page = _flat(client.get("/learner").get_data(as_text=True))
    verify_url = certificate.snapshot["verify_url"]
    assert f"วุฒิบัตรเลขที่ {certificate.serial} ของคุณพร้อมแล้ว" in page
    assert f'href="/certificates/{certificate.id}/pdf"' in page
    assert f'href="{verify_url}"' in page and "เปิดหน้าตรวจสอบวุฒิบัตร" in page
    share = re.search(r'<input id="share-\d+"[^>]*>', page).group(0)
    assert f'value="{verify_url}"' in share and "readonly" in share
    assert f'data-copy="share-{certificate.id}"' in page and "คัดลอกลิงก์" in page
    assert '<script src="/static/js/copy-link.js" defer></script>' in page
    assert client.get(verify_url.removeprefix(certificate.public_url)).status_code == 200


def test_a_replaced_or_revoked_certificate_says_what_it_means(app, client, login):
    enrolment = eligible_enrolment(full_name_th="นายสมชาย ใจดี")
    admin = AdminFactory()
    with app.test_request_context():
        first = issue_certificate(enrolment, admin)
        enrolment.learner.full_name_th = "นายสมชาย ใจดีมาก"
        second = reissue_certificate(first, admin, "แก้ชื่อสะกดผิด")
    db.session.commit()
    login(enrolment.learner)
    page = _flat(client.get("/learner").get_data(as_text=True))
    assert f"วุฒิบัตรเลขที่ {second.serial} ของคุณพร้อมแล้ว" in page
    assert f"วุฒิบัตรเลขที่ {first.serial} ถูกแทนที่ด้วยเลขที่ {second.serial}" in page
    assert "แก้ชื่อสะกดผิด" in page and f"โปรดใช้วุฒิบัตรเลขที่ {second.serial} นับจากนี้" in page

    with app.test_request_context():
        revoke_certificate(second, admin, "ออกให้ผิดรุ่น")
    db.session.commit()
    page = _flat(client.get("/learner").get_data(as_text=True))
    assert f"วุฒิบัตรเลขที่ {second.serial} ถูกเพิกถอนเมื่อวันที่" in page
    assert "ออกให้ผิดรุ่น" in page and "โปรดติดต่อเจ้าหน้าที่โครงการ" in page
    assert "ของคุณพร้อมแล้ว" not in page and 'data-copy="' not in page
    english = _flat(client.get("/learner?lang=en", follow_redirects=True).get_data(as_text=True))
    assert f"Certificate {second.serial} was revoked on" in english
    assert f"Certificate {first.serial} was replaced by {second.serial} on" in english
