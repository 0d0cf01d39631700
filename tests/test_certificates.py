"""Certificates: issued once to eligible learners, frozen Thai PDFs that read back exactly,
QR codes that lead to the verify page, revocation and re-issue, batch print and ZIP."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest
from sqlalchemy import func, select

from lca.certificates.codes import normalise_code
from lca.certificates.keys import generate_keys
from lca.core.dates import buddhist_year, local_today
from lca.core.storage import storage
from lca.models import AuditEvent, Certificate, CertificateStatus, SerialCounter
from tests.factories import EnrolmentFactory, LearnerFactory, count_rows, eligible_enrolment

YEAR = buddhist_year(local_today())
THAI_NAMES = "น้ำ ปู่ ฟ้า ญาติ ฐู ฎู ศักดิ์ ฤๅษี กุ้ง ปั้น อื้อ"


@pytest.fixture(autouse=True)
def signing_key(app):
    with app.app_context():
        generate_keys()


def issue(client, enrolment, language="both"):
    return client.post(
        f"/enrolments/{enrolment.id}/certificate",
        data={"language": language},
        follow_redirects=True,
    )


def test_issue_a_certificate(client, admin, db, flashes):
    enrolment = eligible_enrolment()
    before = db.session.scalar(select(SerialCounter.last_number).where(SerialCounter.year == YEAR))
    page = issue(client, enrolment).get_data(as_text=True)
    certificate = db.session.scalar(select(Certificate))
    number = (before or 0) + 1
    assert certificate.serial == f"CA-{YEAR}-{number:04d}"
    assert f"ออกวุฒิบัตรเลขที่ {certificate.serial} แล้ว" in "".join(flashes(page))
    assert re.fullmatch(r"[A-Z2-7]{32}", certificate.code)  # 160 random bits
    assert certificate.status is CertificateStatus.VALID and certificate.issued_by_id == admin.id
    with storage().open(certificate.pdf_key) as file:
        stored = file.read()
    assert hashlib.sha256(stored).hexdigest() == certificate.pdf_sha256
    assert certificate.snapshot["learner"]["name_th"] == enrolment.learner.full_name_th
    assert [m["hours"] for m in certificate.snapshot["modules"]] == [6, 6, 6, 6, 9, 6, 6]
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.issue"))
    assert audit.details["serial"] == certificate.serial


def test_an_ineligible_learner_is_refused_with_what_is_missing(client, admin, db, flashes):
    enrolment = EnrolmentFactory()
    counter = db.session.scalar(select(func.sum(SerialCounter.last_number))) or 0
    files = sum(1 for _ in (storage().root).rglob("*.pdf")) if storage().root.exists() else 0
    page = issue(client, enrolment).get_data(as_text=True)
    assert "ยังไม่มีสิทธิ์รับวุฒิบัตร" in "".join(flashes(page))
    assert "กลุ่มวิชาที่ 1" in "".join(flashes(page))
    assert count_rows(Certificate) == 0
    assert (db.session.scalar(select(func.sum(SerialCounter.last_number))) or 0) == counter
    assert sum(1 for _ in storage().root.rglob("*.pdf")) == files


def test_a_second_valid_certificate_is_refused(client, admin, db, flashes):
    enrolment = eligible_enrolment()
    issue(client, enrolment)
    page = issue(client, enrolment).get_data(as_text=True)
    assert "มีวุฒิบัตรเลขที่" in "".join(flashes(page))
    assert count_rows(Certificate) == 1


def test_the_pdf_reads_back_exactly_and_its_qr_leads_to_the_verify_page(
    app, client, admin, db, tmp_path, pdf_fonts, pdf_text, qr_codes
):
    enrolment = eligible_enrolment(
        full_name_th=f"นาย{THAI_NAMES}", full_name_en="<script>alert(1)</script> {{7*7}}"
    )
    issue(client, enrolment)
    certificate = db.session.scalar(select(Certificate))
    pdf = client.get(f"/certificates/{certificate.id}/pdf").data
    for mode in ("-raw", "", "-layout"):
        text = pdf_text(pdf, tmp_path, mode)
        assert f"นาย{THAI_NAMES}" in text, mode
        assert "<script>alert(1)</script> {{7*7}}" in text, mode
        assert "วุฒิบัตร" in text and "หลักสูตรนักจัดการเมืองแห่งการเรียนรู้" in text, mode
        assert "จำนวน 45 ชั่วโมง" in text and f"CA-{YEAR}-" in text, mode
    assert f"{local_today().day} " in pdf_text(pdf, tmp_path) and str(YEAR) in pdf_text(
        pdf, tmp_path
    )
    assert qr_codes(pdf, tmp_path) == [f"{app.config['LCA_PUBLIC_URL']}/verify/{certificate.code}"]
    fonts = pdf_fonts(pdf, tmp_path)
    assert "Sarabun" in fonts and "yes yes" in fonts  # embedded and subset
    # The same name is text, not markup, on the web.
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}" in page and "<script>alert" not in page


@pytest.mark.parametrize(
    ("language", "present", "absent"),
    [
        ("th", ["วุฒิบัตร", "ให้ไว้ ณ วันที่"], ["Certificate of Completion", "Given on"]),
        ("en", ["Certificate of Completion", "Given on"], ["ให้ไว้เพื่อแสดงว่า"]),
        ("both", ["วุฒิบัตร", "Certificate of Completion", "Given on"], []),
    ],
)
def test_the_admin_chooses_thai_english_or_both(
    client, admin, db, tmp_path, language, present, absent, pdf_text
):
    issue(client, eligible_enrolment(), language)
    certificate = db.session.scalar(select(Certificate))
    text = pdf_text(client.get(f"/certificates/{certificate.id}/pdf").data, tmp_path)
    assert all(p in text for p in present) and not any(a in text for a in absent)
    if language == "en":
        assert f"Given on {local_today().day} " in text and str(local_today().year) in text


def test_the_issued_pdf_is_frozen(client, admin, db):
    enrolment = eligible_enrolment(full_name_th="ชื่อเดิม ตอนออก")
    issue(client, enrolment)
    certificate = db.session.scalar(select(Certificate))
    first = client.get(f"/certificates/{certificate.id}/pdf").data
    enrolment.learner.full_name_th = "ชื่อใหม่ ภายหลัง"
    db.session.flush()
    again = client.get(f"/verify/{certificate.code}/certificate.pdf").data
    assert again == first and hashlib.sha256(again).hexdigest() == certificate.pdf_sha256
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "ชื่อเดิม ตอนออก" in page and "ชื่อใหม่" not in page


def test_verify_page_valid_then_revoked(client, admin, db, field_error, flashes):
    issue(client, eligible_enrolment())
    certificate = db.session.scalar(select(Certificate))
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "วุฒิบัตรนี้ถูกต้องและใช้ได้" in page and certificate.serial in page
    assert certificate.pdf_sha256 in page and "ปฏิบัติการจริงบนพื้นที่" in page
    form = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": " "})
    page = form.get_data(as_text=True)
    assert "ระบุเหตุผล" in field_error(page, "revoke-reason")  # next to the revoke form's field
    assert field_error(page, "reissue-reason") == ""
    client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ข้อมูลชั่วโมงผิด"})
    db.session.refresh(certificate)
    assert certificate.status is CertificateStatus.REVOKED
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "วุฒิบัตรนี้ถูกเพิกถอนเมื่อ" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.revoke"))
    again = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ซ้ำ"})
    assert "เพิกถอนได้เฉพาะวุฒิบัตรที่ยังใช้ได้" in "".join(flashes(again.get_data(as_text=True)))


def test_reissue_after_a_name_correction(client, admin, db, tmp_path, pdf_text):
    enrolment = eligible_enrolment(full_name_th="สมชาย สะกดผิด")
    issue(client, enrolment)
    old = db.session.scalar(select(Certificate))
    enrolment.learner.full_name_th = "สมชาย สะกดถูก"
    db.session.flush()
    response = client.post(f"/certificates/{old.id}/reissue", data={"reason": "แก้ชื่อสะกดผิด"})
    assert response.status_code == 302
    db.session.expire_all()
    new = db.session.scalar(select(Certificate).where(Certificate.id != old.id))
    assert (old.status, old.superseded_by_id) == (CertificateStatus.SUPERSEDED, new.id)
    assert (new.status, new.replaces_id, new.reissue_reason) == (
        CertificateStatus.VALID,
        old.id,
        "แก้ชื่อสะกดผิด",
    )
    assert new.serial != old.serial and new.code != old.code
    assert "สมชาย สะกดถูก" in pdf_text(client.get(f"/certificates/{new.id}/pdf").data, tmp_path)
    page = client.get(f"/verify/{old.code}").get_data(as_text=True)
    assert "วุฒิบัตรนี้ถูกแทนที่แล้ว" in page and f"/verify/{new.code}" in page


@pytest.mark.parametrize(
    "code",
    [
        "",
        "x",
        "A" * 32,
        "not-a-code-at-all!",
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ1",
        "%27%20OR%201=1--",
        "near",
    ],
)
def test_unknown_codes_all_get_the_same_answer(client, admin, db, code):
    issue(client, eligible_enrolment())
    real = db.session.scalar(select(Certificate)).code
    if code == "near":
        code = real[:-1] + ("A" if real[-1] != "A" else "B")
    if not code:
        response = client.get("/verify?code=")
        assert response.status_code == 200  # the form asks for a code
        return
    response = client.get(f"/verify/{code}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "ไม่พบวุฒิบัตรที่มีรหัสนี้" in body and real not in body
    reference = client.get("/verify/" + "B" * 32).get_data(as_text=True)
    assert _without_code(body, code) == _without_code(reference, "B" * 32)
    for suffix in ("certificate.pdf", "credential.json", "credential.jwt"):
        assert client.get(f"/verify/{code}/{suffix}").status_code == 404


def _without_code(page: str, code: str) -> str:
    """The page without the path that was asked for (it appears in the language links), nor
    the sign-out form's CSRF token (signed with the time: two requests a second apart differ)."""
    page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)
    return re.sub(r"/verify/[^\"?]*", "/verify/…", page)


def test_the_verify_form_accepts_the_code_as_printed(client, admin, db):
    issue(client, eligible_enrolment())
    certificate = db.session.scalar(select(Certificate))
    printed = certificate.snapshot["code_display"].lower()
    response = client.get("/verify", query_string={"code": f"  {printed} "})
    assert response.headers["Location"].endswith(f"/verify/{certificate.code}")
    assert normalise_code(printed) == certificate.code
    response = client.get("/verify", query_string={"code": "ผิด"})
    assert response.status_code == 404 and "ไม่พบวุฒิบัตรที่มีรหัสนี้" in response.get_data(as_text=True)


def test_switching_language_on_the_empty_verify_form_shows_no_error(client, db):
    """A visitor who switches to English before typing a code sees the form, not an error."""
    for query in ({"lang": "en"}, {"lang": "th"}, {"utm_source": "poster"}):
        response = client.get("/verify", query_string=query)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Type the code printed on the certificate." not in page
        assert "พิมพ์รหัสที่อยู่บนวุฒิบัตร" not in page and 'aria-invalid="true"' not in page
    empty = client.get("/verify", query_string={"code": "", "lang": "en"}).get_data(as_text=True)
    assert "Type the code printed on the certificate." in empty  # a submitted empty code is


def test_verification_is_rate_limited(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_VERIFY_RATE_LIMIT", "3 per minute")
    codes = [
        client.get("/verify/" + "C" * 32, environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code
        for _ in range(5)
    ]
    assert codes == [404, 404, 404, 429, 429]
    other = client.get("/verify/" + "C" * 32, environ_base={"REMOTE_ADDR": "198.51.100.8"})
    assert other.status_code == 404


def test_issue_all_prints_and_zips_the_cohort(client, admin, db, tmp_path, pdf_text):
    first = eligible_enrolment()
    second = eligible_enrolment(cohort=first.cohort)
    EnrolmentFactory(cohort=first.cohort)  # not eligible
    response = client.post(
        f"/cohorts/{first.cohort_id}/certificates/issue", data={"language": "th"}
    )
    page = response.get_data(as_text=True)
    assert page.count("ออกแล้ว</li>") == 2 and "เสร็จแล้ว" in page
    certificates = db.session.scalars(select(Certificate).order_by(Certificate.serial_number)).all()
    assert {c.enrolment_id for c in certificates} == {first.id, second.id}
    printed = client.get(f"/cohorts/{first.cohort_id}/certificates.pdf")
    assert printed.headers["Content-Type"] == "application/pdf"
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(printed.data)).pages) == 2
    text = pdf_text(printed.data, tmp_path)
    assert all(c.serial in text for c in certificates)
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(f"/cohorts/{first.cohort_id}/certificates.zip").data)
    )
    assert sorted(archive.namelist()) == sorted(f"{c.serial}.pdf" for c in certificates)
    with storage().open(certificates[0].pdf_key) as file:
        assert archive.read(f"{certificates[0].serial}.pdf") == file.read()


def test_the_cohort_page_says_who_is_eligible_and_why_others_are_not(client, admin, db):
    ready = eligible_enrolment(full_name_th="พร้อม รับวุฒิบัตร")
    EnrolmentFactory(cohort=ready.cohort)
    page = client.get(f"/cohorts/{ready.cohort_id}/certificates").get_data(as_text=True)
    assert "ผู้เรียน 1 คนมีสิทธิ์และยังไม่ได้รับวุฒิบัตร" in page
    assert "กลุ่มวิชาที่ 1: ยังต้องได้รับอนุมัติอีก 6 ชั่วโมง" in page
    admin_home = client.get("/admin/").get_data(as_text=True)
    assert "ผู้เรียน 1 คนมีสิทธิ์รับวุฒิบัตร" in admin_home


def test_learners_download_their_own_certificate_only(client, login, admin, db):
    mine, theirs = eligible_enrolment(), eligible_enrolment()
    issue(client, mine)
    issue(client, theirs)
    own, other = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    login(mine.learner)
    assert "ดาวน์โหลดวุฒิบัตรของฉัน" in client.get("/learner").get_data(as_text=True)
    assert client.get(f"/certificates/{own.id}/pdf").status_code == 200
    assert client.get(f"/certificates/{other.id}/pdf").status_code == 403
    assert client.get(f"/certificates/{other.id}").status_code == 403


def test_the_command_line_issues_revokes_and_prints(app, db, tmp_path):
    ready = eligible_enrolment(email="ready@example.org")
    EnrolmentFactory(cohort=ready.cohort, learner=LearnerFactory(email="early@example.org"))
    db.session.commit()  # the commands share this session and roll back what they refuse
    runner = app.test_cli_runner()
    code = ready.cohort.code
    refused = runner.invoke(
        args=["lca", "certificates", "issue", "--cohort", code, "--email", "early@example.org"]
    )
    assert refused.exit_code == 1 and "not eligible yet" in refused.output
    unknown = runner.invoke(args=["lca", "certificates", "issue", "--cohort", "NO-SUCH"])
    assert unknown.exit_code != 0 and "No cohort has the code" in unknown.output
    issued = runner.invoke(args=["lca", "certificates", "issue", "--cohort", code])
    assert issued.exit_code == 0, issued.output
    certificate = db.session.scalar(select(Certificate))
    assert f"{certificate.serial}\tready@example.org\t" in issued.output
    assert (
        f"/verify/{certificate.code}" in issued.output and "1 issued, 0 refused." in issued.output
    )
    out = tmp_path / "print.pdf"
    printed = runner.invoke(
        args=["lca", "certificates", "print", "--cohort", code, "--out", str(out)]
    )
    assert printed.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    no_reason = runner.invoke(
        args=["lca", "certificates", "revoke", certificate.serial, "--reason", " "]
    )
    assert no_reason.exit_code != 0 and "Give the reason" in no_reason.output
    revoked = runner.invoke(
        args=["lca", "certificates", "revoke", certificate.serial, "--reason", "issued by mistake"]
    )
    assert revoked.exit_code == 0
    db.session.refresh(certificate)
    assert certificate.status is CertificateStatus.REVOKED
    assert (
        db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "certificate.revoke")
        ).origin
        == "cli"
    )
    again = runner.invoke(
        args=["lca", "certificates", "revoke", certificate.serial, "--reason", "twice"]
    )
    assert again.exit_code != 0 and "Only a valid certificate" in again.output
    missing = runner.invoke(args=["lca", "certificates", "revoke", "CA-0000-0000", "--reason", "x"])
    assert missing.exit_code != 0


def test_revoke_reissue_and_issue_all_ask_for_confirmation_with_what_will_happen(client, admin, db):
    """The destructive buttons say what will happen (data-confirm) and look dangerous."""
    enrolment = eligible_enrolment()
    cohort_page = client.get(f"/cohorts/{enrolment.cohort.id}/certificates").get_data(as_text=True)
    issue_all = re.search(r"<button[^>]*>ออกวุฒิบัตร[^<]*ทุกคน[^<]*</button>", cohort_page)
    assert issue_all is not None, cohort_page
    assert "button-danger" in issue_all.group(0)
    assert 'data-confirm="จะออกวุฒิบัตร 1 ฉบับทันที' in issue_all.group(0)
    issue(client, enrolment)
    certificate = db.session.scalar(select(Certificate))
    page = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    buttons = re.findall(r"<button [^>]*>[^<]*</button>", page)
    reissue = next(b for b in buttons if "ออกฉบับใหม่</button>" in b)
    revoke = next(b for b in buttons if "เพิกถอน</button>" in b)
    assert "button-danger" in reissue and "button-danger" in revoke
    assert f'data-confirm="วุฒิบัตรเลขที่ {certificate.serial} จะไม่มีผลอีกต่อไป' in reissue
    assert f'data-confirm="วุฒิบัตรเลขที่ {certificate.serial} จะถูกเพิกถอนอย่างถาวร' in revoke
