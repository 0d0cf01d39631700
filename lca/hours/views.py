"""Learners log their hours; the learner, the cohort's instructors and admins read a log."""

from decimal import Decimal

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lca.core.db import db
from lca.hours import bp
from lca.hours.forms import LogForm, NoteForm, hours_to_minutes
from lca.hours.overlaps import times_of
from lca.hours.queue import day_totals_of
from lca.hours.services import (
    LogEntry,
    active_enrolments,
    answer_question,
    learner_logs,
    load_log_details,
    submit_log,
    update_log,
    withdraw_log,
)
from lca.models import FieldMechanism, FieldTool, Module, Role
from lca.web.downloads import send_stored
from lca.web.forms import UnvalidatedForm, options
from lca.web.i18n import localized
from lca.web.pages import perform, uploads
from lca.web.permissions import (
    can_review_cohort,
    get_evidence_or_404,
    get_log_or_403,
    role_required,
    signed_in,
)


class Catalogue:
    """The modules, mechanisms and tools a log form offers, by id."""

    def __init__(self) -> None:
        self.modules: dict[int, Module] = {
            m.id: m for m in db.session.scalars(select(Module).order_by(Module.number))
        }
        self.mechanisms: dict[int, FieldMechanism] = {
            m.id: m
            for m in db.session.scalars(select(FieldMechanism).order_by(FieldMechanism.number))
        }
        self.tools: dict[int, FieldTool] = {
            t.id: t for t in db.session.scalars(select(FieldTool).order_by(FieldTool.number))
        }

    def fill(self, form: LogForm, enrolments) -> None:
        form.enrolment_id.choices = options((e.id, e.cohort.code) for e in enrolments)
        form.module_id.choices = options(
            (m.id, f"{m.number}. {localized(m, 'title')}") for m in self.modules.values()
        )
        form.mechanism_id.choices = options(
            # numbered like the modules: a keyboard user picks one by typing its number
            [
                (0, "—"),
                *((m.id, f"{m.number}. {localized(m, 'name')}") for m in self.mechanisms.values()),
            ]
        )
        form.tool_ids.choices = options((t.id, localized(t, "name")) for t in self.tools.values())
        form.field_module_ids = [m.id for m in self.modules.values() if m.is_field]

    def entry(self, form: LogForm) -> LogEntry:
        """What a validated form says: its required fields are there, its hours whole minutes."""
        minutes = hours_to_minutes(form.hours.data)
        if form.worked_on.data is None or minutes is None:
            raise UnvalidatedForm
        if form.description.data is None:
            raise UnvalidatedForm
        return LogEntry(
            module=self.modules[form.module_id.data],
            worked_on=form.worked_on.data,
            minutes=minutes,
            description=form.description.data,
            mechanism=self.mechanisms.get(form.mechanism_id.data),
            tools=[self.tools[i] for i in form.tool_ids.data or () if i in self.tools],
            place=form.place.data or None,
            starts_at=form.starts_at.data,
        )


@bp.get("/hours")
@role_required(Role.LEARNER)
def my_logs():
    return render_template("hours/index.html", logs=learner_logs(current_user))


@bp.route("/hours/new", methods=["GET", "POST"])
@role_required(Role.LEARNER)
def new_log():
    enrolments = active_enrolments(current_user)
    catalogue, form = Catalogue(), LogForm()
    catalogue.fill(form, enrolments)

    def page():
        return render_template("hours/form.html", form=form, log=None, enrolments=enrolments)

    if enrolments and form.validate_on_submit():
        enrolment = next(e for e in enrolments if e.id == form.enrolment_id.data)
        return perform(
            lambda: submit_log(enrolment, catalogue.entry(form), uploads(), current_user),
            form=form,
            fail=page,
            done=_("Your hours have been sent for review."),
            then=lambda log: redirect(url_for(".show_log", log_id=log.id)),
        )
    return page()


def log_page(log, note_form=None):
    """A log's page, with the actions the current user may take on it, what its day holds and
    the logs of that day its time overlaps."""
    log = load_log_details(log)
    is_owner = log.enrolment.learner_id == current_user.id
    times = times_of([log])[log.id]
    return render_template(
        "hours/show.html",
        log=log,
        day=day_totals_of([log])[log.id],
        times=times,
        openable={
            s.log_id
            for s in times.overlaps
            if is_owner or can_review_cohort(current_user, s.cohort_id)
        },
        note_form=note_form or NoteForm(formdata=None),
        is_owner=is_owner,
        may_review=can_review_cohort(current_user, log.enrolment.cohort_id),
    )


@bp.get("/hours/<int:log_id>")
@signed_in
def show_log(log_id: int):
    return log_page(get_log_or_403(log_id, current_user))


@bp.route("/hours/<int:log_id>/edit", methods=["GET", "POST"])
@role_required(Role.LEARNER)
def edit_log(log_id: int):
    log = load_log_details(get_log_or_403(log_id, current_user, action="edit"))
    if not log.is_editable:
        flash(_("This log has been reviewed and can no longer be changed."), "error")
        return redirect(url_for(".show_log", log_id=log.id))
    catalogue, form = Catalogue(), _filled_log_form(log)
    catalogue.fill(form, [log.enrolment])
    form.remove_evidence.choices = options((e.id, e.original_name) for e in log.evidence)
    if form.validate_on_submit():
        removed = set(form.remove_evidence.data or ())
        return perform(
            lambda: update_log(log, catalogue.entry(form), uploads(), removed, current_user),
            form=form,
            fail=lambda: _log_form_page(form, load_log_details(log)),
            done=_("Your changes have been saved."),
            then=url_for(".show_log", log_id=log.id),
        )
    return _log_form_page(form, log)


def _filled_log_form(log) -> LogForm:
    """The log form as sent, or (on the first visit) filled from the log."""
    return LogForm(
        data={
            "enrolment_id": log.enrolment_id,
            "module_id": log.module_id,
            "worked_on": log.worked_on,
            "starts_at": log.starts_at,
            "hours": Decimal(log.minutes) / 60,
            "description": log.description,
            "mechanism_id": log.mechanism_id or 0,
            "tool_ids": [t.id for t in log.tools],
            "place": log.place,
        }
    )


def _log_form_page(form: LogForm, log):
    return render_template("hours/form.html", form=form, log=log, enrolments=[log.enrolment])


@bp.post("/hours/<int:log_id>/withdraw")
@role_required(Role.LEARNER)
def withdraw(log_id: int):
    log = get_log_or_403(log_id, current_user, action="edit")
    return perform(
        lambda: withdraw_log(log, current_user),
        done=_("The log has been withdrawn."),
        then=url_for(".show_log", log_id=log_id),
    )


@bp.post("/hours/<int:log_id>/answer")
@role_required(Role.LEARNER)
def answer(log_id: int):
    log = get_log_or_403(log_id, current_user, action="edit")
    form = NoteForm()
    if form.validate_on_submit():
        return perform(
            lambda: answer_question(log, form.body.data or "", current_user),
            form=form,
            fail=lambda: log_page(log, form),
            done=_("Your answer has been sent; the log is back in the review queue."),
            then=url_for(".show_log", log_id=log_id),
        )
    return log_page(log, form)


@bp.get("/hours/<int:log_id>/evidence/<int:evidence_id>")
@signed_in
def evidence(log_id: int, evidence_id: int):
    item = get_evidence_or_404(get_log_or_403(log_id, current_user), evidence_id)
    return send_stored(item.storage_key, item.original_name, item.content_type)


@bp.get("/hours/<int:log_id>/evidence/<int:evidence_id>/thumbnail")
@signed_in
def thumbnail(log_id: int, evidence_id: int):
    item = get_evidence_or_404(get_log_or_403(log_id, current_user), evidence_id)
    if not item.thumbnail_key:
        abort(404)
    return send_stored(item.thumbnail_key, f"thumbnail-{item.id}.jpg", "image/jpeg")
