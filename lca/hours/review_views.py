"""Instructors (and admins) review learners' logs: the queue, one at a time or many at once."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.curriculum.services import list_modules
from lca.hours import bp
from lca.hours.forms import BulkApproveForm, NoteForm, QueueFilterForm
from lca.hours.queue import QUEUE_STATES, review_queue, reviewable_cohorts
from lca.hours.services import approve_log, approve_logs, reject_log, return_log
from lca.hours.views import log_page
from lca.models import LogStatus, Role
from lca.web.forms import options, read_filters
from lca.web.i18n import LABELS, localized
from lca.web.pages import MAX_DATABASE_INT, page_number, perform
from lca.web.permissions import can_review_cohort, get_log_or_403, role_required

REVIEWERS = (Role.ADMIN, Role.INSTRUCTOR)
QUEUE_FILTERS = ("cohort", "module", "status", "page")


@bp.get("/review")
@role_required(*REVIEWERS)
def queue():
    form = QueueFilterForm(request.args)
    cohorts = reviewable_cohorts(current_user)
    modules = list_modules()

    form.cohort.choices = options([(0, _("All my cohorts")), *((c.id, c.code) for c in cohorts)])
    form.module.choices = options(
        [(0, _("All modules")), *((m.id, f"{m.number}. {localized(m, 'title')}") for m in modules)]
    )
    form.status.choices = options((s.value, LABELS[s]) for s in QUEUE_STATES)
    read_filters(form)
    status = next((s for s in QUEUE_STATES if s.value == form.status.data), LogStatus.PENDING)
    page = review_queue(
        current_user,
        cohort_id=form.cohort.data if form.cohort.data in {c.id for c in cohorts} else None,
        module_id=form.module.data or None,
        status=status,
        page=page_number(),
        per_page=current_app.config["LCA_PAGE_SIZE"],
    )
    return render_template(
        "hours/queue.html",
        form=form,
        page=page,
        status=status,
        bulk_form=BulkApproveForm(formdata=None),
    )


@bp.post("/review/approve")
@role_required(*REVIEWERS)
def bulk_approve():
    form = BulkApproveForm()
    form.validate_on_submit()
    ids = [i for i in form.log_ids.data or [] if isinstance(i, int) and 0 < i <= MAX_DATABASE_INT]
    filters = {k: v for k, v in request.args.items() if k in QUEUE_FILTERS}
    back = url_for(".queue", **filters)  # the queue as it was filtered
    if not ids:
        flash(_("Tick the logs to approve first."), "error")
        return redirect(back)
    return perform(
        lambda: approve_logs(
            ids, current_user, lambda log: can_review_cohort(current_user, log.enrolment.cohort_id)
        ),
        done=lambda counts: _("%(count)s logs approved.", count=counts[0]),
        then=lambda counts: _skipped(counts[1], back),
        fail=back,
    )


def _skipped(skipped: int, back: str):
    if skipped:
        flash(
            _(
                "%(count)s could not be approved: already reviewed, or not in your cohorts.",
                count=skipped,
            ),
            "error",
        )
    return redirect(back)


def _act(log_id: int, act, done: str, with_note: bool):
    log = get_log_or_403(log_id, current_user, action="review")
    form = NoteForm()
    if form.validate_on_submit():
        return perform(
            lambda: act(log, current_user, form.body.data) if with_note else act(log, current_user),
            form=form,
            fail=lambda: log_page(log, form),
            done=done,
            then=url_for(".queue"),
        )
    return log_page(log, form)


@bp.post("/hours/<int:log_id>/approve")
@role_required(*REVIEWERS)
def approve(log_id: int):
    return _act(log_id, approve_log, _("Approved."), with_note=False)


@bp.post("/hours/<int:log_id>/reject")
@role_required(*REVIEWERS)
def reject(log_id: int):
    return _act(
        log_id,
        reject_log,
        _("The log was not approved; the learner sees your reason."),
        with_note=True,
    )


@bp.post("/hours/<int:log_id>/return")
@role_required(*REVIEWERS)
def send_back(log_id: int):
    return _act(log_id, return_log, _("The log was sent back with your question."), with_note=True)
