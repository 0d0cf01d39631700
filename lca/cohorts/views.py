from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.admin.services import city_options
from lca.cohorts import bp
from lca.cohorts.curriculum_move import (
    cohort_moves,
    find_target_version,
    move_cohort,
    preview_move,
    version_by_id,
)
from lca.cohorts.field_window import (
    FAR_EXTENSION_MONTHS,
    extend_field_window,
    far_extension_limit,
    field_window_history,
    latest_approved_field_day,
    original_field_end,
)
from lca.cohorts.forms import (
    AssignInstructorForm,
    CohortForm,
    CurriculumMoveForm,
    EnrolForm,
    FieldWindowForm,
    NewCohortForm,
    WithdrawForm,
)
from lca.cohorts.services import (
    CohortPlan,
    assign_instructor,
    assignable_instructors,
    cohort_instructors_of,
    cohort_roster,
    create_cohort,
    enrol_learner,
    find_learner,
    list_cohorts,
    unassign_instructor,
    update_cohort,
    withdraw_enrolment,
)
from lca.curriculum.services import list_versions, version_numbered
from lca.models import City, Cohort, CurriculumVersion, Enrolment, Role, User
from lca.web.forms import UnvalidatedForm, options
from lca.web.i18n import localized
from lca.web.pages import MAX_DATABASE_INT, perform
from lca.web.permissions import get_cohort_or_403, get_or_404, role_required


def _version_choices(form: NewCohortForm) -> None:
    versions = list_versions()
    form.curriculum_version_id.choices = options(
        (v.id, localized(v, "name")) for v in reversed(versions)
    )
    if form.curriculum_version_id.data is None and versions:
        form.curriculum_version_id.data = versions[-1].id


def _plan(form: CohortForm) -> CohortPlan:
    """What a validated form says: all but the field practice's start are required."""
    code, starts_on, ends_on = form.code.data, form.starts_on.data, form.ends_on.data
    months = form.field_window_months.data
    if code is None or starts_on is None or ends_on is None:
        raise UnvalidatedForm
    if months is None:
        raise UnvalidatedForm
    return CohortPlan(
        code=code,
        host_city=get_or_404(City, form.host_city_id.data),
        starts_on=starts_on,
        ends_on=ends_on,
        field_starts_on=form.field_starts_on.data or starts_on,
        field_window_months=months,
        curriculum_version=(
            get_or_404(CurriculumVersion, form.curriculum_version_id.data)
            if isinstance(form, NewCohortForm) and form.curriculum_version_id.data
            else None  # the current one
        ),
    )


@bp.get("/")
@role_required(Role.ADMIN, Role.INSTRUCTOR)
def index():
    return render_template("cohorts/index.html", cohorts=list_cohorts(current_user))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new():
    form = NewCohortForm()
    form.host_city_id.choices = options(city_options())
    _version_choices(form)

    def page():
        return render_template("cohorts/form.html", form=form, cohort=None)

    if form.validate_on_submit():
        return perform(
            lambda: create_cohort(_plan(form), current_user),
            form=form,
            fail=page,
            done=lambda cohort: _("Cohort %(code)s has been created.", code=cohort.code),
            then=lambda cohort: redirect(url_for(".show", cohort_id=cohort.id)),
        )
    return page()


@bp.route("/<int:cohort_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    form = CohortForm(obj=cohort)
    form.host_city_id.choices = options(city_options())

    def page():
        return render_template("cohorts/form.html", form=form, cohort=cohort)

    if form.validate_on_submit():
        return perform(
            lambda: update_cohort(cohort, _plan(form), current_user),
            form=form,
            fail=page,
            done=_("The cohort has been saved."),
            then=url_for(".show", cohort_id=cohort.id),
        )
    return page()


def _show(cohort, assign_form=None, enrol_form=None):
    assign_form = assign_form or AssignInstructorForm(formdata=None)
    assign_form.instructor_id.choices = options(
        (user.id, f"{user.full_name_th} ({user.email})") for user in assignable_instructors(cohort)
    )
    roster = cohort_roster(cohort)
    return render_template(
        "cohorts/show.html",
        cohort=cohort,
        instructors=cohort_instructors_of(cohort),
        roster=roster,
        moves=cohort_moves(cohort),
        active_count=sum(1 for enrolment in roster if enrolment.is_active),
        assign_form=assign_form,
        enrol_form=enrol_form or EnrolForm(formdata=None),
    )


@bp.get("/<int:cohort_id>")
@role_required(Role.ADMIN, Role.INSTRUCTOR)
def show(cohort_id: int):
    return _show(get_cohort_or_403(cohort_id, current_user))


@bp.post("/<int:cohort_id>/instructors")
@role_required(Role.ADMIN)
def assign(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    form = AssignInstructorForm()
    form.instructor_id.choices = options((u.id, "") for u in assignable_instructors(cohort))
    if form.validate_on_submit():
        return perform(
            lambda: assign_instructor(
                cohort, get_or_404(User, form.instructor_id.data), current_user
            ),
            form=form,
            fail=lambda: _show(cohort, assign_form=form),
            done=_("The instructor has been assigned."),
            then=url_for(".show", cohort_id=cohort.id),
        )
    return _show(cohort, assign_form=form)


@bp.post("/<int:cohort_id>/instructors/<int:user_id>/remove")
@role_required(Role.ADMIN)
def unassign(cohort_id: int, user_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    return perform(
        lambda: unassign_instructor(cohort, get_or_404(User, user_id), current_user),
        done=_("The instructor has been removed from the cohort."),
        then=url_for(".show", cohort_id=cohort.id),
    )


@bp.post("/<int:cohort_id>/enrolments")
@role_required(Role.ADMIN)
def enrol(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    form = EnrolForm()
    if form.validate_on_submit():
        email = form.email.data
        if email is None:
            raise UnvalidatedForm
        return perform(
            lambda: enrol_learner(cohort, find_learner(email), current_user),
            form=form,
            fail=lambda: _show(cohort, enrol_form=form),
            done=lambda enrolment: _(
                "%(name)s has been enrolled.", name=enrolment.learner.full_name_th
            ),
            then=url_for(".show", cohort_id=cohort.id),
        )
    return _show(cohort, enrol_form=form)


def _enrolment_in(cohort_id: int, enrolment_id: int) -> tuple[Cohort, Enrolment]:
    """The cohort (its admin's to manage) and one of its enrolments; another cohort's is 404."""
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    enrolment = get_or_404(Enrolment, enrolment_id)
    if enrolment.cohort_id != cohort.id:
        abort(404)
    return cohort, enrolment


@bp.route("/<int:cohort_id>/enrolments/<int:enrolment_id>/withdraw", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def withdraw(cohort_id: int, enrolment_id: int):
    cohort, enrolment = _enrolment_in(cohort_id, enrolment_id)
    form = WithdrawForm()

    def page():
        return render_template(
            "cohorts/withdraw.html", form=form, cohort=cohort, enrolment=enrolment
        )

    if form.validate_on_submit():
        reason = form.reason.data
        if reason is None:
            raise UnvalidatedForm
        return perform(
            lambda: withdraw_enrolment(enrolment, reason, current_user),
            form=form,
            fail=page,
            done=_("The learner has been withdrawn."),
            then=url_for(".show", cohort_id=cohort.id),
        )
    return page()


@bp.route("/<int:cohort_id>/enrolments/<int:enrolment_id>/field-window", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def field_window(cohort_id: int, enrolment_id: int):
    cohort, enrolment = _enrolment_in(cohort_id, enrolment_id)
    form = FieldWindowForm()

    def page():
        return render_template(
            "cohorts/field_window.html",
            form=form,
            cohort=cohort,
            enrolment=enrolment,
            extensions=field_window_history(enrolment),
            original_end=original_field_end(enrolment),
            approved_until=latest_approved_field_day(enrolment),
            far_limit=far_extension_limit(enrolment),
            far_months=FAR_EXTENSION_MONTHS,
        )

    if form.validate_on_submit():
        extended_to, reason = form.extended_to.data, form.reason.data
        if extended_to is None or reason is None:
            raise UnvalidatedForm
        return perform(
            lambda: extend_field_window(
                enrolment, extended_to, reason, current_user, confirmed=form.confirm.data
            ),
            form=form,
            fail=page,
            done=_("The field window has been changed."),
            then=url_for(".field_window", cohort_id=cohort.id, enrolment_id=enrolment.id),
        )
    return page()


def _previewed(form: CurriculumMoveForm) -> CurriculumVersion | None:
    """The version the page previews a move to: the one posted, or ``?version=<number>`` (a
    number that no version has is not found); None when none is chosen."""
    if form.is_submitted():
        return version_by_id(form.version_id.data)
    number = request.args.get("version", type=int)
    if number is None:
        return None
    version = version_numbered(number) if 1 <= number <= MAX_DATABASE_INT else None
    if version is None:
        abort(404)
    return version


@bp.route("/<int:cohort_id>/curriculum", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def curriculum(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    form = CurriculumMoveForm()

    def page():
        target = _previewed(form)
        moving = target is not None and target.id != cohort.curriculum_version_id
        return render_template(
            "cohorts/curriculum.html",
            cohort=cohort,
            form=form,
            versions=list_versions(),
            target=target,
            preview=preview_move(cohort, target) if target and moving else None,
            moves=cohort_moves(cohort),
        )

    if form.validate_on_submit():
        expected, reason = form.expected_version_id.data, form.reason.data
        if expected is None or reason is None:
            raise UnvalidatedForm
        return perform(
            lambda: move_cohort(
                cohort,
                find_target_version(form.version_id.data),
                expected_version_id=expected,
                reason=reason,
                certificates_stand=form.certificates_stand.data,
                actor=current_user,
            ),
            form=form,
            fail=page,
            done=lambda move: _(
                "Cohort %(code)s now follows the curriculum %(name)s.",
                code=cohort.code,
                name=localized(move.to_version, "name"),
            ),
            then=url_for(".show", cohort_id=cohort.id),
        )
    return page()
