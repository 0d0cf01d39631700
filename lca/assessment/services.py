"""The rules of field-work assessment: reports, gradings against the rubric, reassignment.

A result follows the score and the instructor's decision: a pass needs a total at or above
the pass mark; a fail is given only below it; "revise" may be given at any score and must say
what to change. Pass and fail are final; after "revise" the learner resubmits. An administrator
may reopen a failed report with a reason: the failed grade stays in the history, set aside (it
no longer decides the result), and the learner hands the report in again to be graded anew.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from lca.core import uploads as stored_files
from lca.core.audit import record
from lca.core.db import db, flush_or_conflict, utcnow
from lca.core.errors import RuleError
from lca.core.outbox import record_message
from lca.core.uploads import Upload
from lca.curriculum.services import field_module, latest_rubric, modules_of
from lca.models import (
    Enrolment,
    EnrolmentStatus,
    FieldReport,
    Grade,
    GradeResult,
    GradeScore,
    HourLog,
    LogStatus,
    MessageKind,
    Module,
    ModuleKind,
    ReportFile,
    ReportReopening,
    ReportStatus,
    Rubric,
    User,
)
from lca.web.i18n import localized
from lca.web.permissions import teaches_cohort_id

MAX_SUMMARY_LENGTH = 20_000
RESULT_STATUS = {
    GradeResult.PASS: ReportStatus.PASSED,
    GradeResult.REVISE: ReportStatus.REVISE,
    GradeResult.FAIL: ReportStatus.FAILED,
}


@dataclass
class ReportDraft:
    """What a learner writes: the summary and the field logs it draws on."""

    summary: str
    log_ids: list[int] = field(default_factory=list)


@dataclass
class Score:
    points: int | None
    comment: str = ""


#: what a reviewer sees when someone else changed the same report a moment ago
STALE_REPORT = _l("Someone else changed this report a moment ago. Reload the page and try again.")


def current_rubric() -> Rubric:
    """The newest version of the rubric (seed/rubric.yaml)."""
    rubric = latest_rubric()
    if rubric is None:
        raise RuleError(_("The rubric has not been loaded yet. Ask the programme staff."))
    return rubric


def field_logs_for_report(enrolment: Enrolment) -> list[HourLog]:
    """The field logs a report may draw on: this enrolment's, not withdrawn or rejected."""
    return list(
        db.session.scalars(
            select(HourLog)
            .join(HourLog.module)
            .where(
                HourLog.enrolment_id == enrolment.id,
                Module.kind == ModuleKind.FIELD,
                HourLog.status.not_in([LogStatus.WITHDRAWN, LogStatus.REJECTED]),
            )
            .order_by(HourLog.worked_on)
        )
    )


def report_of(enrolment: Enrolment) -> FieldReport | None:
    return db.session.scalar(select(FieldReport).where(FieldReport.enrolment_id == enrolment.id))


def _check_draft(enrolment: Enrolment, draft: ReportDraft) -> list[HourLog]:
    summary = (draft.summary or "").strip()
    if not summary:
        raise RuleError(_("Write the summary of your field work."), field="summary")
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise RuleError(
            _("Use at most %(count)d characters.", count=MAX_SUMMARY_LENGTH), field="summary"
        )
    allowed = {log.id: log for log in field_logs_for_report(enrolment)}
    if not draft.log_ids:
        raise RuleError(_("Choose the field logs your report draws on."), field="log_ids")
    if not set(draft.log_ids) <= set(allowed):
        raise RuleError(_("Choose only your own field logs."), field="log_ids")
    return [allowed[i] for i in sorted(set(draft.log_ids), key=list(allowed).index)]


def submit_report(
    enrolment: Enrolment, draft: ReportDraft, uploads: list[Upload], learner: User
) -> FieldReport:
    """A learner hands in the field report of an enrolment, once."""
    if enrolment.learner_id != learner.id or enrolment.status is not EnrolmentStatus.ACTIVE:
        raise RuleError(_("You can hand in a report only for a cohort you are studying in."))
    if report_of(enrolment) is not None:
        raise RuleError(_("You have already handed in your report; change it instead."))
    logs = _check_draft(enrolment, draft)
    files = stored_files.check_uploads(uploads, already=0)
    report = FieldReport(enrolment=enrolment, summary=draft.summary.strip(), logs=logs)
    db.session.add(report)
    db.session.flush()
    db.session.add_all(ReportFile(field_report=report, **c) for c in stored_files.store(files))
    db.session.flush()
    record(learner, "field_report.submit", report, logs=[log.id for log in logs])
    return report


def update_report(
    report: FieldReport,
    draft: ReportDraft,
    uploads: list[Upload],
    remove_ids: set[int],
    learner: User,
) -> None:
    """Change a report until it is graded; after "revise" this resubmits it."""
    if not report.is_editable:
        raise RuleError(_("Your report has been graded and can no longer be changed."))
    logs = _check_draft(report.enrolment, draft)
    kept = [f for f in report.files if f.id not in remove_ids]
    files = stored_files.check_uploads(uploads, already=len(kept))
    for gone in [f for f in report.files if f.id in remove_ids]:
        stored_files.remove(gone)
    report.summary, report.logs = draft.summary.strip(), logs
    db.session.add_all(ReportFile(field_report=report, **c) for c in stored_files.store(files))
    resubmitted = report.status is ReportStatus.REVISE
    if resubmitted:
        report.status, report.submitted_at = ReportStatus.SUBMITTED, utcnow()
    flush_or_conflict(STALE_REPORT)
    record(learner, "field_report.resubmit" if resubmitted else "field_report.update", report)


def may_grade(user: User, report: FieldReport) -> bool:
    """The report's assessor grades it; with none assigned, any instructor of the cohort."""
    if not user.is_instructor or not teaches_cohort_id(user, report.enrolment.cohort_id):
        return False
    return report.assessor_id in (None, user.id)


def results_for_total(total: int, pass_mark: int) -> set[GradeResult]:
    """The results a total may get: pass at or above the pass mark, fail only below it,
    revise at any score."""
    return {GradeResult.PASS if total >= pass_mark else GradeResult.FAIL, GradeResult.REVISE}


def grade_report(
    report: FieldReport, grader: User, scores: dict[int, Score], result: GradeResult, feedback: str
) -> Grade:
    """Grade a submitted report on every criterion of the current rubric; the total is
    computed; pass and fail follow the pass mark, and "revise" says what to change."""
    if not may_grade(grader, report):
        raise RuleError(_("Only the report's assessor, an instructor of its cohort, can grade it."))
    if report.status is not ReportStatus.SUBMITTED:
        raise RuleError(_("Only a report waiting to be graded can be graded."))
    rubric = current_rubric()
    rows = []
    for criterion in rubric.criteria:
        score = scores.get(criterion.id)
        name = localized(criterion, "name")
        if score is None or score.points is None:
            raise RuleError(
                _(
                    "Criterion %(number)s, %(name)s: give the points.",
                    number=criterion.number,
                    name=name,
                ),
                field=f"points_{criterion.id}",
            )
        if not 0 <= score.points <= criterion.max_points:
            raise RuleError(
                _(
                    "Criterion %(number)s, %(name)s: give from 0 to %(max)d points.",
                    number=criterion.number,
                    name=name,
                    max=criterion.max_points,
                ),
                field=f"points_{criterion.id}",
            )
        rows.append(
            GradeScore(
                criterion=criterion, points=score.points, comment=(score.comment or "").strip()
            )
        )
    total = sum(row.points for row in rows)
    feedback = (feedback or "").strip()
    if result not in results_for_total(total, rubric.pass_mark):
        raise RuleError(
            _(
                "A pass needs at least %(mark)d points; this report has %(total)d.",
                mark=rubric.pass_mark,
                total=total,
            )
            if result is GradeResult.PASS
            else _(
                "A report with %(total)d points reaches the pass mark (%(mark)d) and "
                "cannot fail; choose pass or revise.",
                total=total,
                mark=rubric.pass_mark,
            ),
            field="result",
        )
    if result is GradeResult.REVISE and not feedback:
        raise RuleError(_("Say what the learner should change."), field="feedback")
    grade = Grade(
        field_report=report,
        rubric=rubric,
        grader=grader,
        result=result,
        total_points=total,
        feedback=feedback,
        scores=rows,
    )
    db.session.add(grade)
    report.status = RESULT_STATUS[result]
    report.assessor_id = report.assessor_id or grader.id
    flush_or_conflict(STALE_REPORT)
    record(
        grader,
        "field_report.grade",
        report,
        result=result.value,
        total=total,
        rubric_version=rubric.version,
    )
    _tell_learner_of_grade(report, grade, rubric)
    return grade


def _tell_learner_of_grade(report: FieldReport, grade: Grade, rubric: Rubric) -> None:
    """The learner hears the result, the points and (for "revise") what to change."""
    enrolment, grader = report.enrolment, grade.grader
    module = field_module(modules_of(enrolment.cohort.curriculum_version_id))
    record_message(
        enrolment.learner,
        MessageKind.REPORT_GRADED,
        about=report,
        link="assessment.my_report",
        link_args={"enrolment": enrolment.id},
        result=grade.result.value,
        points=grade.total_points,
        max_points=rubric.max_points,
        pass_mark=rubric.pass_mark,
        feedback=grade.feedback,
        cohort=enrolment.cohort.code,
        module_number=module.number if module else None,
        module_th=module.title_th if module else "",
        module_en=module.title_en if module else "",
        grader=grader.full_name_th,
        grader_en=grader.full_name_en or grader.full_name_th,
    )


def reassign_report(report: FieldReport, instructor: User | None, admin: User) -> None:
    """Give the report to another instructor of its cohort (None: any of them)."""
    if instructor is not None and (
        not instructor.is_active or not teaches_cohort_id(instructor, report.enrolment.cohort_id)
    ):
        raise RuleError(
            _("Choose an active instructor of the report's cohort."), field="assessor_id"
        )
    if report.is_final:
        raise RuleError(_("This report has a final result."))
    previous = report.assessor_id
    report.assessor_id = instructor.id if instructor else None
    flush_or_conflict(STALE_REPORT)
    record(admin, "field_report.reassign", report, previous=previous, assessor=report.assessor_id)


MAX_REOPEN_REASON_LENGTH = 2000


def reopen_report(report: FieldReport, reason: str, admin: User) -> ReportReopening:
    """An administrator reopens a failed report, giving the reason: the failed grade is kept
    but set aside, and the learner may hand in the report again (it is then graded anew)."""
    if not admin.is_admin:
        raise RuleError(_("Only an administrator can reopen a field report."))
    if report.status is not ReportStatus.FAILED:
        raise RuleError(_("Only a report that did not pass can be reopened."))
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give the reason for reopening the report."), field="reason")
    if len(reason) > MAX_REOPEN_REASON_LENGTH:
        raise RuleError(
            _("Use at most %(count)d characters.", count=MAX_REOPEN_REASON_LENGTH), field="reason"
        )
    failed = db.session.scalar(
        select(Grade).where(Grade.field_report_id == report.id).order_by(Grade.id.desc()).limit(1)
    )
    if failed is None or failed.result is not GradeResult.FAIL:
        raise RuleError(_("Only a report that did not pass can be reopened."))
    reopening = ReportReopening(field_report=report, grade=failed, reason=reason, reopened_by=admin)
    db.session.add(reopening)
    report.status = ReportStatus.REVISE
    flush_or_conflict(STALE_REPORT)
    record(admin, "field_report.reopen", report, reason=reason, grade_id=failed.id)
    return reopening


#: built once, with a parameter: building this tree of loader options for each page took a
#: third of the page's time (a statement keeps its cache key with it)
_REPORT_PAGE = (
    select(FieldReport)
    .where(FieldReport.id == bindparam("report_id"))
    .options(
        joinedload(FieldReport.enrolment).joinedload(Enrolment.learner),
        joinedload(FieldReport.enrolment).joinedload(Enrolment.cohort),
        joinedload(FieldReport.assessor),
        selectinload(FieldReport.logs).joinedload(HourLog.module),
        selectinload(FieldReport.files),
        selectinload(FieldReport.grades).options(
            joinedload(Grade.grader),
            joinedload(Grade.rubric),
            selectinload(Grade.scores).joinedload(GradeScore.criterion),
        ),
        selectinload(FieldReport.reopenings).joinedload(ReportReopening.reopened_by),
    )
)


def load_report(report: FieldReport) -> FieldReport:
    """The report with what its page shows: learner, logs, files, every grading and score."""
    return db.session.scalars(_REPORT_PAGE, {"report_id": report.id}).one()
