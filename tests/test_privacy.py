"""PDPA: the privacy notice (in both languages, from every footer, shown once after the first
sign-in), the download of everything LCA holds about a person (access and portability),
erasure that leaves certificates verifiable and nothing else personal, the evidence retention
rule, and the security events as JSON log lines."""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, cast, func, select

from lca.core.dates import local_today
from lca.core.db import Base
from lca.core.storage import storage
from lca.models import (
    AuditEvent,
    EvidenceFile,
    FieldReport,
    HourLog,
    Message,
    NoteKind,
    ReportFile,
    User,
    UserSession,
)
from tests.factories import (
    PASSWORD,
    AdminFactory,
    CohortFactory,
    EnrolmentFactory,
    EvidenceFileFactory,
    FieldReportFactory,
    HourLogFactory,
    HourLogNoteFactory,
    InstructorFactory,
    LearnerFactory,
    ReportFileFactory,
    field_form,
    one_page_pdf,
    tiny_jpeg,
)

NAME_TH = "ประภาพร ลบข้อมูลทดสอบ"
NAME_EN = "Praphaporn Erasuretest"
EMAIL = "praphaporn.erasure@example.org"


def security_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "lca.security"]


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --------------------------------------------------------------------------- the notice


def test_the_notice_in_thai_names_the_lawful_basis_the_contact_and_the_certificate_record(client):
    page = client.get("/privacy")
    assert page.status_code == 200
    text = text_of(page)
    assert "ประกาศความเป็นส่วนตัว" in text
    assert "มาตรา 24 (4)" in text and "มาตรา 24 (3)" in text  # public task, contract
    assert "ไม่ได้ขอความยินยอม" in text  # not consent for what is required
    assert "city.unit@up.ac.th" in text  # the controller's contact, from seed/issuer.yaml
    assert "มหาวิทยาลัยพะเยา" in text
    assert "วุฒิบัตรที่ออกแล้วยังคงตรวจสอบได้" in text  # certificates stay after an erasure
    assert "72 ชั่วโมง" in text


def test_the_notice_in_english(client):
    text = text_of(client.get("/privacy?lang=en"))
    assert "Privacy notice" in text
    assert "public task" in text and "section 24(3)" in text
    assert "does not ask for your consent" in text
    assert "University of Phayao" in text and "city.unit@up.ac.th" in text
    assert "Issued certificates: for good, as a minimal record" in text


def test_the_notice_says_the_retention_period_when_one_is_set(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_EVIDENCE_RETENTION_YEARS", 5)
    assert "5 years after your cohort ends" in text_of(client.get("/privacy?lang=en"))


def test_a_privacy_contact_setting_replaces_the_issuers_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_PRIVACY_CONTACT", "dpo@up.ac.th")
    text = text_of(client.get("/privacy"))
    assert "dpo@up.ac.th" in text and "city.unit@up.ac.th" not in text


@pytest.mark.parametrize("path", ["/", "/curriculum", "/verify", "/login"])
def test_every_page_footer_links_the_notice(client, path):
    page = client.get(path).get_data(as_text=True)
    footer = page[page.index('<footer class="site-footer">') :]
    assert 'href="/privacy"' in footer


def test_the_footer_link_is_there_for_a_signed_in_person_too(learner_client):
    page = learner_client.get("/hours").get_data(as_text=True)
    assert 'href="/privacy"' in page[page.index("<footer") :]


def test_the_first_sign_in_shows_the_notice_once(app, client, db, flashes):
    learner = LearnerFactory(privacy_notice_seen_at=None)
    signed_in = client.post("/login", data={"email": learner.email, "password": PASSWORD})
    home = signed_in.headers["Location"]
    shown = client.get(home)
    assert shown.status_code == 302
    assert shown.headers["Location"].startswith("/privacy?next=")
    notice = client.get(shown.headers["Location"])
    assert "รับทราบประกาศนี้แล้ว" in text_of(notice)  # the acknowledgement button
    next_field = re.search(r'name="next"[^>]*value="([^"]*)"', notice.text)
    assert next_field and html.unescape(next_field.group(1)) == home
    done = client.post("/privacy/seen", data={"next": home})
    assert done.status_code == 302 and done.headers["Location"] == home
    assert client.get(home).status_code == 200  # not again
    db.session.refresh(learner)
    assert learner.privacy_notice_seen_at is not None
    assert "รับทราบประกาศนี้แล้ว" not in text_of(client.get("/privacy"))  # no button now


def test_the_notice_never_interrupts_a_form_a_file_or_the_account_pages(client, login, db):
    learner = LearnerFactory(privacy_notice_seen_at=None)
    enrolment = EnrolmentFactory(learner=learner)
    evidence = EvidenceFileFactory(hour_log=HourLogFactory(enrolment=enrolment))
    login(learner)
    photo = client.get(
        f"/hours/{evidence.hour_log_id}/evidence/{evidence.id}", headers={"Sec-Fetch-Dest": "image"}
    )
    assert photo.status_code == 200
    assert client.get("/account").status_code == 200  # its own pages: sign-in, password, factor
    assert client.post("/hours/new", **field_form(enrolment)).status_code == 302
    assert client.get("/privacy").status_code == 200  # the notice itself
    assert client.get("/hours").status_code == 302  # a normal page: the notice first


def test_someone_with_a_one_time_password_changes_it_first_and_is_not_sent_in_circles(
    client, login, db
):
    staff = AdminFactory(privacy_notice_seen_at=None, must_change_password=True)
    login(staff)
    first = client.get("/admin/")
    assert first.status_code == 302 and first.headers["Location"].endswith("/account/password")
    assert client.get("/account/password").status_code == 200
    assert client.get("/privacy").status_code == 200  # readable in that state too


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "/\\evil.example", "https://evil.example/", "\t/x", ""]
)
def test_the_acknowledgement_goes_only_to_a_page_of_this_site(client, login, db, target):
    learner = LearnerFactory(privacy_notice_seen_at=None)
    login(learner)
    page = client.get("/privacy", query_string={"next": target})
    assert page.status_code == 200
    (value,) = re.findall(r'name="next"[^>]*value="([^"]*)"', page.get_data(as_text=True))
    assert value == ""
    done = client.post("/privacy/seen", data={"next": target})
    assert done.status_code == 302
    assert done.headers["Location"] == "/learner"


# --------------------------------------------------------------------------- the download


def read_zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_a_learner_downloads_everything_lca_holds_about_them(client, login, db, caplog):
    learner = LearnerFactory()
    enrolment = EnrolmentFactory(learner=learner)
    login(learner)
    pdf = one_page_pdf()
    uploaded = client.post(
        "/hours/new",
        **field_form(
            enrolment,
            files=[(io.BytesIO(tiny_jpeg()), "ภาพกิจกรรม.jpg"), (io.BytesIO(pdf), "รายงาน.pdf")],
        ),
    )
    assert uploaded.status_code == 302
    log = db.session.scalar(select(HourLog).where(HourLog.enrolment_id == enrolment.id))
    HourLogNoteFactory(hour_log_id=log.id, body="ขอภาพเพิ่มเติมของกิจกรรม")
    report = FieldReportFactory(enrolment=enrolment, summary="สรุปงานภาคสนามของฉัน")
    attached = ReportFileFactory(field_report=report)
    caplog.set_level(logging.INFO, logger="lca.security")

    archive = read_zip(client.get("/account/my-data.zip"))

    names = set(archive.namelist())
    for part in (
        "README.txt",
        "profile.json",
        "enrolments.json",
        "hour_logs.json",
        "field_reports.json",
        "certificates.json",
        "audit_events.json",
        "sessions.json",
        "messages.json",
    ):
        assert part in names
    readme = archive.read("README.txt").decode()
    assert "ข้อมูลส่วนบุคคลของท่าน" in readme and "Your personal data in LCA" in readme
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == learner.email and profile["full_name_th"] == learner.full_name_th
    assert [e["cohort"] for e in json.loads(archive.read("enrolments.json"))] == [
        enrolment.cohort.code
    ]
    logs = json.loads(archive.read("hour_logs.json"))
    (logged,) = [item for item in logs if item["id"] == log.id]
    assert logged["description"] == "จัดเวทีชวนชุมชนทำแผนที่แหล่งเรียนรู้"
    assert [n["body"] for n in logged["notes"]] == ["ขอภาพเพิ่มเติมของกิจกรรม"]
    stored = db.session.scalars(select(EvidenceFile).where(EvidenceFile.hour_log_id == log.id))
    by_id = {item.id: item for item in stored}
    assert sorted(e["original_name"] for e in logged["evidence"]) == ["ภาพกิจกรรม.jpg", "รายงาน.pdf"]
    for item in logged["evidence"]:
        data = archive.read(item["file"])
        kept = by_id[item["id"]]
        assert hashlib.sha256(data).hexdigest() == kept.sha256 == item["sha256"]
        with storage().open(kept.storage_key) as original:
            assert original.read() == data
    (pdf_entry,) = [e for e in logged["evidence"] if e["content_type"] == "application/pdf"]
    assert pdf_entry["file"].endswith(".pdf") and "รายงาน" not in pdf_entry["file"]
    reports = json.loads(archive.read("field_reports.json"))
    assert [r["summary"] for r in reports] == ["สรุปงานภาคสนามของฉัน"]
    with storage().open(attached.storage_key) as original:
        assert archive.read(reports[0]["files"][0]["file"]) == original.read()
    assert json.loads(archive.read("sessions.json"))  # this sign-in
    events = json.loads(archive.read("audit_events.json"))
    assert any(e["action"] == "hour_log.submit" and e["by_me"] for e in events)

    export = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "personal_data.export")
    )
    assert export.actor_id == learner.id and export.target_id == learner.id
    (line,) = [e for e in security_lines(caplog) if e["event"] == "personal_data.export"]
    assert line["actor_id"] == learner.id and line["subject_id"] == learner.id
    assert line["own"] is True


def test_the_download_lists_the_messages_without_their_secret_links(client, login, db):
    from lca.auth.services import send_invitation

    learner = LearnerFactory()
    send_invitation(learner, None)
    login(learner)
    messages = json.loads(read_zip(client.get("/account/my-data.zip")).read("messages.json"))
    assert [m["kind"] for m in messages] == ["invitation"]
    assert "token" not in messages[0]["says"]


def test_staff_download_their_own_data(instructor_client, teaching):
    archive = read_zip(instructor_client.get("/account/my-data.zip"))
    assert json.loads(archive.read("profile.json"))["id"] == teaching.instructor.id


def test_an_administrator_downloads_a_persons_data_for_a_paper_request(admin_client, admin, db):
    learner = EnrolmentFactory().learner
    archive = read_zip(admin_client.get(f"/admin/users/{learner.id}/personal-data.zip"))
    assert json.loads(archive.read("profile.json"))["email"] == learner.email
    export = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "personal_data.export")
    )
    assert (export.actor_id, export.target_id, export.details["own"]) == (
        admin.id,
        learner.id,
        False,
    )
    page = admin_client.get(f"/admin/users/{learner.id}/edit").get_data(as_text=True)
    assert f"/admin/users/{learner.id}/personal-data.zip" in page


def test_the_download_holds_the_certificates_and_what_was_done_to_them(
    admin_client, issue_certificate
):
    certificate = issue_certificate()
    learner = certificate.enrolment.learner
    archive = read_zip(admin_client.get(f"/admin/users/{learner.id}/personal-data.zip"))
    (kept,) = json.loads(archive.read("certificates.json"))
    assert (kept["serial"], kept["status"]) == (certificate.serial, "valid")
    assert kept["snapshot"]["learner"]["name_th"] == learner.full_name_th
    events = json.loads(archive.read("audit_events.json"))
    issued = [e for e in events if e["action"] == "certificate.issue"]
    assert [(e["target_id"], e["by_me"]) for e in issued] == [(certificate.id, False)]


def test_the_account_page_offers_the_download(learner_client):
    assert 'href="/account/my-data.zip"' in learner_client.get("/account").get_data(as_text=True)


def test_a_learner_cannot_download_someone_elses_data(learner_client, learner_enrolment):
    other = LearnerFactory()
    assert learner_client.get(f"/admin/users/{other.id}/personal-data.zip").status_code == 403
    # no id is read from the request: a query or a form field changes nothing
    archive = read_zip(learner_client.get(f"/account/my-data.zip?user_id={other.id}"))
    assert json.loads(archive.read("profile.json"))["id"] == learner_enrolment.learner_id


def test_an_instructor_cannot_download_a_learners_data(instructor_client, teaching):
    learner = teaching.enrolment.learner
    assert instructor_client.get(f"/admin/users/{learner.id}/personal-data.zip").status_code == 403


@pytest.mark.parametrize("user_id", ["0", "99999999", "2147483648", "-1", "x", "1%00"])
def test_hostile_ids_on_the_admin_routes_are_not_found(admin_client, user_id):
    for path in ("personal-data.zip", "erase"):
        assert admin_client.get(f"/admin/users/{user_id}/{path}").status_code == 404
    assert admin_client.post(f"/admin/users/{user_id}/erase").status_code == 404


def test_the_download_is_not_kept_by_a_cache(learner_client):
    response = learner_client.get("/account/my-data.zip")
    assert "no-store" in response.headers["Cache-Control"]


# --------------------------------------------------------------------------- erasure


@pytest.fixture
def to_erase(app, db, issue_certificate):
    """A learner with a certificate (issued through the form), logs, notes, evidence, a field
    report with a file, messages, a session and a failed sign-in, all naming them."""
    certificate = issue_certificate(
        full_name_th=NAME_TH, full_name_en=NAME_EN, email=EMAIL, organisation="เทศบาลลบทดสอบ"
    )
    enrolment = certificate.enrolment
    learner = enrolment.learner
    log = HourLogFactory(enrolment=enrolment, description=f"{NAME_TH} จัดเวที", place="บ้านของฉัน")
    evidence = EvidenceFileFactory(hour_log=log)
    HourLogNoteFactory(
        hour_log_id=log.id, author=learner, kind=NoteKind.ANSWER, body=f"ตอบโดย {NAME_TH}"
    )
    report = db.session.scalar(select(FieldReport).where(FieldReport.enrolment_id == enrolment.id))
    report.summary = f"รายงานของ {NAME_TH} ({EMAIL})"
    attached = ReportFileFactory(field_report=report)
    from lca.auth.sessions import start_session
    from lca.hours.drafts import hold_drafts

    start_session(learner)
    held = hold_drafts(learner, [_upload()], 0)
    outsider = app.test_client()
    outsider.post("/login", data={"email": EMAIL, "password": "wrong guess"})  # audited
    db.session.flush()
    keys = [evidence.storage_key, evidence.thumbnail_key, attached.storage_key]
    keys += [held.drafts[0].storage_key]
    return certificate, learner, keys


def _upload():
    from lca.core.uploads import Upload

    return Upload(name="draft.jpg", data=tiny_jpeg("red"))


def text_columns():
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text, JSON)):
                yield table, column


def mentions(db, needle: str) -> set[str]:
    """Every table.column whose stored text holds ``needle`` (in clear or JSON-escaped)."""
    forms = {needle, json.dumps(needle)[1:-1]}
    found = set()
    for table, column in text_columns():
        for form in forms:
            query = (
                select(func.count())
                .select_from(table)
                .where(cast(column, Text).contains(form, autoescape=True))
            )
            if db.session.scalar(query):
                found.add(f"{table.name}.{column.name}")
    return found


def erase(client, user, reason="คำขอเป็นหนังสือของผู้เรียน ลงวันที่ 1 ธันวาคม 2569", **extra):
    return client.post(
        f"/admin/users/{user.id}/erase", data={"reason": reason, "confirm": "y", **extra}
    )


def test_the_confirmation_names_what_goes_and_what_stays(admin_client, to_erase):
    _certificate, learner, _keys = to_erase
    text = text_of(
        admin_client.get(f"/admin/users/{learner.id}/erase?lang=en", follow_redirects=True)
    )
    assert "What goes" in text and "What stays" in text
    assert EMAIL in text
    assert "2 evidence and report files" in text
    assert "1 issued certificate, still verifiable" in text
    edit = admin_client.get(f"/admin/users/{learner.id}/edit").get_data(as_text=True)
    assert f"/admin/users/{learner.id}/erase" in edit


def test_erasure_leaves_the_certificate_verifiable_and_nothing_else_personal(
    app, admin_client, admin, db, to_erase, caplog
):
    certificate, learner, keys = to_erase
    assert mentions(db, EMAIL)  # the search finds what is there
    logs_before = db.session.scalar(
        select(func.sum(HourLog.minutes)).where(HourLog.enrolment_id == certificate.enrolment_id)
    )
    caplog.set_level(logging.INFO, logger="lca.security")

    done = erase(admin_client, learner)

    assert done.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, learner.id)
    assert user.email == f"erased-{learner.id}@invalid.example"
    assert user.full_name_th == f"erased-{learner.id}" and user.full_name_en is None
    assert user.organisation is None and user.city_id is None
    assert user.erased_at is not None and not user.is_active
    # the old e-mail address is nowhere; the name only where the certificate says it
    assert mentions(db, EMAIL) == set()
    certificate_columns = {"certificates.snapshot", "certificates.credential"}
    assert mentions(db, NAME_TH) <= certificate_columns
    assert mentions(db, NAME_EN) <= certificate_columns
    assert mentions(db, "เทศบาลลบทดสอบ") == set()
    assert mentions(db, "บ้านของฉัน") == set()
    # the files are gone from storage once committed
    assert [storage().exists(key) for key in keys] == [False] * len(keys)
    assert (
        db.session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == learner.id)
        )
        == 0
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(Message).where(Message.recipient_id == learner.id)
        )
        == 0
    )
    # hours stay as anonymous numbers
    assert logs_before == db.session.scalar(
        select(func.sum(HourLog.minutes)).where(HourLog.enrolment_id == certificate.enrolment_id)
    )
    # the certificate is still verifiable: serial, name as issued, course, status
    verify = text_of(admin_client.get(f"/verify/{certificate.code}?lang=en", follow_redirects=True))
    assert certificate.serial in verify and NAME_TH in verify
    assert admin_client.get(f"/verify/{certificate.code}/credential.json").status_code == 200
    pdf = admin_client.get(f"/verify/{certificate.code}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # audited with its reason, and a security event
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data.erase"))
    assert event.actor_id == admin.id and event.target_id == learner.id
    assert event.details["reason"].startswith("คำขอเป็นหนังสือ")
    (line,) = [e for e in security_lines(caplog) if e["event"] == "personal_data.erase"]
    assert line["subject_id"] == learner.id and line["actor_id"] == admin.id
    assert line["certificates_kept"] == 1


def test_an_erased_account_cannot_sign_in(app, admin_client, to_erase):
    _certificate, learner, _keys = to_erase
    erase(admin_client, learner)
    device = app.test_client()
    for email in (EMAIL, f"erased-{learner.id}@invalid.example"):
        refused = device.post("/login", data={"email": email, "password": PASSWORD})
        assert refused.status_code == 200


def test_no_certificate_is_issued_or_reissued_with_an_erased_name(admin_client, db, to_erase):
    certificate, learner, _keys = to_erase
    erase(admin_client, learner)
    refused = admin_client.post(
        f"/certificates/{certificate.id}/reissue", data={"reason": "แก้ไขชื่อ"}
    )
    assert "ไม่สามารถออกหรือออกใหม่" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(type(certificate), certificate.id).status.value == "valid"
    revoked = admin_client.post(
        f"/certificates/{certificate.id}/revoke", data={"reason": "ทดสอบการออกใหม่"}
    )
    assert revoked.status_code == 302  # a register entry can still be revoked
    issued = admin_client.post(
        f"/enrolments/{certificate.enrolment_id}/certificate",
        data={"language": "both"},
        follow_redirects=True,
    )
    assert "ไม่สามารถออกหรือออกใหม่" in text_of(issued)


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_staff_are_not_erased_but_told_to_deactivate(admin_client, db, role, flashes):
    person = InstructorFactory() if role == "instructor" else AdminFactory()
    page = admin_client.get(f"/admin/users/{person.id}/erase?lang=en", follow_redirects=True)
    assert "deactivate this account instead" in text_of(page)
    refused = erase(admin_client, person)
    assert refused.status_code == 200
    assert "deactivate this account instead" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(User, person.id).erased_at is None


def test_an_administrator_cannot_erase_themself(admin_client, admin, db):
    refused = erase(admin_client, admin)
    assert "ท่านไม่สามารถลบข้อมูลบัญชีของตนเองได้" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(User, admin.id).erased_at is None


def test_an_account_is_erased_once(admin_client, to_erase):
    _certificate, learner, _keys = to_erase
    erase(admin_client, learner)
    again = erase(admin_client, learner)
    assert "บัญชีนี้ถูกลบข้อมูลไปแล้ว" in text_of(again)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "", "confirm": "y"}, "โปรดระบุเหตุผลของการลบข้อมูล"),
        ({"reason": "   \u200b\x00  ", "confirm": "y"}, "โปรดระบุเหตุผลของการลบข้อมูล"),
        ({"reason": "ขอลบ"}, "โปรดทำเครื่องหมายเพื่อยืนยัน"),
        ({"reason": "ก" * 2001, "confirm": "y"}, "2000"),
        ({"reason": ["หนึ่ง", "สอง"], "confirm": "y", "user_id": "1"}, None),
    ],
)
def test_hostile_erasure_forms_erase_nothing(admin_client, db, data, message):
    learner = EnrolmentFactory().learner
    email = learner.email
    response = admin_client.post(f"/admin/users/{learner.id}/erase", data=data)
    assert response.status_code in (200, 302)
    db.session.expire_all()
    if message is not None:
        assert message in text_of(response)
        assert db.session.get(User, learner.id).email == email
        assert db.session.get(User, learner.id).erased_at is None


def test_a_learner_cannot_erase_anyone(learner_client, learner_enrolment):
    other = LearnerFactory()
    assert (
        learner_client.post(
            f"/admin/users/{other.id}/erase", data={"reason": "x", "confirm": "y"}
        ).status_code
        == 403
    )


# --------------------------------------------------------------------------- retention


@pytest.fixture
def finished_and_running(db):
    """A cohort that ended over three years ago, with evidence and a report file, and one that
    is still running, with evidence."""
    start = local_today() - timedelta(days=5 * 365)
    old = CohortFactory(code="CA-2564-01", starts_on=start, ends_on=start + timedelta(days=240))
    old_log = HourLogFactory(enrolment=EnrolmentFactory(cohort=old), worked_on=start)
    old_evidence = EvidenceFileFactory(hour_log=old_log)
    old_file = ReportFileFactory(field_report=FieldReportFactory(enrolment=old_log.enrolment))
    new_evidence = EvidenceFileFactory()
    return old, old_log, old_evidence, old_file, new_evidence


def test_retention_is_off_by_default(app, db, finished_and_running):
    result = app.test_cli_runner().invoke(args=["lca", "retention"])
    assert result.exit_code == 0 and "not set" in result.output
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 2


def test_retention_dry_run_lists_what_would_go_and_deletes_nothing(
    app, db, monkeypatch, finished_and_running
):
    _old, _log, old_evidence, old_file, new_evidence = finished_and_running
    monkeypatch.setitem(app.config, "LCA_EVIDENCE_RETENTION_YEARS", 3)
    result = app.test_cli_runner().invoke(args=["lca", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "CA-2564-01" in result.output and "2 files" in result.output
    assert "would be deleted" in result.output
    assert new_evidence.hour_log.enrolment.cohort.code not in result.output
    db.session.expire_all()
    assert db.session.get(EvidenceFile, old_evidence.id) is not None
    assert storage().exists(old_evidence.storage_key) and storage().exists(old_file.storage_key)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "evidence.retention")
        )
        == 0
    )


def test_retention_deletes_the_files_of_finished_cohorts_and_the_pages_say_so(
    app, client, login, db, monkeypatch, finished_and_running, caplog
):
    old, old_log, old_evidence, old_file, new_evidence = finished_and_running
    monkeypatch.setitem(app.config, "LCA_EVIDENCE_RETENTION_YEARS", 3)
    caplog.set_level(logging.INFO, logger="lca.security")
    result = app.test_cli_runner().invoke(args=["lca", "retention"])
    assert result.exit_code == 0, result.output
    assert "2 files deleted" in result.output
    db.session.expire_all()
    assert db.session.get(EvidenceFile, old_evidence.id) is None
    assert db.session.get(ReportFile, old_file.id) is None
    for key in (old_evidence.storage_key, old_evidence.thumbnail_key, old_file.storage_key):
        assert not storage().exists(key)
    assert storage().exists(new_evidence.storage_key)  # a running cohort keeps its evidence
    assert db.session.get(EvidenceFile, new_evidence.id) is not None
    log = db.session.get(HourLog, old_log.id)
    assert log.evidence_removed_at is not None and log.minutes == old_log.minutes
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "evidence.retention"))
    assert (event.target_type, event.target_id, event.details["files"]) == ("cohorts", old.id, 2)
    assert [e["cohort_id"] for e in security_lines(caplog)] == [old.id]
    login(log.enrolment.learner)
    page = text_of(client.get(f"/hours/{log.id}"))
    assert "ตามหลักเกณฑ์ระยะเวลาการเก็บรักษาข้อมูลส่วนบุคคล" in page
    assert f"/hours/{log.id}/evidence/" not in page
    report = text_of(client.get("/field-report"))
    assert "ไฟล์แนบของรายงานนี้ถูกลบเมื่อวันที่" in report


def test_the_worker_applies_retention_once_a_day(app, db, monkeypatch, finished_and_running):
    from lca.ops import worker

    _old, _log, old_evidence, _file, _new = finished_and_running
    monkeypatch.setitem(app.config, "LCA_EVIDENCE_RETENTION_YEARS", 3)
    monkeypatch.setattr(worker, "_retention_done_on", None)
    worker.run_once(channel=None)  # nothing to deliver: the channel is never used
    db.session.expire_all()
    assert db.session.get(EvidenceFile, old_evidence.id) is None
    assert worker._retention_done_on == local_today()
    again = EvidenceFileFactory(hour_log=_log)
    worker._retention_once_a_day()  # the same day: nothing more
    assert db.session.get(EvidenceFile, again.id) is not None


def test_a_bad_retention_setting_stops_the_start(monkeypatch):
    from lca.core.config import ConfigError, load_config

    for value in ("0", "soon", "-3", "101"):
        monkeypatch.setenv("LCA_EVIDENCE_RETENTION_YEARS", value)
        with pytest.raises(ConfigError, match="LCA_EVIDENCE_RETENTION_YEARS"):
            load_config({"LCA_ENV": "testing"})
    monkeypatch.setenv("LCA_EVIDENCE_RETENTION_YEARS", "7")
    assert load_config({"LCA_ENV": "testing"})["LCA_EVIDENCE_RETENTION_YEARS"] == 7


# --------------------------------------------------------------------------- security events


def test_the_sign_in_that_trips_the_throttle_is_a_security_event(
    app, client, db, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "LCA_LOGIN_ACCOUNT_RATE_LIMIT", "3 per 15 minutes")
    learner = LearnerFactory(email="throttle.event@example.org")
    caplog.set_level(logging.INFO, logger="lca.security")
    for _ in range(5):
        client.post("/login", data={"email": learner.email, "password": "wrong"})
    (line,) = security_lines(caplog)  # once, when it trips; not for every refusal after
    assert line["event"] == "auth.sign_in_throttled"
    assert line["account_id"] == learner.id and line["known_account"] is True
    assert set(line) >= {"event", "at", "origin", "actor_id"}
    assert "wrong" not in json.dumps(line) and learner.email not in json.dumps(line)


def test_a_role_change_is_a_security_event(admin_client, admin, db, caplog):
    person = InstructorFactory()
    caplog.set_level(logging.INFO, logger="lca.security")
    saved = admin_client.post(
        f"/admin/users/{person.id}/edit",
        data={
            "email": person.email,
            "full_name_th": person.full_name_th,
            "full_name_en": person.full_name_en,
            "role": "admin",
            "city_id": "0",
            "organisation": "",
            "preferred_language": "th",
        },
    )
    assert saved.status_code == 302
    (line,) = security_lines(caplog)
    assert line["event"] == "user.role_change"
    assert (line["actor_id"], line["subject_id"], line["old"], line["new"]) == (
        admin.id,
        person.id,
        "instructor",
        "admin",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", line["at"])
    assert line["origin"]  # the client address


def test_a_security_line_is_one_json_object_with_its_fields(app, caplog):
    from lca.core.security_log import security_event

    caplog.set_level(logging.INFO, logger="lca.security")
    with app.test_request_context(
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
        headers={"X-Request-ID": "req-0123456789"},
    ):
        security_event("test.event", actor_id=3, subject_id=4, note="ทดสอบ")
    (record,) = [r for r in caplog.records if r.name == "lca.security"]
    line = json.loads(record.getMessage())
    assert line == {
        "event": "test.event",
        "at": line["at"],
        "origin": "198.51.100.7",
        "request_id": "req-0123456789",
        "actor_id": 3,
        "subject_id": 4,
        "note": "ทดสอบ",
    }
    assert "\n" not in record.getMessage()
