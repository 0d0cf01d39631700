"""Progress for staff: the cohort matrix (and its CSV), one learner's progress and field window."""

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.cohorts.field_window import field_window_history, set_field_start
from lca.core.collation import thai_sort_key
from lca.core.dates import format_day
from lca.hours import bp
from lca.hours.behind import lags, minutes_held
from lca.hours.forms import FieldStartForm
from lca.hours.progress import cohort_progress, progress_of
from lca.hours.services import learner_logs
from lca.models import Role
from lca.web.downloads import csv_response
from lca.web.i18n import format_hours, label, localized
from lca.web.pages import perform
from lca.web.permissions import get_cohort_or_403, get_enrolment_or_403, role_required

STAFF = (Role.ADMIN, Role.INSTRUCTOR)
MAX_QUERY = 100  #: characters of a name searched for in the cohort matrix
SORTS = {
    "name": lambda p: thai_sort_key(p.enrolment.learner.full_name_th),
    "city": lambda p: thai_sort_key(
        p.enrolment.learner.city.name_th if p.enrolment.learner.city else ""
    ),
    "total": lambda p: p.counted_minutes,
}


def _sorted(rows, key: str, descending: bool):
    """Rows sorted by name, city, total or one module's approved hours (``module-5``)."""
    numbers = {m.module.number for m in rows[0].modules} if rows else set()
    if key.startswith("module-") and key[7:].isdigit() and int(key[7:]) in numbers:
        number = int(key[7:])
        return sorted(rows, key=lambda p: p.module(number).approved_minutes, reverse=descending)
    return sorted(rows, key=SORTS.get(key, SORTS["name"]), reverse=descending)


def _filters() -> dict[str, str]:
    """The matrix's filters from the query string: only these keys, trimmed, go into links."""
    query = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    behind = "1" if request.args.get("behind") == "1" else ""
    return {key: value for key, value in (("q", query), ("behind", behind)) if value}


def _matches(progress, query: str) -> bool:
    """The learner's name (in Thai or English) or e-mail address holds the words searched for."""
    learner = progress.enrolment.learner
    names = f"{learner.full_name_th} {learner.full_name_en or ''} {learner.email}".casefold()
    return all(word in names for word in query.casefold().split())


@bp.get("/cohorts/<int:cohort_id>/progress")
@role_required(*STAFF)
def cohort_matrix(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user)
    rows = cohort_progress(cohort)
    held = minutes_held(cohort, rows[0].today) if rows else {}
    lag = {p.enrolment.id: lags(p, held) for p in rows}
    filters = _filters()
    shown = [
        p
        for p in rows
        if _matches(p, filters.get("q", "")) and (lag[p.enrolment.id] or "behind" not in filters)
    ]
    sort, descending = request.args.get("sort", "name"), request.args.get("dir") == "desc"
    return render_template(
        "hours/matrix.html",
        cohort=cohort,
        rows=_sorted(shown, sort, descending),
        total=len(rows),
        modules=rows[0].modules if rows else [],
        lags=lag,
        filters=filters,
        sort=sort if sort in SORTS or sort.startswith("module-") else "name",
        descending=descending,
    )


@bp.get("/cohorts/<int:cohort_id>/progress.csv")
@role_required(*STAFF)
def cohort_matrix_csv(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user)
    rows = cohort_progress(cohort)
    modules = rows[0].modules if rows else []
    header = [
        _("Name"),
        _("Name in English"),
        _("E-mail address"),
        _("City"),
        _("Status"),
        *(_("Module %(number)s", number=m.module.number) for m in modules),
        _("Approved hours"),
        _("Hours waiting for review"),
        _("Field window ends"),
        _("All hours complete"),
        _("Field report"),
        _("Eligible for the certificate"),
    ]

    def lines():
        for p in rows:
            learner = p.enrolment.learner
            yield [
                learner.full_name_th,
                learner.full_name_en,
                learner.email,
                localized(learner.city, "name") if learner.city else "",
                label(p.enrolment.status),
                *(format_hours(m.approved_minutes / 60) for m in p.modules),
                format_hours(p.counted_minutes / 60),
                format_hours(p.pending_minutes / 60),
                format_day(p.window_ends_on),
                _("yes") if p.hours_complete else _("no"),
                label(p.report_status) if p.report_status else "",
                _("yes") if p.is_eligible else _("no"),
            ]

    return csv_response(header, lines(), f"progress-{cohort.code}.csv")


@bp.get("/enrolments/<int:enrolment_id>")
@role_required(*STAFF)
def enrolment(enrolment_id: int):
    enrolment = get_enrolment_or_403(enrolment_id, current_user)
    return _enrolment_page(enrolment)


def _enrolment_page(enrolment, start_form=None):
    [progress] = progress_of([enrolment])
    logs = learner_logs(enrolment.learner, enrolment)
    return render_template(
        "hours/enrolment.html",
        enrolment=enrolment,
        progress=progress,
        logs=logs,
        extensions=field_window_history(enrolment),
        start_form=start_form
        or FieldStartForm(formdata=None, field_starts_on=enrolment.field_starts_on),
    )


@bp.post("/enrolments/<int:enrolment_id>/field-start")
@role_required(Role.ADMIN)
def field_start(enrolment_id: int):
    enrolment = get_enrolment_or_403(enrolment_id, current_user, action="manage")
    form = FieldStartForm()
    if form.validate_on_submit():
        return perform(
            lambda: set_field_start(enrolment, form.field_starts_on.data, current_user),
            form=form,
            fail=lambda: _enrolment_page(enrolment, start_form=form),
            done=_("The field window has been saved."),
            then=url_for(".enrolment", enrolment_id=enrolment_id),
        )
    return _enrolment_page(enrolment, start_form=form)
