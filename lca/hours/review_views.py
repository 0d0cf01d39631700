"""Instructors (and admins) review learners' logs: the queue, one at a time or many at once."""

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.curriculum.services import modules_by_version
from lca.hours import bp
from lca.hours.forms import BulkReviewForm, NoteForm, QueueFilterForm
from lca.hours.overlaps import days_of, times_of
from lca.hours.queue import (
    QUEUE_STATES,
    day_totals_of,
    next_waiting_log,
    review_queue,
    reviewable_cohorts,
)
from lca.hours.services import (
    approve_log,
    approve_logs,
    reject_log,
    reject_logs,
    return_log,
    return_logs,
)
from lca.hours.views import log_page
from lca.models import LogStatus, Role
from lca.web.forms import options, read_filters
from lca.web.i18n import LABELS, localized
from lca.web.pages import MAX_DATABASE_INT, page_number, perform, query_filters
from lca.web.permissions import can_review_cohort, get_log_or_403, role_required

REVIEWERS = (Role.ADMIN, Role.INSTRUCTOR)
QUEUE_FILTERS = ("cohort", "module", "status", "page")


@bp.get("/review")
@role_required(*REVIEWERS)
def queue():
    return _queue_page()


def _queue_page(bulk_form: BulkReviewForm | None = None):
    """The queue as filtered by the query string; ``bulk_form``: a bulk action refused, shown
    with its message and the logs still ticked."""
    form = QueueFilterForm(request.args)
    cohorts = reviewable_cohorts(current_user)
    by_version = modules_by_version({c.curriculum_version_id for c in cohorts})
    several = len(by_version) > 1
    modules = sorted(
        (m for found in by_version.values() for m in found), key=lambda m: (m.number, m.version_id)
    )

    form.cohort.choices = options([(0, _("All my cohorts")), *((c.id, c.code) for c in cohorts)])
    form.module.choices = options(
        [
            (0, _("All modules")),
            *(
                (
                    m.id,
                    f"{m.number}. {localized(m, 'title')}"
                    + (f" ({localized(m.version, 'name')})" if several else ""),
                )
                for m in modules
            ),
        ]
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
    # the days of the page's logs, read once for their totals and their overlaps
    days = days_of({(log.enrolment.learner_id, log.worked_on) for log in page.items})
    if bulk_form is not None:
        ticked = set(_ticked(bulk_form))
    elif request.args.get("select") == "all":  # "select all" without JavaScript
        ticked = {log.id for log in page.items}
    else:
        ticked = set()
    return render_template(
        "hours/queue.html",
        form=form,
        page=page,
        status=status,
        days=day_totals_of(page.items, days),
        times=times_of(page.items, days),
        ticked=ticked,
        filters=_filters(),
        bulk_form=bulk_form or BulkReviewForm(formdata=None),
    )


def _filters() -> dict[str, Any]:
    """The queue's filters in the query string, to come back to the queue as it was."""
    return query_filters(QUEUE_FILTERS)


def _ticked(form: BulkReviewForm) -> list[int]:
    return [i for i in form.log_ids.data or [] if isinstance(i, int) and 0 < i <= MAX_DATABASE_INT]


def _may_review(log) -> bool:
    return can_review_cohort(current_user, log.enrolment.cohort_id)


@bp.post("/review/approve")
@role_required(*REVIEWERS)
def bulk_approve():
    form = BulkReviewForm()
    form.validate_on_submit()
    ids = _ticked(form)
    back = url_for(".queue", **_filters())  # the queue as it was filtered
    if not ids:
        flash(_("Tick the logs to approve first."), "error")
        return redirect(back)
    return perform(
        lambda: approve_logs(ids, current_user, _may_review),
        done=lambda counts: _("%(count)s logs approved.", count=counts[0]),
        then=lambda counts: _skipped(
            counts[1],
            back,
            _("%(count)s could not be approved: already reviewed, or not in your cohorts."),
        ),
        fail=back,
    )


@bp.post("/review/return")
@role_required(*REVIEWERS)
def bulk_return():
    return _bulk(
        return_logs,
        nothing=_("Tick the logs to return first."),
        done=_("%(count)s logs sent back with your question."),
        skipped=_("%(count)s could not be returned: already reviewed, or not in your cohorts."),
    )


@bp.post("/review/reject")
@role_required(*REVIEWERS)
def bulk_reject():
    return _bulk(
        reject_logs,
        nothing=_("Tick the logs not to approve first."),
        done=_("%(count)s logs not approved; their learners see your reason."),
        skipped=_(
            "%(count)s could not be marked not approved: already reviewed, or not in your cohorts."
        ),
    )


def _bulk(act, *, nothing: str, done: str, skipped: str):
    """Return or reject the ticked logs with the one message typed; a refusal shows the queue
    again with the message next to its field and the logs still ticked."""
    form = BulkReviewForm()
    form.validate_on_submit()
    ids = _ticked(form)
    back = url_for(".queue", **_filters())
    if not ids:
        flash(nothing, "error")
        return redirect(back)
    if form.errors:  # the message too long
        return _queue_page(form)
    return perform(
        lambda: act(ids, current_user, _may_review, form.body.data or ""),
        form=form,
        fail=lambda: _queue_page(form),
        done=lambda counts: done % {"count": counts[0]},
        then=lambda counts: _skipped(counts[1], back, skipped),
    )


def _skipped(count: int, back: str, message: str):
    if count:
        flash(message % {"count": count}, "error")
    return redirect(back)


def _next_url(log) -> str:
    """The next log waiting in the queue (filtered as the reviewer came), or the queue with a
    word that nothing is left."""
    wanted = {k: request.args.get(k, type=int) for k in ("cohort", "module")}
    filters: dict[str, Any] = {k: v for k, v in wanted.items() if v and 0 < v <= MAX_DATABASE_INT}
    following = next_waiting_log(
        current_user, log, cohort_id=filters.get("cohort"), module_id=filters.get("module")
    )
    if following is not None:
        return url_for(".show_log", log_id=following.id, **filters)
    flash(_("No other log waits for review here."), "info")
    return url_for(".queue", **filters)


def _act(log_id: int, act, done: str, with_note: bool):
    log = get_log_or_403(log_id, current_user, action="review")
    form = NoteForm()
    if form.validate_on_submit():
        return perform(
            lambda: act(log, current_user, form.body.data) if with_note else act(log, current_user),
            form=form,
            fail=lambda: log_page(log, form),
            done=done,
            then=lambda _result: redirect(_next_url(log)),
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
