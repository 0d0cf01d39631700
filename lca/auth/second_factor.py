"""Second factors: an authenticator app (TOTP, RFC 6238), passkeys (WebAuthn) and ten one-use
recovery codes.

Administrators and instructors must have one (``must_have_second_factor``); learners may. A
code or passkey proves the second step of a sign-in; the rules of each (a TOTP code used once,
a recovery code used once, a passkey's signature checked against its public key) are here, the
pages that ask for them in lca/auth/second_factor_views.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyotp
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from lca.auth.second_factor_throttle import count_failure, minutes_to_wait
from lca.auth.sessions import end_sessions
from lca.core.audit import record
from lca.core.dates import programme_timezone
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.core.outbox import record_message
from lca.core.security_log import security_event
from lca.models import MessageKind, Passkey, RecoveryCode, Role, User
from lca.web.addresses import public_url
from lca.web.time_field import THAI_DIGITS

# segno and webauthn (py_webauthn and its CBOR and COSE parsers) are imported by the functions
# that draw a QR code or check a passkey: most requests do neither.
if TYPE_CHECKING:
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

#: the name an authenticator app shows next to the account's codes
ISSUER = "LCA"
#: a TOTP code is accepted one time step (30 seconds) early or late: clocks drift
TOTP_DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 24  #: base32 letters of a recovery code (without its dashes)
#: the largest credential a browser sends us (bytes of JSON); real ones are a few kilobytes
MAX_CREDENTIAL_JSON = 64 * 1024
STAFF_ROLES = (Role.ADMIN, Role.INSTRUCTOR)
METHODS = ("totp", "passkey", "recovery")


def must_have_second_factor(user: User) -> bool:
    """Administrators and instructors must enrol a second factor; learners may."""
    return user.role in STAFF_ROLES


def has_totp(user: User) -> bool:
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def passkeys_of(user: User) -> list[Passkey]:
    return list(
        db.session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
        )
    )


def has_second_factor(user: User) -> bool:
    """A confirmed authenticator app or at least one passkey (recovery codes only back them)."""
    if has_totp(user):
        return True
    return (
        db.session.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1)) is not None
    )


def unused_recovery_codes(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


# --------------------------------------------------------------------------- authenticator app


def offer_totp(user: User) -> str:
    """A new secret for the person's authenticator app; it counts only once a first code
    confirms it (``confirm_totp``). An app already confirmed stays until it is removed."""
    if has_totp(user):
        raise RuleError(
            _("An authenticator app is already set up. Remove it first to set up another.")
        )
    if user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = None
        user.totp_last_step = None
        db.session.flush()
    return user.totp_secret


def totp_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    if user.totp_secret is None:
        raise ValueError("offer_totp() first")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_data_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG data: URI (the page's CSP allows data: images)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=4, border=2, dark="#000", light="#fff")


def grouped_secret(secret: str) -> str:
    """The secret in groups of four letters, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _digits(code: str | None) -> str:
    """The code as typed, spaces and dashes left out, Thai digits (๐–๙, from a Thai keyboard)
    read as 0–9."""
    return re.sub(r"[\s-]", "", (code or "").translate(THAI_DIGITS))[:64]


def _matching_step(user: User, code: str | None) -> int | None:
    """The time step whose code ``code`` is (now, or one step either side), or None."""
    digits = _digits(code)
    if user.totp_secret is None or not re.fullmatch(r"[0-9]{6}", digits):
        return None
    totp = pyotp.TOTP(user.totp_secret)
    now = int(time.time()) // totp.interval
    for step in range(now - TOTP_DRIFT_STEPS, now + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), digits):
            return step
    return None


def _use_totp(user: User, code: str | None) -> bool:
    """Whether ``code`` is the app's code now and its time step has not been used (a code
    seen once, by anyone watching, cannot be replayed); the step is then used up."""
    step = _matching_step(user, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def confirm_totp(user: User, code: str | None) -> None:
    """The first code from the app shows it was set up right; from now on it is a second factor."""
    if user.totp_secret is None or has_totp(user):
        raise RuleError(_("Start the set-up of the authenticator app again."))
    if not _use_totp(user, code):
        raise RuleError(
            _("The code is not correct. Enter the 6 digits the app shows now."), field="code"
        )
    user.totp_confirmed_at = utcnow()
    record(user, "second_factor.totp_enrolled", user)
    db.session.flush()


def remove_totp(user: User) -> None:
    """Remove one's authenticator app; staff cannot remove their last second factor."""
    if not has_totp(user):
        raise RuleError(_("No authenticator app is set up."))
    _refuse_removing_the_last(user, passkeys=len(passkeys_of(user)))
    user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    record(user, "second_factor.totp_removed", user)
    db.session.flush()


def _refuse_removing_the_last(user: User, passkeys: int, totp: bool = False) -> None:
    left = passkeys + (1 if totp else 0)
    if must_have_second_factor(user) and left == 0:
        raise RuleError(
            _(
                "Staff must keep a second factor. Add another one (a passkey or an "
                "authenticator app) before you remove this one."
            )
        )


# --------------------------------------------------------------------------- recovery codes


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalised_recovery(code).encode()).hexdigest()


def _normalised_recovery(code: str | None) -> str:
    return re.sub(r"[^0-9a-z]", "", (code or "").lower()[:100])


def new_recovery_codes(user: User) -> list[str]:
    """Ten new one-use codes, shown once (only their SHA-256 is kept); earlier codes stop
    working. Only for someone with a second factor: the codes stand in for it."""
    if not has_second_factor(user):
        raise RuleError(_("Set up a passkey or an authenticator app first."))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        # 120 random bits (ASVS 5.0 6.5.2: from 112 bits a plain SHA-256 is enough), in base32
        # (no 0/O or 1/l to confuse), shown in groups of four: abcd-efgh-ijkl-mnop-qrst-uvwx
        raw = base64.b32encode(secrets.token_bytes(15)).decode().lower()
        code = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code)))
    record(user, "second_factor.recovery_codes_made", user)
    db.session.flush()
    return codes


def _use_recovery_code(user: User, code: str | None) -> bool:
    if len(_normalised_recovery(code)) != RECOVERY_CODE_LENGTH:
        return False
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(code or ""),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = utcnow()
    return True


# --------------------------------------------------------------------------- the second step


def pass_second_step(user: User, method: str, code: str | None) -> str:
    """Check a sign-in's second step by authenticator-app code or recovery code; the method
    used, or a refusal (audited: the caller keeps the refusal's record)."""
    if method == "totp":  # an app offered but never confirmed is no second factor yet
        passed = has_totp(user) and _use_totp(user, code)
    else:
        passed = _use_recovery_code(user, code)
    if not passed:
        record(None, "second_factor.failed", user, method=method)
        if method == "totp":
            raise RuleError(
                _(
                    "The code is not correct, or it was used already. Enter the new code "
                    "the app shows."
                ),
                field="code",
            )
        raise RuleError(
            _("This recovery code is not correct, or it was used already."), field="code"
        )
    _signed_in(user, method)
    return method


def _signed_in(user: User, method: str) -> None:
    """The second step passed: the sign-in is done (audited as one, with how)."""
    user.last_login_at = utcnow()
    record(user, "auth.login", user, method=method)
    db.session.flush()


def too_many_wrong_codes(wait: int) -> str:
    return ngettext(
        "Too many wrong codes for this account. Try again in %(num)d minute, or ask the "
        "programme staff to reset your second factor.",
        "Too many wrong codes for this account. Try again in %(num)d minutes, or ask the "
        "programme staff to reset your second factor.",
        wait,
    )


def counted_check(user: User, check: Callable[[], str]) -> str:
    """Run one check of the second step (it returns how it was passed). A wrong answer is
    counted for the account; the one that uses up the tries is recorded as a lockout and
    refused with how long to wait."""
    try:
        return check()
    except RuleError as error:
        if count_failure(user.id):
            record_lockout(user)
            wait = minutes_to_wait(user.id) or 1
            raise RuleError(too_many_wrong_codes(wait), field="code") from error
        raise


def record_lockout(user: User) -> None:
    """Too many wrong codes for the account: audited, and a security event for the operator."""
    record(None, "second_factor.locked", user)
    security_event("second_factor.lockout", actor_id=None, user_id=user.id)
    db.session.flush()


# --------------------------------------------------------------------------- passkeys


class PasskeyRefused(RuleError):
    """A passkey that could not be registered or did not prove the sign-in (a 400)."""


def relying_party() -> tuple[str, str]:
    """The WebAuthn relying party: its id (the site's host name) and its origin, from the
    site's public address (LCA_PUBLIC_URL, or the request's host on a developer's machine)."""
    from urllib.parse import urlsplit

    parts = urlsplit(public_url())
    return parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}"


def _user_handle(user: User) -> bytes:
    """A stable handle for the account that says nothing about it (not its id or e-mail)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"webauthn-user:{user.id}".encode(), hashlib.sha256).digest()


def _transports(passkey: Passkey) -> list[AuthenticatorTransport]:
    from webauthn.helpers.structs import AuthenticatorTransport

    known = {t.value: t for t in AuthenticatorTransport}
    return [known[t] for t in (passkey.transports or "").split(",") if t in known]


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

    return [
        PublicKeyCredentialDescriptor(id=p.credential_id, transports=_transports(p) or None)
        for p in passkeys_of(user)
    ]


def passkey_registration_options(user: User) -> tuple[dict[str, Any], str]:
    """What the browser needs to make a passkey, and the challenge to keep until it answers."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=ISSUER,
        user_id=_user_handle(user),
        user_name=user.email,
        user_display_name=user.full_name_th,
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return json.loads(options_to_json(options)), bytes_to_base64url(options.challenge)


def _credential_text(credential: Any) -> str:
    if not isinstance(credential, dict):
        raise PasskeyRefused(_("The browser's answer was not a passkey."))
    try:
        text = json.dumps(credential)
    except (RecursionError, ValueError) as error:
        raise PasskeyRefused(_("The browser's answer was not a passkey.")) from error
    if len(text) > MAX_CREDENTIAL_JSON:
        raise PasskeyRefused(_("The browser's answer was not a passkey."))
    return text


def _challenge(challenge: str | None) -> bytes:
    from webauthn.helpers import base64url_to_bytes

    if not challenge:
        raise PasskeyRefused(_("The passkey request has expired. Try again."))
    return base64url_to_bytes(challenge)


def _clean_name(name: Any) -> str:
    text = " ".join(str(name or "").split())[:100] if isinstance(name, str | type(None)) else ""
    return text or _("Passkey")


def register_passkey(user: User, credential: Any, challenge: str | None, name: Any) -> Passkey:
    """Keep a passkey the browser made, once its answer to our challenge checks out."""
    from webauthn import verify_registration_response
    from webauthn.helpers import parse_registration_credential_json
    from webauthn.helpers.structs import AuthenticatorTransport

    text = _credential_text(credential)
    rp_id, origin = relying_party()
    try:
        parsed = parse_registration_credential_json(text)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=_challenge(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except PasskeyRefused:
        raise
    except Exception as error:  # the library's parsers raise many kinds for hostile bytes
        raise PasskeyRefused(_("The passkey could not be checked. Try again.")) from error
    transports = [
        t.value for t in (parsed.response.transports or []) if isinstance(t, AuthenticatorTransport)
    ]
    passkey = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(transports)[:200] or None,
        name=_clean_name(name),
    )
    db.session.add(passkey)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise PasskeyRefused(_("This passkey is already registered.")) from error
    record(user, "second_factor.passkey_added", user, name=passkey.name)
    db.session.flush()
    return passkey


def passkey_sign_in_options(user: User) -> tuple[dict[str, Any], str]:
    """What the browser needs to sign in with one of the person's passkeys, and the challenge."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.structs import UserVerificationRequirement

    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return json.loads(options_to_json(options)), bytes_to_base64url(options.challenge)


def pass_with_passkey(user: User, credential: Any, challenge: str | None) -> str:
    """Check a sign-in's second step by one of the person's passkeys (its signature over our
    challenge, by the key registered); refusals are audited like wrong codes."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import parse_authentication_credential_json

    text = _credential_text(credential)
    rp_id, origin = relying_party()
    try:
        parsed = parse_authentication_credential_json(text)
        passkey = db.session.scalar(
            select(Passkey).where(
                Passkey.user_id == user.id, Passkey.credential_id == parsed.raw_id
            )
        )
        if passkey is None:
            raise PasskeyRefused(_("This passkey is not registered for your account."))
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=_challenge(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except Exception as error:  # the library's parsers raise many kinds for hostile bytes
        record(None, "second_factor.failed", user, method="passkey")
        if isinstance(error, PasskeyRefused):
            raise
        raise PasskeyRefused(_("The passkey could not be checked. Try again.")) from error
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    _signed_in(user, "passkey")
    return "passkey"


def remove_passkey(user: User, passkey_id: int) -> None:
    """Remove one of one's passkeys; staff cannot remove their last second factor."""
    passkeys = passkeys_of(user)
    passkey = next((p for p in passkeys if p.id == passkey_id), None)
    if passkey is None:
        raise RuleError(_("This passkey is not registered for your account."))
    _refuse_removing_the_last(user, passkeys=len(passkeys) - 1, totp=has_totp(user))
    db.session.delete(passkey)
    record(user, "second_factor.passkey_removed", user, name=passkey.name)
    db.session.flush()


# --------------------------------------------------------------------------- the administrator


def reset_second_factor(user: User, actor: User) -> None:
    """An administrator removes a person's second factors (a lost phone): their app, passkeys
    and recovery codes go, their sessions end, and they are told; staff then enrol again at
    their next sign-in."""
    if not has_second_factor(user) and unused_recovery_codes(user) == 0:
        raise RuleError(_("%(email)s has no second factor to reset.", email=user.email))
    user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ended = end_sessions(user)
    record(actor, "second_factor.reset", user, sessions=ended)
    security_event("second_factor.reset", actor_id=actor.id, user_id=user.id)
    now = utcnow().astimezone(programme_timezone())
    record_message(  # a security message (cannot be turned off), like a password reset's
        user,
        MessageKind.PASSWORD_CHANGED,
        link="auth.login",
        about=user,
        how="second_factor_reset",
        on=now.date().isoformat(),
        time=now.strftime("%H:%M"),
    )
    db.session.flush()
