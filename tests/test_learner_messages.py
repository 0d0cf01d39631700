"""What learners are told: a log rejected, the field report graded, a certificate issued,
revoked or superseded, the field window extended. Each change records one message in the same
transaction; the worker delivers it to a real SMTP server, once, in the learner's language,
naming the thing, with a link that works in the app."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from lca.assessment.services import Score, grade_report
from lca.certificates.keys import generate_keys
from lca.certificates.services import (
    issue_certificate,
    issue_for_cohort,
    reissue_certificate,
    revoke_certificate,
)
from lca.cohorts.field_window import extend_field_window
from lca.core.errors import RuleError
from lca.hours.services import answer_question, reject_log, return_log, withdraw_log
from lca.models import (
    CertificateLanguage,
    EmailStatus,
    GradeResult,
    LogStatus,
    Message,
    MessageKind,
    ReportStatus,
)
from tests.factories import (
    AdminFactory,
    CertificateFactory,
    EnrolmentFactory,
    FieldReportFactory,
    HourLogFactory,
    LearnerFactory,
    count_rows,
    current_rubric,
    eligible_enrolment,
    instructor_teaching,
    module,
)

PUBLIC_URL = "http://127.0.0.1:5000"
LANGUAGES = ["th", "en"]


@pytest.fixture
def signing_key(app):
    with app.app_context():
        generate_keys()


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _address(learner) -> str:
    """The learner's name (in their language) and address."""
    name = learner.full_name_en if learner.preferred_language == "en" else learner.full_name_th
    return f"{name} <{learner.email}>"


def _one_mail_to(learner, arrived):
    """The single e-mail that arrived, to ``learner``: (subject, text, html)."""
    assert [str(m["To"]) for m in arrived] == [_address(learner)]
    mail = arrived[0]
    return (
        _subject(mail),
        mail.get_body(("plain",)).get_content(),
        mail.get_body(("html",)).get_content(),
    )


def _message(db, kind: MessageKind, about) -> Message:
    """The one message recorded, of ``kind``, about ``about``, sent."""
    message = db.session.scalars(select(Message)).one()
    assert message.kind is kind and message.email_status is EmailStatus.SENT
    assert (message.about_type, message.about_id) == (about.__tablename__, about.id)
    return message


def _works_in_the_app(client, login, learner, link: str, text: str, html: str) -> None:
    """The link is in both parts and opens a page (200) for the learner signed in."""
    assert link in text and link in html.replace("&amp;", "&")
    login(learner)
    assert client.get(link.removeprefix(PUBLIC_URL)).status_code == 200


def _both_parts_say(text: str, html: str, *phrases: str) -> None:
    for phrase in phrases:
        assert phrase in text, phrase
        assert phrase in html, phrase


def _learner(enrolment, language: str):
    learner = enrolment.learner
    learner.preferred_language = language
    return learner


# A log rejected ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "minutes", "hours"),
    [
        ("th", 60, "1 ชั่วโมง"),
        ("th", 150, "2.5 ชั่วโมง"),
        ("en", 60, "1 hour"),
        ("en", 150, "2.5 hours"),
    ],
)
def test_a_rejected_log_tells_its_learner_why(db, deliver, client, login, language, minutes, hours):
    teaching = instructor_teaching()
    learner = _learner(teaching.enrolment, language)
    log = HourLogFactory(enrolment=teaching.enrolment, module=module(2), minutes=minutes)
    reject_log(log, teaching.instructor, "  ภาพถ่ายไม่ใช่กิจกรรมนี้  ")
    db.session.commit()

    subject, text, html = _one_mail_to(learner, deliver())

    cohort = teaching.cohort.code
    if language == "th":
        assert subject.startswith("บันทึกชั่วโมงวันที่ ") and "ไม่ได้รับการอนุมัติ" in subject
        _both_parts_say(text, html, "กลุ่มวิชาที่ 2", module(2).title_th, f"รุ่น {cohort}")
        _both_parts_say(text, html, "ไม่อนุมัติบันทึก", teaching.instructor.full_name_th)
    else:
        assert subject.startswith("Your log of ") and subject.endswith("was not approved")
        _both_parts_say(text, html, "module 2", module(2).title_en, f"cohort {cohort}")
        _both_parts_say(text, html, "did not approve", teaching.instructor.full_name_en)
        assert "hours hour" not in text
    _both_parts_say(text, html, hours, "ภาพถ่ายไม่ใช่กิจกรรมนี้")
    assert str(log.worked_on.day) in subject
    message = _message(db, MessageKind.LOG_REJECTED, log)
    assert message.language == language and message.recipient_id == learner.id
    assert message.params["reason"] == "ภาพถ่ายไม่ใช่กิจกรรมนี้"
    assert deliver() == []
    _works_in_the_app(client, login, learner, f"{PUBLIC_URL}/hours/{log.id}", text, html)


def test_a_reason_is_text_in_both_parts_never_markup(db, deliver):
    teaching = instructor_teaching()
    log = HourLogFactory(enrolment=teaching.enrolment)
    reject_log(
        log, teaching.instructor, '<a href="http://evil.example">คลิก</a>\r\nBcc: x@evil.example'
    )
    db.session.commit()

    [mail] = deliver()

    html = mail.get_body(("html",)).get_content()
    assert "&lt;a href=" in html and '<a href="http://evil.example">' not in html
    assert '<a href="http://evil.example">' in mail.get_body(("plain",)).get_content()
    assert mail["Bcc"] is None


def test_a_refused_rejection_records_no_message(db, deliver):
    teaching = instructor_teaching()
    log = HourLogFactory(enrolment=teaching.enrolment)
    with pytest.raises(RuleError):
        reject_log(log, teaching.instructor, "   ")
    log.status = LogStatus.APPROVED
    with pytest.raises(RuleError):
        reject_log(log, teaching.instructor, "ซ้ำ")
    assert count_rows(Message) == 0
    db.session.commit()
    assert deliver() == []


def test_what_the_learner_does_themselves_sends_them_nothing(db, deliver):
    teaching = instructor_teaching()
    learner = teaching.enrolment.learner
    asked = HourLogFactory(enrolment=teaching.enrolment)
    return_log(asked, teaching.instructor, "ใครร่วมกิจกรรมบ้าง")
    db.session.commit()
    assert len(deliver()) == 1  # the question is the instructor's act
    answer_question(asked, "ผู้นำชุมชนสามคน", learner)
    withdraw_log(HourLogFactory(enrolment=teaching.enrolment), learner)
    db.session.commit()
    assert count_rows(Message) == 1
    assert deliver() == []


# The field report graded ---------------------------------------------------------------------


def _grade(report, grader, result: GradeResult, feedback: str = ""):
    rubric = current_rubric()
    points = (lambda c: 0) if result is GradeResult.FAIL else (lambda c: c.max_points)
    scores = {c.id: Score(points(c)) for c in rubric.criteria}
    return grade_report(report, grader, scores, result, feedback)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("result", "feedback", "thai", "english"),
    [
        (GradeResult.PASS, "", "ผ่านการประเมินแล้ว", "passed"),
        (GradeResult.REVISE, "เพิ่มภาพกิจกรรมเวทีประชาคม", "ต้องปรับปรุงแล้วส่งใหม่", "needs changes"),
        (GradeResult.FAIL, "ไม่มีหลักฐานการทำงานในพื้นที่", "ไม่ผ่านการประเมิน", "did not pass"),
    ],
)
def test_a_graded_report_tells_its_learner_the_result(
    db, deliver, client, login, language, result, feedback, thai, english
):
    teaching = instructor_teaching()
    learner = _learner(teaching.enrolment, language)
    report = FieldReportFactory(enrolment=teaching.enrolment)
    grade = _grade(report, teaching.instructor, result, feedback)
    db.session.commit()

    subject, text, html = _one_mail_to(learner, deliver())

    rubric, cohort, field = current_rubric(), teaching.cohort.code, module(5)
    points = f"{grade.total_points}"
    if language == "th":
        assert subject == f"รายงานภาคสนามของคุณ (รุ่น {cohort}) {thai}"
        _both_parts_say(text, html, f"กลุ่มวิชาที่ {field.number}", field.title_th, f"รุ่น {cohort}")
        _both_parts_say(text, html, f"ได้ {points} จาก {rubric.max_points} คะแนน")
        _both_parts_say(text, html, f"เกณฑ์ผ่าน {rubric.pass_mark} คะแนน")
    else:
        assert subject == f"Your field report (cohort {cohort}) {english}"
        _both_parts_say(text, html, f"module {field.number}", field.title_en, f"cohort {cohort}")
        _both_parts_say(text, html, f"{points} of {rubric.max_points} points")
    if feedback:
        _both_parts_say(text, html, feedback)
    if result is GradeResult.REVISE:
        what = "ปรับปรุงรายงาน" if language == "th" else "revise the report"
        _both_parts_say(text, html, what)
    if result is GradeResult.FAIL:  # final, but the way on is told: a reopening
        what = "เปิดให้คุณส่งรายงานใหม่ได้" if language == "th" else "can reopen the report"
        _both_parts_say(text, html, what)
    message = _message(db, MessageKind.REPORT_GRADED, report)
    assert message.params["result"] == result.value
    assert deliver() == []
    link = f"{PUBLIC_URL}/field-report?enrolment={teaching.enrolment.id}"
    _works_in_the_app(client, login, learner, link, text, html)


def test_a_refused_grade_records_no_message(db, deliver):
    teaching = instructor_teaching()
    report = FieldReportFactory(enrolment=teaching.enrolment)
    with pytest.raises(RuleError):
        _grade(report, teaching.instructor, GradeResult.REVISE, "")  # says nothing to change
    with pytest.raises(RuleError):
        _grade(report, instructor_teaching().instructor, GradeResult.PASS)  # not their cohort
    report.status = ReportStatus.PASSED
    with pytest.raises(RuleError):
        _grade(report, teaching.instructor, GradeResult.PASS)  # already graded
    assert count_rows(Message) == 0
    db.session.commit()
    assert deliver() == []


# Certificates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_issued_certificate_tells_its_learner_where_to_download_and_verify(
    db, deliver, client, login, signing_key, language
):
    enrolment = eligible_enrolment(preferred_language=language)
    learner = enrolment.learner
    certificate = issue_certificate(enrolment, AdminFactory())
    db.session.commit()

    subject, text, html = _one_mail_to(learner, deliver())

    cohort, serial = enrolment.cohort.code, certificate.serial
    hours = certificate.snapshot["total_hours"]
    if language == "th":
        assert subject == f"วุฒิบัตรเลขที่ {serial} ของคุณพร้อมแล้ว"
        _both_parts_say(text, html, f"({hours} ชั่วโมง) รุ่น {cohort}", "หน้าตรวจสอบ")
    else:
        assert subject == f"Your certificate {serial} is ready"
        _both_parts_say(text, html, f"({hours} hours), cohort {cohort}", "verification page")
    verify = f"{PUBLIC_URL}/verify/{certificate.code}"
    _both_parts_say(text, html, serial, verify, certificate.snapshot["code_display"])
    _message(db, MessageKind.CERTIFICATE_ISSUED, certificate)
    assert deliver() == []
    assert client.get(verify.removeprefix(PUBLIC_URL)).status_code == 200  # public
    download = f"{PUBLIC_URL}/certificates/{certificate.id}/pdf"
    _works_in_the_app(client, login, learner, download, text, html)


def test_a_batch_issue_tells_each_learner_once(db, deliver, signing_key):
    first = eligible_enrolment()
    second = eligible_enrolment(cohort=first.cohort, preferred_language="en")
    EnrolmentFactory(cohort=first.cohort)  # not eligible: nothing issued, nothing sent
    db.session.commit()
    for _enrolment, certificate, refusal in issue_for_cohort(
        first.cohort, AdminFactory(), CertificateLanguage.BOTH
    ):
        assert certificate is not None, refusal
        db.session.commit()

    arrived = deliver()

    assert sorted(str(m["To"]) for m in arrived) == sorted(
        _address(e.learner) for e in (first, second)
    )
    subjects = {str(m["To"]).split("<")[1].rstrip(">"): _subject(m) for m in arrived}
    assert subjects[first.learner.email].startswith("วุฒิบัตรเลขที่ ")
    assert subjects[second.learner.email].startswith("Your certificate ")
    assert {m.kind for m in db.session.scalars(select(Message))} == {MessageKind.CERTIFICATE_ISSUED}
    assert deliver() == []


def test_a_refused_issue_records_no_message(db, deliver, signing_key):
    with pytest.raises(RuleError):
        issue_certificate(EnrolmentFactory(), AdminFactory())  # not eligible
    issued = eligible_enrolment()
    CertificateFactory(enrolment=issued)
    with pytest.raises(RuleError):
        issue_certificate(issued, AdminFactory())  # already has one
    assert count_rows(Message) == 0
    db.session.commit()
    assert deliver() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_revoked_certificate_tells_its_learner_what_it_means(
    db, deliver, client, login, language
):
    learner = LearnerFactory(preferred_language=language)
    certificate = CertificateFactory(enrolment=EnrolmentFactory(learner=learner))
    revoke_certificate(certificate, AdminFactory(), "ออกให้ผิดรุ่น")
    db.session.commit()

    subject, text, html = _one_mail_to(learner, deliver())

    serial, cohort = certificate.serial, certificate.enrolment.cohort.code
    if language == "th":
        assert subject == f"วุฒิบัตรเลขที่ {serial} ของคุณถูกเพิกถอนแล้ว"
        _both_parts_say(text, html, f"รุ่น {cohort}", "ใช้ไม่ได้อีกต่อไป")
    else:
        assert subject == f"Your certificate {serial} has been revoked"
        _both_parts_say(text, html, f"cohort {cohort}", "no longer valid")
    _both_parts_say(text, html, "ออกให้ผิดรุ่น", f"{PUBLIC_URL}/verify/{certificate.code}")
    _message(db, MessageKind.CERTIFICATE_REVOKED, certificate)
    assert deliver() == []
    link = f"{PUBLIC_URL}/certificates/{certificate.id}"
    _works_in_the_app(client, login, learner, link, text, html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reissue_tells_its_learner_of_the_new_certificate(
    db, deliver, client, login, signing_key, language
):
    learner = LearnerFactory(preferred_language=language)
    old = CertificateFactory(enrolment=EnrolmentFactory(learner=learner))
    new = reissue_certificate(old, AdminFactory(), "แก้ชื่อสะกดผิด")
    db.session.commit()

    subject, text, html = _one_mail_to(learner, deliver())  # one: not "issued" as well

    if language == "th":
        assert subject == f"วุฒิบัตรเลขที่ {old.serial} ของคุณถูกแทนที่ด้วยฉบับใหม่เลขที่ {new.serial}"
        _both_parts_say(text, html, "ใช้ไม่ได้อีกต่อไป", "ฉบับใหม่")
    else:
        assert subject == f"Your certificate {old.serial} has been replaced by {new.serial}"
        _both_parts_say(text, html, "no longer valid", "new certificate")
    cohort = old.enrolment.cohort.code
    _both_parts_say(text, html, cohort, "แก้ชื่อสะกดผิด", f"{PUBLIC_URL}/verify/{new.code}")
    message = _message(db, MessageKind.CERTIFICATE_SUPERSEDED, old)
    assert message.link_args == {"certificate_id": new.id}
    assert deliver() == []
    assert client.get(f"/verify/{new.code}").status_code == 200
    _works_in_the_app(client, login, learner, f"{PUBLIC_URL}/certificates/{new.id}/pdf", text, html)


def test_a_refused_revocation_or_reissue_records_no_message(db, deliver, signing_key):
    certificate = CertificateFactory()
    admin = AdminFactory()
    with pytest.raises(RuleError):
        revoke_certificate(certificate, admin, " ")
    with pytest.raises(RuleError):
        reissue_certificate(certificate, admin, "")
    with pytest.raises(RuleError):
        revoke_certificate(certificate, LearnerFactory(), "ไม่ใช่ผู้ดูแลระบบ")
    assert count_rows(Message) == 0
    db.session.commit()
    assert deliver() == []


# The field window extended ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_extension_tells_the_learner_the_new_last_day_and_why(
    db, deliver, client, login, language
):
    enrolment = EnrolmentFactory(learner=LearnerFactory(preferred_language=language))
    learner = enrolment.learner
    previous = enrolment.field_window_ends_on
    extended_to = previous + timedelta(days=45)
    extend_field_window(enrolment, extended_to, "ลาคลอด", AdminFactory())
    db.session.commit()

    subject, text, html = _one_mail_to(learner, deliver())

    cohort, field = enrolment.cohort.code, module(5)
    if language == "th":
        assert subject.startswith("ช่วงปฏิบัติการในพื้นที่ของคุณขยายถึงวันที่ ")
        assert str(extended_to.year + 543) in subject
        _both_parts_say(text, html, f"รุ่น {cohort}", f"กลุ่มวิชาที่ {field.number}", field.title_th)
        _both_parts_say(text, html, str(previous.year + 543))
    else:
        assert subject.startswith("Your field window now runs until ")
        assert str(extended_to.year) in subject
        _both_parts_say(text, html, f"cohort {cohort}", f"module {field.number}", field.title_en)
    _both_parts_say(text, html, "ลาคลอด")
    message = _message(db, MessageKind.WINDOW_EXTENDED, enrolment)
    assert message.params["extended_to"] == extended_to.isoformat()
    assert message.params["previous_ends_on"] == previous.isoformat()
    assert deliver() == []
    _works_in_the_app(client, login, learner, f"{PUBLIC_URL}/learner", text, html)


def test_a_refused_extension_records_no_message(db, deliver):
    enrolment = EnrolmentFactory()
    admin = AdminFactory()
    with pytest.raises(RuleError):
        extend_field_window(enrolment, enrolment.field_window_ends_on, "ป่วย", admin)
    with pytest.raises(RuleError):
        extend_field_window(
            enrolment, enrolment.field_window_ends_on + timedelta(days=9), "", admin
        )
    assert count_rows(Message) == 0
    db.session.commit()
    assert deliver() == []
