from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from lca.auth import bp
from lca.auth.forms import (
    ChangePasswordForm,
    ConfirmEndSessionForm,
    EndSessionForm,
    ForgotPasswordForm,
    LoginForm,
    PreferencesForm,
    RenewCalendarForm,
    SetPasswordForm,
    SignOutEverywhereForm,
)
from lca.auth.reauth import mark_recent_proof
from lca.auth.second_factor import has_second_factor
from lca.auth.second_step import begin_second_step
from lca.auth.services import (
    ResetLink,
    authenticate,
    change_password,
    check_reset_token,
    complete_setup,
    end_other_session,
    request_password_reset,
    reset_password_by_link,
    set_preferred_language,
    sign_out_everywhere_else,
    tell_new_sign_in,
    user_for_setup_token,
)
from lca.auth.sessions import (
    describe_device,
    device_names,
    end_session,
    is_current,
    is_new_device,
    open_sessions,
    start_session,
)
from lca.auth.throttle import (
    count_failure,
    forget_failures,
    minutes_to_wait,
    password_checks_locked,
)
from lca.core.db import db
from lca.hours.calendar_feed import feed_url, has_calendar, renew_calendar_feed, webcal_url
from lca.models import User, UserSession
from lca.web.addresses import this_page
from lca.web.extensions import limiter
from lca.web.forms import UnvalidatedForm
from lca.web.i18n import requested_language
from lca.web.pages import MAX_DATABASE_INT, is_local_path, perform, role_home_url
from lca.web.permissions import public, signed_in


def _login_limit() -> str:
    return current_app.config["LCA_LOGIN_RATE_LIMIT"]


def _sign_in_failed(response: Response) -> bool:
    """Only refused sign-ins count against the address: a successful one redirects.

    A class of fifty signing in together from one Wi-Fi (one address behind NAT) is never
    throttled; many accounts failing from one address still are.
    """
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_sign_in_failed)
@public
def login():
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        wait = minutes_to_wait(form.email.data)
        if wait is not None:  # the password is not even checked
            return _throttled(form, wait)
        target = request.args.get("next")
        return perform(
            lambda: _password_passed(
                authenticate(form.email.data, form.password.data), form.remember.data, target
            ),
            keep_refused=True,  # keep the audit of the failed attempt
            fail=lambda: _refused_sign_in(form),
            then=redirect,
        )
    return render_template("auth/login.html", form=form)


def _throttled(form: LoginForm, wait: int):
    flash(
        ngettext(
            "Too many failed sign-ins for this account. Try again in %(num)d minute, or "
            "ask the programme staff to reset your password.",
            "Too many failed sign-ins for this account. Try again in %(num)d minutes, or "
            "ask the programme staff to reset your password.",
            wait,
        ),
        "error",
    )
    return render_template("auth/login.html", form=form), 429


def _password_passed(user: User, remember: bool, target: str | None) -> str:
    """After a correct password: the second step for someone with a second factor (no session
    yet), else signed in; where to go next."""
    if has_second_factor(user):
        begin_second_step(user, remember, target)
        return url_for(".second_step")
    _sign_in(user, remember)
    return after_sign_in(user, target)


def after_sign_in(user: User, target: str | None) -> str:
    """Where a sign-in leads: the page asked for (on this site), else the person's home."""
    return target if target is not None and is_local_path(target) else role_home_url(user)


def _sign_in(user: User, remember: bool = False, second_factor: str | None = None) -> User:
    """A new session on this device for ``user``, keeping the language chosen before;
    ``second_factor``: how the second step was passed, if there was one."""
    language = session.get("lang")
    session.clear()
    new_device = is_new_device(user)
    start_session(user, remember=remember, second_factor=second_factor)
    mark_recent_proof()  # the password (and the second step) just now: see lca/auth/reauth.py
    if new_device:
        tell_new_sign_in(user, device_names(request.user_agent.string), request.remote_addr)
    login_user(user, remember=remember)
    _keep_language(user, language)
    return user


def _refused_sign_in(form: LoginForm):
    count_failure(form.email.data)
    return render_template("auth/login.html", form=form)


def _keep_language(user: User, language: str | None) -> None:
    """The language chosen for this session stays, and becomes the person's preference."""
    if language is not None and language in current_app.config["LCA_LANGUAGES"]:
        _choose_language(user, language)


def _choose_language(user: User, language: str) -> None:
    set_preferred_language(user, language)
    session["lang"] = language


@bp.before_app_request
def save_language_choice():
    """``?lang=xx`` from a signed-in person whose preference differs: save the preference
    (a write of its own, committed once), then show the same page without ``lang``."""
    wanted = requested_language()
    if (
        wanted is None
        or request.method not in ("GET", "HEAD")
        or not current_user.is_authenticated
        or current_user.preferred_language == wanted
    ):
        return None
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    same_page = this_page(args)
    return perform(
        lambda: _choose_language(current_user, wanted),
        then=lambda _done: redirect(same_page, 303),
        fail=lambda: redirect(same_page, 303),
    )


@bp.post("/logout")
@signed_in
def logout():
    return perform(_sign_out, done=_("You have signed out."), then=url_for("home.index"))


def _sign_out() -> None:
    """End this device's session; the language chosen for it stays."""
    language = session.get("lang")
    end_session(current_user.session_token)
    session.clear()
    logout_user()  # after the clear: it leaves the order to delete the remember-me cookie
    if language:
        session["lang"] = language


def _account_page(form=None, sign_out_form=None) -> str:
    form = form or PreferencesForm(preferred_language=current_user.preferred_language)
    sign_out_form = sign_out_form or SignOutEverywhereForm()
    sessions = [
        (row, describe_device(row.user_agent), is_current(row, current_user))
        for row in open_sessions(current_user)
    ]
    calendar = None
    if has_calendar(current_user):
        calendar = {
            "url": feed_url(current_user),
            "webcal": webcal_url(current_user),
            "form": RenewCalendarForm(),
        }
    return render_template(
        "auth/account.html",
        form=form,
        sign_out_form=sign_out_form,
        sessions=sessions,
        calendar=calendar,
    )


@bp.get("/account")
@signed_in
def account():
    return _account_page()


@bp.post("/account/sign-out-everywhere")
@signed_in
def sign_out_everywhere():
    form = SignOutEverywhereForm()
    if form.validate_on_submit():
        return perform(
            lambda: sign_out_everywhere_else(current_user, form.current_password.data),
            form=form,
            keep_refused=True,  # keep the audit of a wrong current password
            fail=lambda: _after_wrong_password() or _account_page(sign_out_form=form),
            done=_("You are now signed out on every other device."),
            then=url_for(".account"),
        )
    return _account_page(sign_out_form=form)


@bp.post("/account/calendar/renew")
@signed_in
def renew_calendar():
    """A new calendar address; the calendar apps subscribed to the old one stop updating."""
    if not RenewCalendarForm().validate_on_submit():
        flash(_("The page had expired: press “Renew the address” again."), "error")
        return redirect(url_for(".account"))
    return perform(
        lambda: renew_calendar_feed(current_user),
        done=_(
            "Your calendar has a new address. Subscribe to it again in your calendar app: "
            "the old address no longer works."
        ),
        then=url_for(".account", _anchor="calendar-heading"),
    )


@bp.post("/account/preferences")
@signed_in
def preferences():
    form = PreferencesForm()
    if form.validate_on_submit():
        return perform(
            lambda: _choose_language(current_user, form.preferred_language.data),
            form=form,
            fail=lambda: _account_page(form=form),
            done=_("Your preferences are saved."),
            then=url_for(".account"),
        )
    return _account_page(form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def password():
    form = ChangePasswordForm()

    def page():
        return render_template("auth/password.html", form=form)

    if form.validate_on_submit():
        current, new = form.current_password.data, form.new_password.data
        return perform(  # every other session of the account ends
            lambda: change_password(current_user, current, new),
            form=form,
            keep_refused=True,  # keep the audit of a wrong current password
            fail=lambda: _after_wrong_password() or page(),
            done=_("Your password has been changed."),
            then=lambda _done: redirect(role_home_url(current_user)),
        )
    return page()


def _after_wrong_password():
    """After too many wrong current passwords the session has ended (the service ended it):
    sign this browser out too, and go to the sign-in page, which says why. None otherwise."""
    if not password_checks_locked(current_user.id):
        return None
    messages = session.get("_flashes", [])
    language = session.get("lang")
    session.clear()
    logout_user()
    if language:
        session["lang"] = language
    session["_flashes"] = messages  # the message of the refusal, for the sign-in page
    return redirect(url_for(".login"))


@bp.post("/account/sessions/end")
@signed_in
def end_one_session():
    """End one other session of the account. Its row's button names it (a session that is not
    the person's own is not even there: 404) and brings this page, which asks for the current
    password (counted like every current-password check); the page's form ends it."""
    confirming = "current_password" in request.form
    form = ConfirmEndSessionForm() if confirming else EndSessionForm()
    wanted = form.session_id.data if form.session_id.validate(form) else None
    if wanted is None or form.session_id.errors:
        flash(_("Choose the session to end from the list."), "error")
        return redirect(url_for(".account"))
    row = db.session.get(UserSession, wanted) if 0 < wanted <= MAX_DATABASE_INT else None
    if row is None or row.user_id != current_user.id:
        abort(404)

    # the first step (the row's button) shows the form that asks for the password
    shown = form if confirming else ConfirmEndSessionForm(formdata=None, session_id=wanted)

    def page():
        return render_template(
            "auth/end_session.html", form=shown, row=row, device=describe_device(row.user_agent)
        )

    if not confirming or not form.validate_on_submit():
        return page()
    password = form.current_password.data
    return perform(
        lambda: end_other_session(current_user, row, password),
        form=form,
        keep_refused=True,  # keep the audit of a wrong current password
        fail=lambda: _after_wrong_password() or page(),
        done=_("That session has ended: the device is signed out."),
        then=url_for(".account"),
    )


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str):
    """A one-time link from an import: the person chooses their own password."""
    user = user_for_setup_token(token)
    if user is None:
        return render_template("auth/set_password.html", form=None), 404
    form = SetPasswordForm()

    def page():
        return render_template("auth/set_password.html", form=form, user=user)

    if form.validate_on_submit():
        password = form.new_password.data
        if password is None:
            raise UnvalidatedForm
        return perform(  # the language chosen on this page stays
            lambda: _set_up(user, password),
            form=form,
            fail=page,
            done=_("Your password is set. Welcome!"),
            then=lambda _done: redirect(role_home_url(user)),
        )
    return page()


def _set_up(user: User, password: str) -> None:
    complete_setup(user, password)
    _sign_in(user)


def _reset_limit() -> str:
    return current_app.config["LCA_RESET_RATE_LIMIT"]


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@public
def forgot_password():
    """The same answer, after the same work, whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data
        if email is None:
            raise UnvalidatedForm
        return perform(
            lambda: request_password_reset(email),
            done=_(
                "If %(email)s belongs to an account, a link to choose a new password is on its "
                "way there. It works for one hour.",
                email=email,
            ),
            then=url_for(".login"),
        )
    return render_template("auth/forgot_password.html", form=form)


#: the status of the page for a link that does not work
BROKEN_LINK_STATUS = {ResetLink.UNKNOWN: 404, ResetLink.EXPIRED: 410, ResetLink.DEACTIVATED: 403}


@bp.route("/reset-password/<reset_token>", methods=["GET", "POST"])
@public
def reset_password_link(reset_token: str):
    """A forgot-password link: the person chooses a new password; every session ends."""
    state, user = check_reset_token(reset_token)
    if user is None:
        broken = render_template("auth/reset_password.html", form=None, state=state.value)
        return broken, BROKEN_LINK_STATUS.get(state, 404)
    form = SetPasswordForm()

    def page():
        return render_template("auth/reset_password.html", form=form, user=user, state="works")

    if form.validate_on_submit():
        password = form.new_password.data
        if password is None:
            raise UnvalidatedForm
        return perform(
            lambda: reset_password_by_link(user, password),
            form=form,
            fail=page,
            done=_("Your password has been changed. Sign in with it."),
            then=lambda _done: _after_reset(user),
        )
    return page()


def _after_reset(user: User):
    forget_failures(user.email)  # a throttled person can sign in with the new password now
    if current_user.is_authenticated:  # this device's session ended with all the others
        logout_user()
    return redirect(url_for(".login"))
