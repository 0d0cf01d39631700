"""A cohort's class sessions and the attendance form for the whole roll."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.core.errors import RuleError
from lca.curriculum.services import modules_of
from lca.hours import bp
from lca.hours.attendance import (
    Mark,
    SessionPlan,
    list_sessions,
    record_attendance,
    roll_counts,
    schedule_session,
    session_roll,
    unmarked_learners,
    update_session,
)
from lca.hours.attendance import (
    cancel_session as call_off_session,
)
from lca.hours.forms import AttendanceForm, CancelSessionForm, SessionForm, hours_to_minutes
from lca.models import AttendanceStatus, Module, Role
from lca.web.forms import UnvalidatedForm, options
from lca.web.i18n import localized
from lca.web.pages import perform
from lca.web.permissions import get_cohort_or_403, get_session_or_403, role_required

STAFF = (Role.ADMIN, Role.INSTRUCTOR)


def _session_modules(cohort) -> dict[int, Module]:
    """Modules of the cohort's curriculum held as sessions: all but field practice."""
    return {m.id: m for m in modules_of(cohort.curriculum_version_id) if not m.is_field}


def _plan(form: SessionForm, modules: dict[int, Module]) -> SessionPlan:
    """What a validated form says: its fields are all required, its hours whole minutes."""
    held_on, starts_at, place = form.held_on.data, form.starts_at.data, form.place.data
    minutes = hours_to_minutes(form.hours.data)
    if held_on is None or starts_at is None or place is None:
        raise UnvalidatedForm
    if minutes is None:
        raise UnvalidatedForm
    return SessionPlan(modules[form.module_id.data], held_on, starts_at, minutes, place)


def _module_choices(form: SessionForm, modules: dict[int, Module]) -> None:
    form.module_id.choices = options(
        (m.id, f"{m.number}. {localized(m, 'title')}") for m in modules.values()
    )


@bp.get("/cohorts/<int:cohort_id>/sessions")
@role_required(*STAFF)
def sessions(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user)
    found = list_sessions(cohort)
    return render_template(
        "hours/sessions.html", cohort=cohort, sessions=found, counts=roll_counts(cohort, found)
    )


@bp.route("/cohorts/<int:cohort_id>/sessions/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new_session(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user)
    modules, form = _session_modules(cohort), SessionForm()
    _module_choices(form, modules)

    def page():
        return render_template("hours/session_form.html", form=form, cohort=cohort, session=None)

    if form.validate_on_submit():
        return perform(
            lambda: schedule_session(cohort, _plan(form, modules), current_user),
            form=form,
            fail=page,
            done=_("The session has been scheduled."),
            then=lambda session: redirect(url_for(".attendance", session_id=session.id)),
        )
    return page()


def _edit_page(session, form: SessionForm, cancel_form: CancelSessionForm | None = None):
    return render_template(
        "hours/session_form.html",
        form=form,
        cohort=session.cohort,
        session=session,
        cancel_form=cancel_form or CancelSessionForm(formdata=None),
    )


def _session_form(session, modules: dict[int, Module], sent: bool = True) -> SessionForm:
    """The edit form: as sent, or (``sent`` False) the session as it is."""
    hours = session.minutes / 60
    if sent:
        form = SessionForm(obj=session, hours=hours)
    else:
        form = SessionForm(formdata=None, obj=session, hours=hours)
    _module_choices(form, modules)
    return form


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def edit_session(session_id: int):
    session = get_session_or_403(session_id, current_user)
    modules = _session_modules(session.cohort)
    form = _session_form(session, modules)
    if form.validate_on_submit():
        return perform(
            lambda: update_session(session, _plan(form, modules), current_user),
            form=form,
            fail=lambda: _edit_page(session, form),
            done=_("The session has been saved."),
            then=url_for(".sessions", cohort_id=session.cohort_id),
        )
    return _edit_page(session, form)


@bp.post("/sessions/<int:session_id>/cancel")
@role_required(*STAFF)
def cancel_session(session_id: int):
    session = get_session_or_403(session_id, current_user)
    form = CancelSessionForm()

    def page():
        modules = _session_modules(session.cohort)
        return _edit_page(session, _session_form(session, modules, sent=False), form)

    if form.validate_on_submit():
        return perform(
            lambda: call_off_session(session, form.reason.data or "", current_user),
            form=form,
            fail=page,
            done=_("The session has been cancelled; calendars will show it as cancelled."),
            then=url_for(".sessions", cohort_id=session.cohort_id),
        )
    return page()


@bp.route("/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
@role_required(*STAFF)
def attendance(session_id: int):
    session = get_session_or_403(session_id, current_user)
    roll = session_roll(session)
    form = _attendance_form(roll)
    names = {e.id: e for e, _a in roll}

    def page(filled: bool = False):
        return render_template(
            "hours/attendance.html", session=session, form=form, learners=names, filled=filled
        )

    if form.is_submitted() and form.all_present.data:
        for row in form.marks:  # nothing is saved: the instructor checks, then saves
            row.status.data = row.status.data or AttendanceStatus.PRESENT.value
        return page(filled=True)
    if form.validate_on_submit():
        return perform(
            lambda: record_attendance(session, _marks(form), current_user),
            fail=page,
            done=lambda counts: _(
                "Attendance saved: %(recorded)s marked, %(corrected)s corrected.", **counts
            ),
            then=lambda _counts: _saved(session),
        )
    return page()


def _saved(session):
    """Back to the sessions, saying who is still unmarked (kept unmarked, credited nothing)."""
    unmarked = unmarked_learners(session)
    if unmarked:
        flash(
            _(
                "Still unmarked, credited nothing until you mark them: %(names)s.",
                names=", ".join(localized(e.learner, "full_name") for e in unmarked),
            ),
            "warning",
        )
    return redirect(url_for(".sessions", cohort_id=session.cohort_id))


def _attendance_form(roll) -> AttendanceForm:
    """The form as sent, or (on the first visit) the roll as recorded; a learner not yet
    marked starts unmarked, never present by default."""
    form = AttendanceForm()
    if form.is_submitted():
        return form
    return AttendanceForm(
        data={
            "marks": [
                {
                    "enrolment_id": e.id,
                    "status": a.status.value if a else None,
                    "hours": a.minutes / 60 if a and a.status is AttendanceStatus.LATE else None,
                }
                for e, a in roll
            ]
        }
    )


def _marks(form: AttendanceForm) -> list[Mark]:
    """The rows of the form as marks; a row naming no enrolment is refused."""
    marks = []
    for row in form.marks:
        if not row.status.data:
            continue  # left unmarked: kept unmarked
        enrolment_id = row.enrolment_id.data or ""
        if not enrolment_id.isdigit():
            raise RuleError(_("Someone on the form is not a learner of this cohort."))
        marks.append(
            Mark(
                int(enrolment_id),
                AttendanceStatus(row.status.data),
                hours_to_minutes(row.hours.data),
            )
        )
    return marks
