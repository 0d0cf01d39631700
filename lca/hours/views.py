"""Learners log their hours; the learner, the cohort's instructors and admins read a log."""

from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.core.dates import local_today
from lca.curriculum.services import field_catalogues_of, modules_by_version
from lca.hours import bp
from lca.hours.drafts import (
    as_uploads,
    discard_drafts,
    drafts_of,
    hold_drafts,
    purge_expired_drafts,
)
from lca.hours.forms import LogForm, NoteForm, hours_to_minutes
from lca.hours.overlaps import days_of, times_of
from lca.hours.queue import day_totals_of
from lca.hours.services import (
    LogEntry,
    active_enrolments,
    answer_question,
    day_problems,
    entry_problems,
    learner_logs,
    load_log_details,
    submit_log,
    update_log,
    withdraw_log,
)
from lca.models import FieldMechanism, FieldTool, Module, Role
from lca.models.hours import MINUTE_STEP
from lca.web.downloads import send_upload
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
    """The modules, mechanisms and tools a log form offers, by id: those of the curriculum
    versions of the given enrolments' cohorts (one version, unless the learner is in cohorts
    on different ones)."""

    def __init__(self, enrolments) -> None:
        versions = {e.cohort.curriculum_version_id for e in enrolments}
        by_version = modules_by_version(versions)
        self.several_versions = len(versions) > 1
        self.modules: dict[int, Module] = {
            m.id: m
            for m in sorted(
                (m for modules in by_version.values() for m in modules),
                key=lambda m: (m.number, m.version_id),
            )
        }
        mechanisms, tools = field_catalogues_of(*versions)
        self.mechanisms: dict[int, FieldMechanism] = {m.id: m for m in mechanisms}
        self.tools: dict[int, FieldTool] = {t.id: t for t in tools}

    def _module_label(self, module: Module) -> str:
        label = f"{module.number}. {localized(module, 'title')}"
        if self.several_versions:
            label += f" ({localized(module.version, 'name')})"
        return label

    def fill(self, form: LogForm, enrolments) -> None:
        form.enrolment_id.choices = options((e.id, e.cohort.code) for e in enrolments)
        form.module_id.choices = options(
            (m.id, self._module_label(m)) for m in self.modules.values()
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
        return self._entry(form, form.worked_on.data, minutes, form.description.data)

    def rough_entry(self, form: LogForm) -> LogEntry | None:
        """What a form that may have failed says, enough to check the rules of the fields
        that did not fail (a failed field's stand-in is never judged: its error is shown)."""
        if form.module_id.data not in self.modules:
            return None
        minutes = hours_to_minutes(form.hours.data) if not form.hours.errors else None
        return self._entry(
            form,
            form.worked_on.data or local_today(),
            minutes or MINUTE_STEP,
            form.description.data or "",
        )

    def _entry(self, form: LogForm, worked_on: date, minutes: int, description: str) -> LogEntry:
        return LogEntry(
            module=self.modules[form.module_id.data],
            worked_on=worked_on,
            minutes=minutes,
            description=description,
            mechanism=self.mechanisms.get(form.mechanism_id.data),
            tools=[self.tools[i] for i in form.tool_ids.data or () if i in self.tools],
            place=form.place.data or None,
            starts_at=form.starts_at.data,
        )


@bp.get("/hours")
@role_required(Role.LEARNER)
def my_logs():
    return render_template("hours/index.html", logs=learner_logs(current_user))


class KeptFiles:
    """The files a learner chose on earlier tries of a log form, kept as their drafts
    (drafts.py): those still wanted and those ticked off; the new files sent with this try."""

    def __init__(self, form: LogForm, already: int = 0) -> None:
        asked = set(form.draft_ids.data or ())
        found = drafts_of(current_user, asked)
        form.remove_drafts.choices = options((d.id, d.original_name) for d in found)
        ticked = set(form.remove_drafts.data or ())
        self.kept = [d for d in found if d.id not in ticked]
        self.removed = [d for d in found if d.id in ticked]
        self.lost = len(asked) - len(found)  #: expired (a day), or never the learner's
        #: the box to keep where photos were taken: for the new files and the kept ones
        self.keep_place = bool(form.keep_place.data)
        self.new = [u for u in uploads(keep_place=self.keep_place) if u.name or u.data]
        self.already = already  #: the log's own files that stay

    @property
    def count(self) -> int:
        """How many files the log will have if saved now."""
        return self.already + len(self.kept) + len(self.new)

    def shown_on(self, form: LogForm) -> None:
        form.draft_ids.data = [d.id for d in self.kept]
        form.remove_drafts.choices = options((d.id, d.original_name) for d in self.kept)
        form.remove_drafts.data = []
        if self.lost:
            form.files.errors = [
                *form.files.errors,
                _("A file you chose earlier is no longer kept (after a day): choose it again."),
            ]


def _checks_out(
    form: LogForm, catalogue: Catalogue, enrolment, replacing, files: KeptFiles
) -> bool:
    """Every field and every rule of the entry checked at once (the day's 12 hours and a
    credited session's time too), each error by its field; ``replacing``: the log edited."""
    valid = form.validate()
    entry = catalogue.rough_entry(form) if enrolment is not None else None
    if entry is None:
        return False
    problems = entry_problems(enrolment, entry, evidence=files.count)
    if not any(p.field in ("hours", "worked_on", "starts_at") for p in problems):
        problems += day_problems(enrolment.learner_id, entry, replacing)
    for error in problems:
        field = form[error.field] if error.field and error.field in form else None
        if field is not None and not field.errors:  # a failed field's stand-in is not judged
            field.errors = [error.message]
    return valid and not problems


def _send(
    form: LogForm, checked_by: tuple[Catalogue, Any, Any], files: KeptFiles, save, page, **then
):
    """Save (``save(files)``) with the kept and the new files; on any error, keep the new
    files as drafts and show the form again (``page()``), listing every file kept."""
    if _checks_out(form, *checked_by, files):

        def saved():
            result = save(as_uploads(files.kept, files.keep_place) + files.new)
            discard_drafts([*files.kept, *files.removed])
            purge_expired_drafts(current_user)
            return result

        return perform(saved, form=form, fail=lambda: _keep(form, files, page), **then)
    return _keep(form, files, page)


def _keep(form: LogForm, files: KeptFiles, page):
    """Keep the files of a form that came back with an error, then show it again."""
    if form.meta.csrf and form.csrf_token.errors:
        return page()  # not the learner's own form: nothing is stored for it

    def hold():
        discard_drafts(files.removed)
        return hold_drafts(current_user, files.new, files.already + len(files.kept))

    def shown(held):
        files.kept += held.drafts
        files.shown_on(form)
        form.files.errors = [*form.files.errors, *held.problems]
        return page()

    return perform(hold, form=form, field="files", then=shown, fail=page)


@bp.route("/hours/new", methods=["GET", "POST"])
@role_required(Role.LEARNER)
def new_log():
    enrolments = active_enrolments(current_user)
    catalogue, form = Catalogue(enrolments), LogForm()
    catalogue.fill(form, enrolments)
    files = KeptFiles(form)

    def page():
        return render_template(
            "hours/form.html", form=form, log=None, enrolments=enrolments, kept=files.kept
        )

    if enrolments and form.is_submitted():
        enrolment = next((e for e in enrolments if e.id == form.enrolment_id.data), None)
        return _send(
            form,
            (catalogue, enrolment, None),
            files,
            # the new log's id, read before the commit expires the log
            lambda chosen: submit_log(enrolment, catalogue.entry(form), chosen, current_user).id,
            page,
            done=_("Your hours have been sent for review."),
            then=lambda log_id: redirect(url_for(".show_log", log_id=log_id)),
        )
    return page()


def log_page(log, note_form=None):
    """A log's page, with the actions the current user may take on it, what its day holds and
    the logs of that day its time overlaps."""
    log = load_log_details(log)
    is_owner = log.enrolment.learner_id == current_user.id
    days = days_of({(log.enrolment.learner_id, log.worked_on)})
    times = times_of([log], days)[log.id]
    return render_template(
        "hours/show.html",
        log=log,
        day=day_totals_of([log], days)[log.id],
        times=times,
        openable={
            s.log_id
            for s in times.overlaps
            if is_owner or can_review_cohort(current_user, s.cohort_id)
        },
        note_form=note_form or NoteForm(formdata=None),
        is_owner=is_owner,
        may_review=can_review_cohort(current_user, log.enrolment.cohort_id),
        # a module of another curriculum version: the cohort moved, the log was carried over
        carried_over=log.module.version_id != log.enrolment.cohort.curriculum_version_id,
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
    catalogue, form = Catalogue([log.enrolment]), _filled_log_form(log)
    catalogue.fill(form, [log.enrolment])
    form.remove_evidence.choices = options((e.id, e.original_name) for e in log.evidence)
    removed = set(form.remove_evidence.data or ())
    files = KeptFiles(form, already=len([e for e in log.evidence if e.id not in removed]))

    def page():
        return _log_form_page(form, load_log_details(log), files.kept)

    if form.is_submitted():
        return _send(
            form,
            (catalogue, log.enrolment, log),
            files,
            lambda chosen: update_log(log, catalogue.entry(form), chosen, removed, current_user),
            page,
            done=_("Your changes have been saved."),
            then=url_for(".show_log", log_id=log.id),
        )
    return _log_form_page(form, log, files.kept)


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


def _log_form_page(form: LogForm, log, kept):
    return render_template(
        "hours/form.html", form=form, log=log, enrolments=[log.enrolment], kept=kept
    )


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
    return send_upload(item.storage_key, item.id, item.content_type)


@bp.get("/hours/<int:log_id>/evidence/<int:evidence_id>/thumbnail")
@signed_in
def thumbnail(log_id: int, evidence_id: int):
    item = get_evidence_or_404(get_log_or_403(log_id, current_user), evidence_id)
    if not item.thumbnail_key:
        abort(404)
    return send_upload(item.thumbnail_key, item.id, "image/jpeg", thumbnail=True)
