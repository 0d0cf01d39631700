"""Field-work assessment: a learner hands in a report, an instructor grades it with the rubric,
the learner revises and passes; every bad input is refused and nothing is written."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from lca.assessment.services import ReportDraft, submit_report
from lca.core.errors import RuleError
from lca.models import (
    AuditEvent,
    FieldReport,
    Grade,
    GradeResult,
    GradeScore,
    ReportFile,
    ReportReopening,
    ReportStatus,
    Rubric,
)
from tests.factories import (
    AdminFactory,
    CohortFactory,
    EnrolmentFactory,
    FieldReportFactory,
    GradeFactory,
    HourLogFactory,
    InstructorFactory,
    count_rows,
    current_rubric,
    instructor_teaching,
    module,
    multipart,
    tiny_jpeg,
)


def report_form(
    log_ids, summary="ชวนชุมชนทำแผนที่แหล่งเรียนรู้ และเรียนรู้ว่าต้องฟังเยาวชนมากขึ้น", files=None, **extra
):
    data = {"summary": summary, "log_ids": [str(i) for i in log_ids], "files": files or []}
    data.update(extra)
    return multipart(data)


@pytest.fixture
def learner_with_logs(learner_enrolment, db):
    """The signed-in learner's enrolment, with two field-practice logs."""
    enrolment = learner_enrolment
    logs = [
        HourLogFactory(
            enrolment=enrolment, module=module(5), worked_on=enrolment.field_window_starts_on
        )
        for _ in range(2)
    ]
    return enrolment, logs


def test_hand_in_a_report_with_logs_and_an_attachment(client, learner_with_logs, db):
    enrolment, logs = learner_with_logs
    files = [(io.BytesIO(tiny_jpeg()), "เวที.jpg")]
    response = client.post("/field-report", **report_form([logs[0].id], files=files))
    assert response.status_code == 302
    report = db.session.scalar(select(FieldReport))
    assert (report.enrolment_id, report.status) == (enrolment.id, ReportStatus.SUBMITTED)
    assert [
        log.id
        for log in db.session.scalars(
            select(FieldReport.logs.property.mapper.class_).join(FieldReport.logs)
        )
    ] == [logs[0].id]
    assert count_rows(ReportFile) == 1
    page = client.get("/field-report").get_data(as_text=True)
    assert "รอการประเมิน" in page and "คุณยังแก้ไขได้จนกว่าจะได้รับการประเมิน" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "field_report.submit"))


@pytest.mark.parametrize(
    ("kind", "field", "message"),
    [
        ("no summary", "summary", "เขียนสรุปงานภาคสนามของคุณ"),
        ("no logs", "log_ids", "เลือกบันทึกภาคสนามที่รายงานนี้อ้างถึง"),
        ("foreign log", "log_ids", "ตัวเลือกไม่ถูกต้อง"),
        ("classroom log", "log_ids", "ตัวเลือกไม่ถูกต้อง"),
        ("bad file", "files", "ไม่ใช่รูปภาพ"),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_written(
    client, learner_with_logs, db, kind, field, message, field_error
):
    enrolment, logs = learner_with_logs
    ids = [logs[0].id]
    summary = "สรุป"
    files = None
    if kind == "no summary":
        summary = "   "
    elif kind == "no logs":
        ids = []
    elif kind == "foreign log":
        ids = [HourLogFactory(module=module(5)).id]
    elif kind == "classroom log":
        ids = [HourLogFactory(enrolment=enrolment, module=module(1)).id]
    else:
        files = [(io.BytesIO(b"MZ\x90\x00" * 50), "report.pdf")]
    page = client.post("/field-report", **report_form(ids, summary=summary, files=files))
    assert message in field_error(page.get_data(as_text=True), field)
    assert (count_rows(FieldReport), count_rows(ReportFile)) == (0, 0)


def test_a_report_for_another_enrolment_is_refused(app, client, learner_with_logs, db):
    enrolment, logs = learner_with_logs
    other = EnrolmentFactory()
    client.post(f"/field-report?enrolment={other.id}", **report_form([logs[0].id]))
    assert (
        db.session.scalar(select(func.count()).where(FieldReport.enrolment_id == other.id)) == 0
    )  # the foreign id is ignored
    with app.test_request_context(), pytest.raises(RuleError, match="กำลังเรียน"):
        submit_report(other, ReportDraft("สรุป", [logs[0].id]), [], enrolment.learner)


def test_a_second_report_for_one_enrolment_is_refused(app, learner_with_logs, db):
    enrolment, logs = learner_with_logs
    FieldReportFactory(enrolment=enrolment)
    with app.test_request_context(), pytest.raises(RuleError, match="ส่งรายงานไปแล้ว"):
        submit_report(enrolment, ReportDraft("สรุป", [logs[0].id]), [], enrolment.learner)


def test_change_until_graded_then_locked(client, learner_with_logs, db, flashes):
    enrolment, logs = learner_with_logs
    report = FieldReportFactory(enrolment=enrolment, logs=[logs[0]])
    client.post("/field-report", **report_form([logs[0].id, logs[1].id], summary="ฉบับแก้ไข"))
    db.session.refresh(report)
    assert report.summary == "ฉบับแก้ไข" and report.status is ReportStatus.SUBMITTED
    for final in (ReportStatus.PASSED, ReportStatus.FAILED):
        report.status = final
        db.session.flush()
        page = client.post("/field-report", **report_form([logs[0].id], summary="อีกครั้ง"))
        assert "จึงแก้ไขไม่ได้" in "".join(flashes(page.get_data(as_text=True)))
        db.session.refresh(report)
        assert (report.summary, report.status) == ("ฉบับแก้ไข", final)


def grade_data(rubric, points=None, comments=None, result="pass", feedback=""):
    points = points or [c.max_points for c in rubric.criteria]
    data = {"result": result, "feedback": feedback}
    for criterion, value in zip(rubric.criteria, points, strict=True):
        data[f"points_{criterion.id}"] = "" if value is None else str(value)
        data[f"comment_{criterion.id}"] = (comments or {}).get(criterion.number, "")
    return data


@pytest.fixture
def grading(client, login, db):
    """An instructor signed in, with a submitted report of the cohort they teach."""
    taught = instructor_teaching()
    report = FieldReportFactory(enrolment=taught.enrolment)
    login(taught.instructor)
    return taught.instructor, report, current_rubric()


def test_grade_a_report(client, grading, db):
    instructor, report, rubric = grading
    points = [17, 16, 18, 20, 12]
    response = client.post(
        f"/field-reports/{report.id}/grade",
        data=grade_data(rubric, points, comments={1: "ใช้ข้อมูลเมืองดีมาก"}, feedback="ยอดเยี่ยม"),
    )
    assert response.status_code == 302
    db.session.refresh(report)
    grade = db.session.scalar(select(Grade))
    assert (report.status, report.assessor_id) == (ReportStatus.PASSED, instructor.id)
    assert (grade.total_points, grade.rubric_id, grade.grader_id) == (83, rubric.id, instructor.id)
    assert count_rows(GradeScore) == len(rubric.criteria)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "field_report.grade"))
    assert event.details == {"result": "pass", "total": 83, "rubric_version": rubric.version}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"points": [-1, 16, 18, 20, 12]}, "points_{0}", "ให้คะแนนตั้งแต่ 0 ถึง 20"),
        ({"points": [21, 16, 18, 20, 12]}, "points_{0}", "ให้คะแนนตั้งแต่ 0 ถึง 20"),
        ({"points": [None, 16, 18, 20, 12]}, "points_{0}", "ให้คะแนนให้ครบทุกเกณฑ์"),
        ({"points": ["สิบ", 16, 18, 20, 12]}, "points_{0}", "ต้องเป็นจำนวนเต็ม"),
        ({"points": [10, 10, 10, 10, 10]}, "result", "ผลผ่านต้องได้อย่างน้อย 60 คะแนน"),
        ({"points": [20, 20, 20, 0, 0], "result": "fail"}, "result", "จึงให้ไม่ผ่านไม่ได้"),
        ({"result": "revise"}, "feedback", "ระบุสิ่งที่ผู้เรียนควรปรับปรุง"),
        ({"result": "excellent"}, "result", "ตัวเลือกไม่ถูกต้อง"),
    ],
)
def test_bad_grades_are_refused_and_nothing_is_written(
    client, grading, db, change, field, message, field_error
):
    _instructor, report, rubric = grading
    data = grade_data(rubric, change.get("points"), result=change.get("result", "pass"))
    page = client.post(f"/field-reports/{report.id}/grade", data=data).get_data(as_text=True)
    field_id = field.format(rubric.criteria[0].id)
    assert message in field_error(page, field_id)
    db.session.refresh(report)
    assert report.status is ReportStatus.SUBMITTED
    assert (count_rows(Grade), count_rows(GradeScore)) == (0, 0)


@pytest.mark.parametrize("status", [ReportStatus.REVISE, ReportStatus.PASSED, ReportStatus.FAILED])
def test_only_a_report_waiting_to_be_graded_can_be_graded(client, grading, db, status, flashes):
    _instructor, report, rubric = grading
    report.status = status
    db.session.flush()
    page = client.post(f"/field-reports/{report.id}/grade", data=grade_data(rubric))
    assert "ประเมินได้เฉพาะรายงานที่รอการประเมิน" in "".join(flashes(page.get_data(as_text=True)))
    assert count_rows(Grade) == 0


def test_grading_another_cohort_is_forbidden(client, grading, db):
    _instructor, _report, rubric = grading
    other = FieldReportFactory()
    assert (
        client.post(f"/field-reports/{other.id}/grade", data=grade_data(rubric)).status_code == 403
    )
    assert count_rows(Grade) == 0


def test_revise_resubmit_and_pass_keeps_every_grading(client, login, grading, db):
    instructor, report, rubric = grading
    client.post(
        f"/field-reports/{report.id}/grade",
        data=grade_data(rubric, [10, 10, 10, 10, 5], result="revise", feedback="เพิ่มหลักฐานการสื่อสาร"),
    )
    db.session.refresh(report)
    assert report.status is ReportStatus.REVISE
    login(report.enrolment.learner)
    page = client.get("/field-report").get_data(as_text=True)
    assert "เพิ่มหลักฐานการสื่อสาร" in page and "45 จาก 100 คะแนน" in page
    log_id = db.session.scalar(
        select(FieldReport.logs.property.mapper.class_.id)
        .join(FieldReport.logs)
        .where(FieldReport.id == report.id)
    )
    client.post("/field-report", **report_form([log_id], summary="ฉบับปรับปรุง"))
    db.session.refresh(report)
    assert report.status is ReportStatus.SUBMITTED
    login(instructor)
    client.post(f"/field-reports/{report.id}/grade", data=grade_data(rubric, [15, 15, 15, 20, 10]))
    db.session.refresh(report)
    assert report.status is ReportStatus.PASSED
    totals = list(db.session.scalars(select(Grade.total_points).order_by(Grade.id)))
    assert totals == [45, 75]
    page = client.get(f"/field-reports/{report.id}").get_data(as_text=True)
    assert "45 จาก 100 คะแนน" in page and "75 จาก 100 คะแนน" in page


def test_a_new_rubric_version_leaves_old_grades_alone(client, grading, db, tmp_path):
    import shutil

    import yaml

    from lca.core.seed_files import SEED_DIR
    from lca.ops.seeding import seed_all

    _instructor, report, rubric = grading
    client.post(f"/field-reports/{report.id}/grade", data=grade_data(rubric))
    seed = tmp_path / "seed"
    shutil.copytree(SEED_DIR, seed)
    data = yaml.safe_load((seed / "rubric.yaml").read_text(encoding="utf-8"))
    data["pass_mark"] = 70
    (seed / "rubric.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert seed_all(seed).counts["rubric"]["created"] == 1
    assert seed_all(seed).counts["rubric"]["unchanged"] == 1
    newest = db.session.scalar(select(Rubric).order_by(Rubric.version.desc()).limit(1))
    assert (newest.version, newest.pass_mark) == (rubric.version + 1, 70)
    grade = db.session.scalar(select(Grade))
    assert grade.rubric_id == rubric.id and grade.rubric.pass_mark == 60


def test_admin_reassigns_and_only_the_assessor_grades(
    client, login, admin, db, field_error, flashes
):
    first, second, outsider = InstructorFactory(), InstructorFactory(), InstructorFactory()
    report = FieldReportFactory(
        enrolment=EnrolmentFactory(cohort=CohortFactory(instructors=[first, second]))
    )
    CohortFactory(instructors=[outsider])
    page = client.post(f"/field-reports/{report.id}/assign", data={"assessor_id": outsider.id})
    assert "ตัวเลือกไม่ถูกต้อง" in field_error(page.get_data(as_text=True), "assessor_id")
    assert (
        client.post(
            f"/field-reports/{report.id}/assign", data={"assessor_id": second.id}
        ).status_code
        == 302
    )
    db.session.refresh(report)
    assert report.assessor_id == second.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "field_report.reassign"))
    login(first)
    page = client.post(f"/field-reports/{report.id}/grade", data=grade_data(current_rubric()))
    assert "ประเมินได้เฉพาะผู้ประเมินของรายงานนี้" in "".join(flashes(page.get_data(as_text=True)))
    login(second)
    client.post(f"/field-reports/{report.id}/grade", data=grade_data(current_rubric()))
    db.session.refresh(report)
    assert report.status is ReportStatus.PASSED


def test_admins_see_every_report_and_grade(client, login, admin, db):
    report = FieldReportFactory()
    assert f"/field-reports/{report.id}" in client.get("/assessments").get_data(as_text=True)
    assert client.get(f"/field-reports/{report.id}").status_code == 200


def test_eligibility_needs_the_hours_and_a_pass(app, db):
    from datetime import timedelta

    from lca.hours.progress import progress_of
    from lca.models import LogStatus, Module

    enrolment = EnrolmentFactory()
    for number in range(1, 8):
        hours = db.session.scalar(select(Module.hours).where(Module.number == number))
        HourLogFactory(
            enrolment=enrolment,
            module=module(number),
            minutes=hours * 60,
            status=LogStatus.APPROVED,
            worked_on=enrolment.field_window_starts_on + timedelta(days=1),
        )
    report = FieldReportFactory(enrolment=enrolment, status=ReportStatus.REVISE)
    with app.test_request_context():
        [progress] = progress_of([enrolment])
        assert progress.hours_complete and not progress.is_eligible
        assert "ปรับปรุงรายงานภาคสนามตามที่วิทยากรแนะนำ" in progress.missing[-1]
        report.status = ReportStatus.PASSED
        db.session.flush()
        [progress] = progress_of([enrolment])
        assert progress.is_eligible
        assert not any("รายงานภาคสนาม" in step for step in progress.missing)


def test_the_rubric_is_public(client, db):
    page = client.get("/curriculum/rubric").get_data(as_text=True)
    assert "การอ่านข้อมูลและทุนของเมือง" in page and "60 คะแนนขึ้นไป" in page


# Grading errors name their criterion; the total; "1 hour" -----------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "ยังไม่ได้ให้คะแนน"),
        ("99", "ให้คะแนนตั้งแต่ 0 ถึง"),
        ("-3", "ให้คะแนนตั้งแต่ 0 ถึง"),
        ("สิบห้า", "คะแนนต้องเป็นจำนวนเต็ม"),
        ("1e5", "คะแนนต้องเป็นจำนวนเต็ม"),
        ("9" * 40, "ให้คะแนนตั้งแต่ 0 ถึง"),
    ],
)
def test_a_grading_error_names_its_criterion(client, grading, db, field_error, value, message):
    _instructor, report, rubric = grading
    third = rubric.criteria[2]
    points = [c.max_points for c in rubric.criteria]
    data = grade_data(rubric, points)
    data[f"points_{third.id}"] = value
    page = client.post(f"/field-reports/{report.id}/grade", data=data).get_data(as_text=True)
    error = field_error(page, f"points_{third.id}")
    assert message in error
    assert f"เกณฑ์ที่ 3 {third.name_th}" in error
    summary = page[
        page.index('class="error-summary"') : page.index("</ul>", page.index("error-summary"))
    ]
    assert f"เกณฑ์ที่ 3 {third.name_th}" in summary and "คะแนนเกณฑ์ที่ 3" in summary
    assert count_rows(Grade) == 0


def test_the_page_adds_up_the_points_typed(client, grading, db):
    """The grading form carries the total for the script (lca/static/js/grading.js) to keep up
    to date; when the page comes back with an error the server has added up what was typed."""
    _instructor, report, rubric = grading
    page = client.get(f"/field-reports/{report.id}").get_data(as_text=True)
    assert 'class="grade-total" id="grade-total">0</output>' in page
    assert "js/grading.js" in page and f'data-pass-mark="{rubric.pass_mark}"' in page
    assert page.count("data-points") == len(rubric.criteria)
    data = grade_data(rubric, [10, 10, 10, 10, 10])  # 50: below the pass mark, "pass" refused
    page = client.post(f"/field-reports/{report.id}/grade", data=data).get_data(as_text=True)
    assert 'id="grade-total">50</output>' in page
    assert "คะแนนรวมนี้ต่ำกว่าเกณฑ์ผ่าน" in page


def test_one_hour_reads_one_hour_in_english(client, grading, db):
    _instructor, report, _rubric = grading
    [log] = report.logs
    log.minutes = 60
    db.session.flush()
    url = f"/field-reports/{report.id}?lang=en"
    page = client.get(url, follow_redirects=True).get_data(as_text=True)
    assert "· 1 hour</a>" in page and "1 hours" not in page
    log.minutes = 90
    db.session.flush()
    assert "· 1.5 hours</a>" in client.get(f"/field-reports/{report.id}").get_data(as_text=True)


# A failed report reopened by an administrator --------------------------------------------------


def _fail(client, grading):
    _instructor, report, rubric = grading
    data = grade_data(rubric, [5, 5, 5, 5, 5], result="fail", feedback="ยังไม่มีหลักฐานงานในพื้นที่")
    assert client.post(f"/field-reports/{report.id}/grade", data=data).status_code == 302
    return report


def test_an_administrator_reopens_a_failed_report_and_the_learner_hands_in_a_new_one(
    client, login, grading, db, field_error, flashes
):
    instructor, report, rubric = grading
    [log_id] = [log.id for log in report.logs]
    _fail(client, grading)
    learner = report.enrolment.learner
    login(learner)
    page = client.get("/field-report").get_data(as_text=True)
    assert "เจ้าหน้าที่โครงการสามารถเปิดให้คุณส่งรายงานใหม่ได้" in page  # the way on is shown
    assert 'name="summary"' not in page
    admin = AdminFactory()
    login(admin)
    page = client.get(f"/field-reports/{report.id}").get_data(as_text=True)
    reopen = page[
        page.index('id="reopen-heading"') : page.index("</form>", page.index("reopen-heading"))
    ]
    assert 'class="button button-danger"' in reopen and "data-confirm=" in reopen
    # The reason is required; nothing changes without it.
    page = client.post(f"/field-reports/{report.id}/reopen", data={"reason": "  "})
    assert "ระบุเหตุผลที่เปิดให้ส่งรายงานใหม่" in field_error(page.get_data(as_text=True), "reason")
    db.session.refresh(report)
    assert report.status is ReportStatus.FAILED and count_rows(ReportReopening) == 0
    reason = "ผู้เรียนป่วยระหว่างช่วงปฏิบัติการ คณะกรรมการอนุญาตให้ส่งใหม่"
    response = client.post(f"/field-reports/{report.id}/reopen", data={"reason": reason})
    assert response.status_code == 302
    db.session.refresh(report)
    assert report.status is ReportStatus.REVISE
    reopening = db.session.scalar(select(ReportReopening))
    failed = db.session.scalar(select(Grade))
    assert (reopening.reason, reopening.grade_id, reopening.reopened_by_id) == (
        reason,
        failed.id,
        admin.id,
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "field_report.reopen"))
    assert event.details == {"reason": reason, "grade_id": failed.id}
    page = client.get(f"/field-reports/{report.id}").get_data(as_text=True)
    assert "ไม่นับผลการประเมินครั้งนี้อีกต่อไป" in page and reason in page
    # A second reopening is refused: the report is no longer failed.
    page = client.post(
        f"/field-reports/{report.id}/reopen", data={"reason": reason}, follow_redirects=True
    )
    assert "เปิดให้ส่งใหม่ได้เฉพาะรายงานที่ผลการประเมินไม่ผ่าน" in " ".join(
        flashes(page.get_data(as_text=True))
    )
    # The learner sees why and hands in a new report; it is graded anew and passes.
    login(learner)
    page = client.get("/field-report").get_data(as_text=True)
    assert "เจ้าหน้าที่โครงการเปิดให้คุณส่งรายงานใหม่" in page and reason in page
    client.post("/field-report", **report_form([log_id], summary="รายงานฉบับใหม่"))
    db.session.refresh(report)
    assert (report.status, report.summary) == (ReportStatus.SUBMITTED, "รายงานฉบับใหม่")
    login(instructor)
    client.post(f"/field-reports/{report.id}/grade", data=grade_data(rubric))
    db.session.refresh(report)
    assert report.status is ReportStatus.PASSED
    # The failed grade is kept in the history.
    results = [g.result.value for g in db.session.scalars(select(Grade).order_by(Grade.id))]
    assert results == ["fail", "pass"]


@pytest.mark.parametrize(
    "status", [ReportStatus.SUBMITTED, ReportStatus.REVISE, ReportStatus.PASSED]
)
def test_only_a_failed_report_can_be_reopened(client, admin, db, status, flashes):
    report = FieldReportFactory(status=status)
    page = client.post(
        f"/field-reports/{report.id}/reopen", data={"reason": "ขอส่งใหม่"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "เปิดให้ส่งใหม่ได้เฉพาะรายงานที่ผลการประเมินไม่ผ่าน" in " ".join(flashes(page))
    db.session.refresh(report)
    assert report.status is status and count_rows(ReportReopening) == 0


def test_a_fail_asks_for_confirmation_in_the_browser(client, grading, db):
    _instructor, report, _rubric = grading
    page = client.get(f"/field-reports/{report.id}").get_data(as_text=True)
    button = page[
        page.index('class="button grade-submit"') : page.index(
            "</button>", page.index("grade-submit")
        )
    ]
    assert "data-confirm-fail=" in button and "ผลไม่ผ่านเป็นผลสิ้นสุด" in button


# Staff read about the learner; the learner is spoken to -----------------------------------------


def test_staff_pages_speak_about_the_learner(client, login, db):
    taught = instructor_teaching()
    enrolment = taught.enrolment
    FieldReportFactory(enrolment=enrolment, status=ReportStatus.FAILED)
    login(taught.instructor)
    page = client.get(f"/enrolments/{enrolment.id}").get_data(as_text=True)
    assert "รายงานภาคสนามของผู้เรียนไม่ผ่านการประเมิน" in page
    assert "ของคุณ" not in page
    assert "ผู้เรียนยังต้องทำงานในพื้นที่อีก" in page
    login(enrolment.learner)
    page = client.get("/learner").get_data(as_text=True)
    assert "รายงานภาคสนามของคุณไม่ผ่านการประเมิน" in page
    assert "ของผู้เรียน" not in page


@pytest.mark.parametrize("reason", ["", "\n\t ", "ก" * 2001])
def test_a_bad_reopening_reason_is_refused_and_nothing_is_written(
    client, admin, db, reason, field_error
):
    report = FieldReportFactory(status=ReportStatus.FAILED)
    GradeFactory(field_report=report, result=GradeResult.FAIL, total_points=10)
    page = client.post(f"/field-reports/{report.id}/reopen", data={"reason": reason})
    assert page.status_code == 200
    assert field_error(page.get_data(as_text=True), "reason")
    db.session.refresh(report)
    assert report.status is ReportStatus.FAILED and count_rows(ReportReopening) == 0
