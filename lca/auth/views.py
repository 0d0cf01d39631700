from flask import (
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
    LoginForm,
    PreferencesForm,
    SetPasswordForm,
    SignOutEverywhereForm,
)
from lca.auth.services import (
    authenticate,
    change_password,
    complete_setup,
    set_preferred_language,
    sign_out_everywhere_else,
    user_for_setup_token,
)
from lca.auth.sessions import (
    describe_device,
    end_session,
    is_current,
    open_sessions,
    start_session,
)
from lca.auth.throttle import count_failure, minutes_to_wait
from lca.core.db import db
from lca.core.errors import RuleError
from lca.web.extensions import limiter
from lca.web.pages import is_local_path, refuse, role_home_url
from lca.web.permissions import public, signed_in


def _login_limit() -> str:
    return current_app.config["LCA_LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        wait = minutes_to_wait(form.email.data)
        if wait is not None:  # the password is not even checked
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
        try:
            user = authenticate(form.email.data, form.password.data)
        except RuleError as error:
            count_failure(form.email.data)
            db.session.commit()  # keep the audit of the failed attempt
            flash(error.message, "error")
        else:
            language = session.get("lang")
            session.clear()
            start_session(user, remember=form.remember.data)
            login_user(user, remember=form.remember.data)
            if language:
                session["lang"] = language
                user.preferred_language = language
            db.session.commit()
            target = request.args.get("next")
            return redirect(target if is_local_path(target) else role_home_url(user))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@signed_in
def logout():
    language = session.get("lang")
    end_session(current_user.session_token)
    db.session.commit()
    session.clear()
    logout_user()  # after the clear: it leaves the order to delete the remember-me cookie
    if language:
        session["lang"] = language
    flash(_("You have signed out."), "success")
    return redirect(url_for("home.index"))


def _account_page(form=None, sign_out_form=None) -> str:
    form = form or PreferencesForm(preferred_language=current_user.preferred_language)
    sign_out_form = sign_out_form or SignOutEverywhereForm()
    sessions = [
        (row, describe_device(row.user_agent), is_current(row, current_user))
        for row in open_sessions(current_user)
    ]
    return render_template(
        "auth/account.html", form=form, sign_out_form=sign_out_form, sessions=sessions
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
        try:
            sign_out_everywhere_else(current_user, form.current_password.data)
        except RuleError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("You are now signed out on every other device."), "success")
            return redirect(url_for(".account"))
    return _account_page(sign_out_form=form)


@bp.post("/account/preferences")
@signed_in
def preferences():
    form = PreferencesForm()
    if form.validate_on_submit():
        try:
            set_preferred_language(current_user, form.preferred_language.data)
        except RuleError as error:
            refuse(form, error)
        else:
            session["lang"] = form.preferred_language.data
            db.session.commit()
            flash(_("Your preferences are saved."), "success")
            return redirect(url_for(".account"))
    return _account_page(form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data, form.new_password.data)
        except RuleError as error:
            refuse(form, error)
        else:
            db.session.commit()  # every other session of the account has ended
            flash(_("Your password has been changed."), "success")
            return redirect(role_home_url(current_user))
    return render_template("auth/password.html", form=form)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str):
    """A one-time link from an import: the person chooses their own password."""
    user = user_for_setup_token(token)
    if user is None:
        return render_template("auth/set_password.html", form=None), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            complete_setup(user, form.new_password.data)
        except RuleError as error:
            refuse(form, error)
        else:
            language = session.get("lang")  # the language chosen on this page stays
            session.clear()
            start_session(user)
            if language:
                session["lang"] = language
                user.preferred_language = language
            db.session.commit()
            login_user(user)
            flash(_("Your password is set. Welcome!"), "success")
            return redirect(role_home_url(user))
    return render_template("auth/set_password.html", form=form, user=user)
