"""The second step of a sign-in (a code, a passkey or a recovery code) and the pages where a
person sets up and removes their second factors (lca/auth/second_factor.py holds the rules).

The passkey routes speak JSON with lca/static/js/passkeys.js (the CSRF token in the
X-CSRFToken header); a browser without JavaScript that posts their form is sent back to the
page with a message. A malformed or hostile body is a 400 with a message, never a 500.
"""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from lca.auth import bp
from lca.auth.forms import ConfirmPasswordForm
from lca.auth.reauth import has_recent_proof
from lca.auth.second_factor import (
    confirm_totp,
    counted_check,
    grouped_secret,
    has_totp,
    must_have_second_factor,
    new_recovery_codes,
    offer_totp,
    pass_second_step,
    pass_with_passkey,
    passkey_registration_options,
    passkey_sign_in_options,
    passkeys_of,
    qr_code_data_uri,
    register_passkey,
    remove_passkey,
    remove_totp,
    too_many_wrong_codes,
    totp_uri,
    unused_recovery_codes,
)
from lca.auth.second_factor_forms import CodeForm, PasskeyNameForm, RecoveryCodeForm
from lca.auth.second_factor_throttle import minutes_to_wait
from lca.auth.second_step import Waiting, waiting_sign_in
from lca.auth.services import password_again
from lca.auth.sessions import mark_second_factor, passed_second_factor
from lca.auth.views import _after_wrong_password, _sign_in, after_sign_in
from lca.models import User
from lca.web.pages import is_local_path, perform, role_home_url
from lca.web.permissions import public, signed_in

#: the largest JSON body the passkey routes read
MAX_JSON_BYTES = 64 * 1024
SIGN_IN_CHALLENGE = "passkey_sign_in_challenge"
REGISTRATION_CHALLENGE = "passkey_registration_challenge"


# --------------------------------------------------------------------------- the second step


def _not_waiting():
    """No sign-in waits for a second step here: home if signed in, else the password first."""
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user))
    flash(_("Sign in with your password first; the second step waits 5 minutes."), "info")
    return redirect(url_for(".login"))


def _attempt(waiting: Waiting, check) -> str:
    """Run one check of the second step; a wrong answer is counted (a lockout is recorded when
    it uses up the tries), a right one signs the person in. Where to go next."""
    user = waiting.user
    method = counted_check(user, check)
    _sign_in(user, waiting.remember, second_factor=method)
    return after_sign_in(user, waiting.next)


def _code_step(template: str, form, method: str):
    if current_user.is_authenticated or (waiting := waiting_sign_in()) is None:
        return _not_waiting()
    user = waiting.user

    def page(status: int = 200):
        return render_template(
            template,
            form=form,
            has_totp=has_totp(user),
            has_passkeys=bool(passkeys_of(user)),
            has_recovery=unused_recovery_codes(user) > 0,
        ), status

    if form.validate_on_submit():
        wait = minutes_to_wait(user.id)
        if wait is not None:  # the code is not even checked
            flash(too_many_wrong_codes(wait), "error")
            return page(429)
        code = form.code.data
        return perform(
            lambda: _attempt(waiting, lambda: pass_second_step(user, method, code)),
            form=form,
            keep_refused=True,  # keep the audit of the wrong code
            fail=page,
            then=redirect,
        )
    return page()


@bp.route("/login/second-step", methods=["GET", "POST"])
@public
def second_step():
    """The code from the authenticator app (or a passkey, or a link to a recovery code)."""
    return _code_step("auth/second_step.html", CodeForm(), "totp")


@bp.route("/login/recovery-code", methods=["GET", "POST"])
@public
def recovery_step():
    return _code_step("auth/recovery_step.html", RecoveryCodeForm(), "recovery")


def _json_body() -> dict[str, Any] | None:
    """The request's JSON object, or None when it is not one (or too big to read)."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        return None
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # arrays nested thousands deep
        return None
    return body if isinstance(body, dict) else None


def _json_refusal(status: int = 400, message: str | None = None):
    """A refusal as JSON: the messages perform() flashed, for the page's script to show."""
    messages = [message] if message else get_flashed_messages(category_filter=["error"])
    text = " ".join(str(m) for m in messages) or _("The passkey could not be checked. Try again.")
    return jsonify(error=text), status


def _needs_javascript(then: str):
    flash(_("Passkeys need JavaScript in your browser. Turn it on, or use another way."), "error")
    return redirect(then)


def _waiting_for_a_passkey() -> Waiting | ResponseReturnValue:
    """The sign-in waiting for its passkey, or the answer to a request that has none (a form
    post without JavaScript, someone already signed in, no password given first)."""
    if not request.is_json:
        return (
            _not_waiting()
            if current_user.is_authenticated
            else _needs_javascript(url_for(".second_step"))
        )
    waiting = None if current_user.is_authenticated else waiting_sign_in()
    if waiting is None:
        return _json_refusal(
            400, _("Sign in with your password first; the second step waits 5 minutes.")
        )
    return waiting


@bp.post("/login/passkey/options")
@public
def passkey_sign_in_start():
    """The challenge for signing in with a passkey, kept in the session until it is answered."""
    waiting = _waiting_for_a_passkey()
    if not isinstance(waiting, Waiting):
        return waiting
    options, challenge = passkey_sign_in_options(waiting.user)
    session[SIGN_IN_CHALLENGE] = challenge
    return jsonify(options)


@bp.post("/login/passkey")
@public
def passkey_sign_in():
    """The browser's answer to the challenge: signed in, or a refusal counted like a wrong code."""
    waiting = _waiting_for_a_passkey()
    if not isinstance(waiting, Waiting):
        return waiting
    user = waiting.user
    wait = minutes_to_wait(user.id)
    if wait is not None:
        return _json_refusal(429, too_many_wrong_codes(wait))
    body = _json_body()
    challenge = session.pop(SIGN_IN_CHALLENGE, None)
    credential = body.get("credential") if body is not None else None
    return perform(
        lambda: _attempt(waiting, lambda: pass_with_passkey(user, credential, challenge)),
        keep_refused=True,
        fail=_json_refusal,
        then=lambda target: jsonify(redirect=target),
    )


# --------------------------------------------------------------------------- the recent proof


def _proof_page(back: str) -> str:
    """The page that asks for the password again, then returns to ``back`` (a local path)."""
    return url_for(".confirm_password", next=back)


def _ask_for_proof(back: str | None = None):
    """No recent proof (lca/auth/reauth.py): nothing changes; the password page first."""
    return redirect(_proof_page(back or url_for(".second_factor")))


def _json_proof_refusal():
    """The same for the passkey script: a 403 whose ``confirm`` is the page to go to."""
    message = _("Type your password again to change your second factors.")
    return jsonify(error=message, confirm=_proof_page(url_for(".second_factor"))), 403


@bp.route("/account/confirm-password", methods=["GET", "POST"])
@signed_in
def confirm_password():
    """The current password again (counted like every current-password check), before a change
    to one's second factors; then back to the page the person was on (``next``, on this site
    only: anything else leads to the second-factor page)."""
    wanted = request.args.get("next")
    target = wanted if wanted is not None and is_local_path(wanted) else url_for(".second_factor")
    form = ConfirmPasswordForm()

    def page():
        return render_template(
            "auth/confirm_password.html",
            form=form,
            target=target,
            minutes=current_app.config["LCA_REAUTH_MINUTES"],
        )

    if form.validate_on_submit():
        password = form.current_password.data
        return perform(
            lambda: password_again(current_user, password),
            form=form,
            keep_refused=True,  # keep the audit of a wrong current password
            fail=lambda: _after_wrong_password() or page(),
            done=_("Your password is confirmed."),
            then=target,
        )
    return page()


# --------------------------------------------------------------------------- setting them up


def _factor_page():
    passkeys = passkeys_of(current_user)
    return render_template(
        "auth/second_factor.html",
        has_totp=has_totp(current_user),
        passkeys=passkeys,
        recovery_left=unused_recovery_codes(current_user),
        required=must_have_second_factor(current_user),
        name_form=PasskeyNameForm(),
    )


@bp.get("/account/second-factor")
@signed_in
def second_factor():
    return _factor_page()


@bp.post("/account/second-factor/app/start")
@signed_in
def start_totp():
    if not has_recent_proof():
        return _ask_for_proof()
    return perform(
        lambda: offer_totp(current_user),
        then=url_for(".totp_setup"),
        fail=url_for(".second_factor"),
    )


def _enrolled(method: str) -> None:
    """A factor was just set up: this session counts as having passed it."""
    if not passed_second_factor():
        mark_second_factor(current_user.session_token, method)


def _confirm(code: str | None) -> list[str] | None:
    confirm_totp(current_user, code)
    _enrolled("totp")
    return new_recovery_codes(current_user) if unused_recovery_codes(current_user) == 0 else None


@bp.route("/account/second-factor/app", methods=["GET", "POST"])
@signed_in
def totp_setup():
    """The QR code (and the secret as text) for the authenticator app, then its first code."""
    user: User = current_user
    if user.totp_secret is None or has_totp(user):
        return redirect(url_for(".second_factor"))
    if not has_recent_proof():  # an app offered long ago: its key is shown only after proof
        return _ask_for_proof(url_for(".totp_setup"))
    form = CodeForm()

    def page():
        return render_template(
            "auth/totp_setup.html",
            form=form,
            qr=qr_code_data_uri(totp_uri(user)),
            uri=totp_uri(user),  # a link for the app on the same phone, which cannot scan itself
            secret=grouped_secret(user.totp_secret or ""),
        )

    if form.validate_on_submit():
        code = form.code.data
        return perform(
            lambda: _confirm(code),
            form=form,
            fail=page,
            done=_("The authenticator app is set up."),
            then=lambda codes: _codes_page(codes) if codes else redirect(url_for(".second_factor")),
        )
    return page()


@bp.post("/account/second-factor/app/remove")
@signed_in
def remove_app():
    if not has_recent_proof():
        return _ask_for_proof()
    return perform(
        lambda: remove_totp(current_user),
        done=_("The authenticator app is removed."),
        then=url_for(".second_factor"),
    )


@bp.post("/account/second-factor/passkeys/options")
@signed_in
def passkey_options():
    """The challenge for making a passkey, kept in the session until the browser answers."""
    if not request.is_json:
        return _needs_javascript(url_for(".second_factor"))
    if not has_recent_proof():
        return _json_proof_refusal()
    options, challenge = passkey_registration_options(current_user)
    session[REGISTRATION_CHALLENGE] = challenge
    return jsonify(options)


def _add_passkey(credential: Any, challenge: str | None, name: Any) -> str:
    register_passkey(current_user, credential, challenge, name)
    _enrolled("passkey")
    return url_for(".second_factor")


@bp.post("/account/second-factor/passkeys")
@signed_in
def add_passkey():
    """The passkey the browser made: kept once its answer to the challenge checks out."""
    if not request.is_json:
        return _needs_javascript(url_for(".second_factor"))
    if not has_recent_proof():  # a challenge kept in a cookie copied long ago is not enough
        session.pop(REGISTRATION_CHALLENGE, None)
        return _json_proof_refusal()
    body = _json_body()
    challenge = session.pop(REGISTRATION_CHALLENGE, None)
    if body is None:
        return _json_refusal(400, _("The browser's answer was not a passkey."))
    credential, name = body.get("credential"), body.get("name")
    return perform(
        lambda: _add_passkey(credential, challenge, name),
        done=_("The passkey is added."),
        fail=_json_refusal,
        then=lambda target: jsonify(redirect=target),
    )


@bp.post("/account/second-factor/passkeys/<int:passkey_id>/remove")
@signed_in
def delete_passkey(passkey_id: int):
    if not has_recent_proof():
        return _ask_for_proof()
    return perform(
        lambda: remove_passkey(current_user, passkey_id),
        done=_("The passkey is removed."),
        then=url_for(".second_factor"),
    )


def _codes_page(codes: list[str]):
    # Shown once, in this response only: never stored, never put in a cookie.
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.post("/account/second-factor/recovery-codes")
@signed_in
def recovery_codes():
    """Ten new recovery codes, shown once; the earlier ones stop working."""
    if not has_recent_proof():
        return _ask_for_proof()
    return perform(
        lambda: new_recovery_codes(current_user),
        then=_codes_page,
        fail=url_for(".second_factor"),
    )
