"""Learners hand in their field report; instructors grade it; admins reassign it."""

from flask import abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.assessment import bp
from lca.assessment.forms import (
    AssignForm,
    ReopenForm,
    ReportFilterForm,
    ReportForm,
    grade_form,
    typed_total,
)
from lca.assessment.queue import reports_for
from lca.assessment.services import (
    ReportDraft,
    Score,
    current_rubric,
    field_logs_for_report,
    grade_report,
    load_report,
    may_grade,
    reassign_report,
    reopen_report,
    report_of,
    submit_report,
    update_report,
)
from lca.cohorts.services import cohort_instructors_of
from lca.core.dates import format_day
from lca.core.db import db
from lca.hours.queue import reviewable_cohorts
from lca.hours.services import active_enrolments
from lca.models import GradeResult, ReportStatus, Role, User
from lca.web.downloads import send_upload
from lca.web.forms import UnvalidatedForm, options, read_filters
from lca.web.i18n import hours_text, label
from lca.web.pages import page_number, perform, uploads
from lca.web.permissions import (
    get_report_file_or_404,
    get_report_or_403,
    role_required,
    signed_in,
)

STAFF = (Role.ADMIN, Role.INSTRUCTOR)


def _log_choices(form: ReportForm, enrolment) -> None:
    form.log_ids.choices = options(
        (
            log.id,
            f"{format_day(log.worked_on, 'short')} · "
            f"{hours_text(log.minutes)} · {label(log.status)}",
        )
        for log in field_logs_for_report(enrolment)
    )


@bp.route("/field-report", methods=["GET", "POST"])
@role_required(Role.LEARNER)
def my_report():
    enrolments = active_enrolments(current_user)
    wanted = request.args.get("enrolment", type=int)
    enrolment = next(
        (e for e in enrolments if e.id == wanted), enrolments[0] if enrolments else None
    )
    if enrolment is None:
        return render_template("assessment/my_report.html", enrolment=None, report=None, form=None)
    report = report_of(enrolment)
    report = load_report(report) if report else None
    form = _report_form(enrolment, report)
    if report is not None and not report.is_editable and form.is_submitted():
        flash(_("Your report has been graded and can no longer be changed."), "error")
    elif form.validate_on_submit():
        return perform(
            lambda: _hand_in(enrolment, report, form),
            form=form,
            fail=lambda: _my_report_page(enrolment, load_report(report) if report else None, form),
            done=_("Your field report has been sent to your instructor."),
            then=url_for(".my_report", enrolment=enrolment.id),
        )
    return _my_report_page(enrolment, report, form)


def _report_form(enrolment, report) -> ReportForm:
    """The form as sent, or (on the first visit) filled from the report handed in."""
    form = (
        ReportForm()
        if request.method == "POST"
        else ReportForm(
            data={
                "summary": report.summary if report else "",
                "log_ids": [log.id for log in report.logs] if report else [],
            }
        )
    )
    _log_choices(form, enrolment)
    if report is not None:
        form.remove_files.choices = options((f.id, f.original_name) for f in report.files)
    return form


def _hand_in(enrolment, report, form: ReportForm) -> None:
    summary = form.summary.data
    if summary is None:
        raise UnvalidatedForm
    draft = ReportDraft(summary, list(form.log_ids.data or ()))
    chosen = uploads(keep_place=bool(form.keep_place.data))
    if report is None:
        submit_report(enrolment, draft, chosen, current_user)
    else:
        update_report(report, draft, chosen, set(form.remove_files.data or ()), current_user)


def _my_report_page(enrolment, report, form):
    return render_template(
        "assessment/my_report.html", enrolment=enrolment, report=report, form=form
    )


@bp.get("/assessments")
@role_required(*STAFF)
def reports():
    form = ReportFilterForm(request.args)
    cohorts = reviewable_cohorts(current_user)
    form.cohort.choices = options([(0, _("All my cohorts")), *((c.id, c.code) for c in cohorts)])
    read_filters(form)
    status = next((s for s in ReportStatus if s.value == form.status.data), ReportStatus.SUBMITTED)
    page = reports_for(
        current_user,
        status=status,
        cohort_id=form.cohort.data if form.cohort.data in {c.id for c in cohorts} else None,
        page=page_number(),
        per_page=current_app.config["LCA_PAGE_SIZE"],
    )
    return render_template("assessment/reports.html", form=form, page=page, status=status)


def _report_page(report, grading=None, assigning=None, reopening=None):
    report = load_report(report)
    rubric = current_rubric()
    assign = assigning or AssignForm(formdata=None, assessor_id=report.assessor_id or 0)
    assign.assessor_id.choices = options(
        [
            (0, _("Any instructor of the cohort")),
            *((u.id, u.full_name_th) for u in cohort_instructors_of(report.enrolment.cohort)),
        ]
    )
    grading = grading or grade_form(rubric, formdata=None)
    total, complete = typed_total(grading, rubric)
    return render_template(
        "assessment/report.html",
        report=report,
        rubric=rubric,
        grading=grading,
        typed_total=total,
        typed_complete=complete,
        assign=assign,
        reopen=reopening or ReopenForm(formdata=None),
        may_grade=may_grade(current_user, report) and report.status is ReportStatus.SUBMITTED,
        is_owner=report.enrolment.learner_id == current_user.id,
    )


@bp.get("/field-reports/<int:report_id>")
@signed_in
def report(report_id: int):
    return _report_page(get_report_or_403(report_id, current_user))


@bp.post("/field-reports/<int:report_id>/grade")
@role_required(Role.INSTRUCTOR)
def grade(report_id: int):
    report = get_report_or_403(report_id, current_user, action="grade")
    rubric = current_rubric()
    form = grade_form(rubric)
    if form.validate_on_submit():
        scores = {
            c.id: Score(form[f"points_{c.id}"].data, form[f"comment_{c.id}"].data or "")
            for c in rubric.criteria
        }
        result = GradeResult(form.result.data)
        return perform(
            lambda: grade_report(report, current_user, scores, result, form.feedback.data),
            form=form,
            fail=lambda: _report_page(report, grading=form),
            done=_("The grade has been saved; the learner can see it now."),
            then=url_for(".reports"),
        )
    return _report_page(report, grading=form)


@bp.post("/field-reports/<int:report_id>/assign")
@role_required(Role.ADMIN)
def assign(report_id: int):
    report = get_report_or_403(report_id, current_user, action="assign")
    form = AssignForm()
    form.assessor_id.choices = options(
        [(0, ""), *((u.id, "") for u in cohort_instructors_of(report.enrolment.cohort))]
    )
    if form.validate_on_submit():
        instructor = db.session.get(User, form.assessor_id.data) if form.assessor_id.data else None
        return perform(
            lambda: reassign_report(report, instructor, current_user),
            form=form,
            fail=lambda: _report_page(report, assigning=form),
            done=_("The report has been reassigned."),
            then=url_for(".report", report_id=report_id),
        )
    return _report_page(report, assigning=form)


@bp.post("/field-reports/<int:report_id>/reopen")
@role_required(Role.ADMIN)
def reopen(report_id: int):
    report = get_report_or_403(report_id, current_user, action="reopen")
    form = ReopenForm()
    if form.validate_on_submit():
        reason = form.reason.data
        if reason is None:
            raise UnvalidatedForm
        return perform(
            lambda: reopen_report(report, reason, current_user),
            form=form,
            fail=lambda: _report_page(report, reopening=form),
            done=_("The report has been reopened; the learner can hand it in again."),
            then=url_for(".report", report_id=report_id),
        )
    return _report_page(report, reopening=form)


@bp.get("/field-reports/<int:report_id>/files/<int:file_id>")
@signed_in
def report_file(report_id: int, file_id: int):
    attached = get_report_file_or_404(get_report_or_403(report_id, current_user), file_id)
    return send_upload(attached.storage_key, attached.id, attached.content_type)


@bp.get("/field-reports/<int:report_id>/files/<int:file_id>/thumbnail")
@signed_in
def report_thumbnail(report_id: int, file_id: int):
    attached = get_report_file_or_404(get_report_or_403(report_id, current_user), file_id)
    if not attached.thumbnail_key:
        abort(404)
    return send_upload(attached.thumbnail_key, attached.id, "image/jpeg", thumbnail=True)
