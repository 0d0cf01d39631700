from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.admin import bp
from lca.admin.forms import CityForm, UserForm, UserSearchForm
from lca.admin.services import (
    CityDetails,
    city_options,
    create_city,
    list_cities_with_counts,
    programme_counts,
    update_city,
    users_query,
)
from lca.auth.second_factor import has_second_factor, has_totp, passkeys_of
from lca.auth.second_factor import reset_second_factor as reset_second_factor_of
from lca.auth.second_factor_throttle import forget_failures as forget_second_factor_failures
from lca.auth.services import (
    Profile,
    activate_user,
    create_user,
    deactivate_user,
    has_unused_invitation,
    reset_password,
    sign_out_user,
    update_user,
)
from lca.auth.sessions import open_sessions
from lca.auth.throttle import forget_failures, forget_password_checks
from lca.certificates.services import cohorts_with_certificates_to_issue
from lca.core.db import db
from lca.models import City, Role, User
from lca.web.forms import UnvalidatedForm, options, read_filters
from lca.web.pages import page_number, perform
from lca.web.permissions import get_or_404, role_required


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    return render_template(
        "admin/index.html",
        counts=programme_counts(),
        to_issue=cohorts_with_certificates_to_issue(),
    )


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    form = UserSearchForm(request.args)
    read_filters(form)
    role = Role(form.role.data) if form.role.data in {r.value for r in Role} else None
    active = {"active": True, "inactive": False}.get(form.status.data)
    page = db.paginate(
        users_query(form.q.data or "", role, active),
        page=page_number(),
        per_page=current_app.config["LCA_PAGE_SIZE"],
        error_out=False,
    )
    return render_template("admin/users.html", form=form, page=page)


def _city_choices():
    return options([(0, _("No city")), *city_options()])


def _profile(form: UserForm) -> Profile:
    """What a validated form says: the e-mail address and the Thai name are required."""
    email, full_name_th = form.email.data, form.full_name_th.data
    if email is None or full_name_th is None:
        raise UnvalidatedForm
    return Profile(
        email=email,
        full_name_th=full_name_th,
        full_name_en=form.full_name_en.data,
        role=Role(form.role.data),
        city=db.session.get(City, form.city_id.data) if form.city_id.data else None,
        organisation=form.organisation.data,
        preferred_language=form.preferred_language.data,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_user():
    form = UserForm()
    form.city_id.choices = _city_choices()

    def page():
        return render_template("admin/user_form.html", form=form, user=None)

    if form.validate_on_submit():
        return perform(
            lambda: create_user(_profile(form), None, current_user),
            form=form,
            fail=page,
            # The person is invited by e-mail to choose a password (no password is shown).
            then=lambda made: render_template("admin/user_created.html", user=made[0]),
        )
    return page()


def _second_factor_of(user: User) -> dict[str, object]:
    return {
        "any": has_second_factor(user),
        "app": has_totp(user),
        "passkeys": len(passkeys_of(user)),
    }


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_user(user_id: int):
    user = get_or_404(User, user_id)
    form = UserForm(obj=user, role=user.role.value, city_id=user.city_id or 0)
    form.city_id.choices = _city_choices()

    def page():
        return render_template(
            "admin/user_form.html",
            form=form,
            user=user,
            open_sessions=len(open_sessions(user)),
            invited=has_unused_invitation(user),
            second_factor=_second_factor_of(user),
        )

    if form.validate_on_submit():
        return perform(
            lambda: update_user(user, _profile(form), current_user),
            form=form,
            fail=page,
            done=_("The account has been saved."),
            then=url_for(".users"),
        )
    return page()


@bp.post("/users/<int:user_id>/reset-password")
@role_required(Role.ADMIN)
def reset(user_id: int):
    user = get_or_404(User, user_id)

    def shown(password: str):
        forget_failures(user.email)  # a throttled person can sign in with the new password now
        forget_password_checks(user.id)
        # Shown once, in this response only: never stored, never put in a cookie.
        return render_template("admin/user_created.html", user=user, password=password, reset=True)

    return perform(
        lambda: reset_password(user, current_user),
        then=shown,
        fail=url_for(".edit_user", user_id=user_id),
    )


@bp.post("/users/<int:user_id>/second-factor/reset")
@role_required(Role.ADMIN)
def reset_second_factor(user_id: int):
    """A lost phone or passkey: the person's second factors go, and they are told."""
    user = get_or_404(User, user_id)
    return perform(
        lambda: _reset_second_factor(user, current_user),
        done=_("The second factor is reset. The person is told, and sets up a new one."),
        then=url_for(".edit_user", user_id=user_id),
    )


def _reset_second_factor(user: User, actor: User) -> None:
    reset_second_factor_of(user, actor)
    forget_second_factor_failures(user.id)  # a locked-out person can sign in again


@bp.post("/users/<int:user_id>/sign-out")
@role_required(Role.ADMIN)
def sign_out(user_id: int):
    return _switch(user_id, sign_out_user, _("The person is now signed out on every device."))


@bp.post("/users/<int:user_id>/deactivate")
@role_required(Role.ADMIN)
def deactivate(user_id: int):
    return _switch(user_id, deactivate_user, _("The account has been deactivated."))


@bp.post("/users/<int:user_id>/activate")
@role_required(Role.ADMIN)
def activate(user_id: int):
    return _switch(user_id, activate_user, _("The account has been activated."))


def _switch(user_id: int, service, done: str):
    user = get_or_404(User, user_id)
    return perform(
        lambda: service(user, current_user),
        done=done,
        then=url_for(".edit_user", user_id=user_id),
    )


@bp.get("/cities")
@role_required(Role.ADMIN)
def cities():
    return render_template("admin/cities.html", rows=list_cities_with_counts())


def _details(form: CityForm) -> CityDetails:
    """What a validated form says: both names are required."""
    name_th, name_en = form.name_th.data, form.name_en.data
    if name_th is None or name_en is None:
        raise UnvalidatedForm
    return CityDetails(name_th, name_en, form.gnlc_joined_year.data)


@bp.route("/cities/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_city():
    form = CityForm()

    def page():
        return render_template("admin/city_form.html", form=form, city=None)

    if form.validate_on_submit():
        return perform(
            lambda: create_city(_details(form), current_user),
            form=form,
            fail=page,
            done=lambda city: _("The city %(name)s has been added.", name=city.name_th),
            then=url_for(".cities"),
        )
    return page()


@bp.route("/cities/<int:city_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_city(city_id: int):
    city = get_or_404(City, city_id)
    form = CityForm(obj=city)

    def page():
        return render_template("admin/city_form.html", form=form, city=city)

    if form.validate_on_submit():
        return perform(
            lambda: update_city(city, _details(form), current_user),
            form=form,
            fail=page,
            done=_("The city has been saved."),
            then=url_for(".cities"),
        )
    return page()
