"""Accounts and sign-in: creating and changing users, passwords, languages."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lca.auth.password_policy import check_password_policy
from lca.auth.passwords import hash_password, needs_rehash, password_matches
from lca.auth.reauth import mark_recent_proof
from lca.auth.second_factor import has_second_factor
from lca.auth.sessions import end_session, end_sessions, is_current
from lca.auth.throttle import count_password_check, password_checks_locked
from lca.core.audit import apply_changes, record
from lca.core.collation import thai_order
from lca.core.dates import programme_timezone
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.core.outbox import record_message
from lca.core.security_log import security_event
from lca.models import (
    City,
    Enrolment,
    EnrolmentStatus,
    Message,
    MessageKind,
    Role,
    User,
    UserSession,
)
from lca.models.cohorts import cohorts_taught_by
from lca.web.metrics import count_sign_in_failure

#: no password matches it: the account waits for its set-password link
UNUSABLE_PASSWORD = "!"  # noqa: S105 - not a password: an impossible hash
SETUP_LINK_DAYS = 14
#: how long a forgot-password link works
RESET_LINK_LIFETIME = timedelta(hours=1)
#: how long a one-time password made by an administrator works
TEMPORARY_PASSWORD_LIFETIME = timedelta(hours=24)


@dataclass
class Profile:
    """What an administrator types about a person."""

    email: str
    full_name_th: str
    full_name_en: str | None
    role: Role
    city: City | None = None
    organisation: str | None = None
    preferred_language: str = "th"


def email_taken(email: str, except_user: User | None = None) -> bool:
    """Whether another account already uses ``email`` (in any letter case)."""
    query = select(User.id).where(func.lower(User.email) == email.lower())
    if except_user is not None and except_user.id is not None:
        query = query.where(User.id != except_user.id)
    return db.session.scalar(query.limit(1)) is not None


def one_time_password() -> str:
    """A random password to hand over once; the user must replace it at first sign-in."""
    return secrets.token_urlsafe(12)


def create_user(
    profile: Profile, password: str | None, actor: User | None
) -> tuple[User, str | None]:
    """Create an account; without ``password`` the person is invited by e-mail to choose one
    (a set-password link, 14 days)."""
    if email_taken(profile.email):
        raise RuleError(_("This e-mail address is already in use."), field="email")
    user = User(
        email=profile.email.lower(),
        full_name_th=profile.full_name_th,
        full_name_en=profile.full_name_en or None,
        role=profile.role,
        city=profile.city,
        organisation=profile.organisation or None,
        preferred_language=profile.preferred_language,
        password_hash=hash_password(password) if password else UNUSABLE_PASSWORD,
    )
    try:  # in a savepoint: after a clash the session still works (for the message)
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as error:  # the same address was saved a moment ago
        raise RuleError(_("This e-mail address is already in use."), field="email") from error
    record(actor, "user.create", user, email=user.email, role=user.role.value)
    if password is None:
        send_invitation(user, actor)
        db.session.flush()
    return user, password


def send_invitation(user: User, actor: User | None, token: str | None = None) -> Message:
    """E-mail ``user`` a set-password link (14 days): ``token``'s, or a new one that replaces
    any earlier link."""
    token = token or new_setup_token(user)
    message = record_message(
        user,
        MessageKind.INVITATION,
        link="auth.set_password",
        link_args={"token": token, "lang": user.preferred_language},
        about=user,
        token=token,
        days=SETUP_LINK_DAYS,
        role=user.role.value,
        invited_by=actor.full_name_th if actor else None,
        invited_by_en=actor.full_name_en if actor else None,
    )
    return message


def has_unused_invitation(user: User) -> bool:
    """An invited person who has not chosen a password yet (the link may have expired)."""
    return user.setup_token_hash is not None and user.password_hash == UNUSABLE_PASSWORD


def unused_invitations(cohort_id: int) -> list[User]:
    """The cohort's learners who were invited and have not chosen a password, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(Enrolment, Enrolment.learner_id == User.id)
            .where(
                Enrolment.cohort_id == cohort_id,
                User.setup_token_hash.is_not(None),
                User.password_hash == UNUSABLE_PASSWORD,
            )
            .order_by(thai_order(User.full_name_th), User.id)
        )
    )


def resend_invitation(user: User, actor: User) -> None:
    """Send an invited person a new link; only while they have not chosen a password."""
    if not has_unused_invitation(user):
        raise RuleError(_("%(email)s has already chosen a password.", email=user.email))
    send_invitation(user, actor)
    record(actor, "user.invitation_resent", user)
    db.session.flush()


def resend_invitations(users: list[User], actor: User) -> int:
    """Send a new link to each of ``users`` who has not chosen a password; how many."""
    waiting = [user for user in users if has_unused_invitation(user)]
    for user in waiting:
        send_invitation(user, actor)
        record(actor, "user.invitation_resent", user)
    db.session.flush()
    return len(waiting)


def _moment() -> dict[str, Any]:
    """Now, where the programme runs, as a message's plain values: a day and a clock time."""
    now = utcnow().astimezone(programme_timezone())
    return {"on": now.date().isoformat(), "time": now.strftime("%H:%M")}


def _tell_password_changed(user: User, how: str) -> None:
    """The security message after any change of the account's password (cannot be turned off);
    its link asks for a new password, for the person who did not make the change."""
    record_message(
        user,
        MessageKind.PASSWORD_CHANGED,
        link="auth.forgot_password",
        about=user,
        how=how,
        **_moment(),
    )


def tell_new_sign_in(user: User, device: list[str], address: str | None) -> None:
    """The security message after a sign-in from a device the account has not used before."""
    record_message(
        user,
        MessageKind.NEW_SIGN_IN,
        link="auth.account",
        about=user,
        device=" · ".join(device) or None,
        address=address,
        **_moment(),
    )


def update_user(user: User, profile: Profile, actor: User) -> None:
    """Change an account's details; a role change must not strand enrolments or cohorts."""
    if email_taken(profile.email, except_user=user):
        raise RuleError(_("This e-mail address is already in use."), field="email")
    if profile.role is not user.role:
        _check_role_change(user, profile.role, actor)
    wanted = {
        "email": profile.email.lower(),
        "full_name_th": profile.full_name_th,
        "full_name_en": profile.full_name_en or None,
        "role": profile.role,
        "organisation": profile.organisation or None,
        "preferred_language": profile.preferred_language,
        "city_id": profile.city.id if profile.city else None,
    }
    changes = apply_changes(user, wanted)
    if "city_id" in changes:
        user.city = profile.city
    if changes:
        record(actor, "user.update", user, changes=changes)
    if "role" in changes:
        old_role, new_role = changes["role"]
        security_event(
            "user.role_change", actor_id=actor.id, subject_id=user.id, old=old_role, new=new_role
        )
    db.session.flush()


def _check_role_change(user: User, new_role: Role, actor: User) -> None:
    if user.id == actor.id:
        raise RuleError(_("You cannot change your own role."), field="role")
    if user.is_learner:
        active = select(Enrolment.id).where(
            Enrolment.learner_id == user.id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
        if db.session.scalar(active.limit(1)) is not None:
            raise RuleError(
                _("This learner is enrolled in a cohort. Withdraw the enrolment first."),
                field="role",
            )
    if user.is_instructor and db.session.scalar(cohorts_taught_by(user.id).limit(1)) is not None:
        raise RuleError(
            _("This instructor is assigned to a cohort. Remove the assignment first."),
            field="role",
        )


def deactivate_user(user: User, actor: User) -> None:
    """Deactivate an account: it can no longer sign in and its sessions end."""
    if user.id == actor.id:
        raise RuleError(_("You cannot deactivate your own account."))
    if not user.is_active:
        raise RuleError(_("This account is already inactive."))
    user.is_active = False
    user.deactivated_at = utcnow()
    end_sessions(user)
    record(actor, "user.deactivate", user)
    db.session.flush()


def activate_user(user: User, actor: User) -> None:
    """Let a deactivated account sign in again."""
    if user.is_active:
        raise RuleError(_("This account is already active."))
    user.is_active = True
    user.deactivated_at = None
    record(actor, "user.activate", user)
    db.session.flush()


def authenticate(email: str, password: str) -> User:
    """The account for these credentials; one message for an unknown e-mail or wrong password."""
    user = db.session.scalar(select(User).where(User.email == (email or "").lower()))
    if not password_matches(user.password_hash if user else None, password or "") or not user:
        record(None, "auth.login_failed", user, email=(email or "")[:254])
        count_sign_in_failure()
        raise RuleError(_("The e-mail address or password is not correct."))
    if not user.is_active:
        record(user, "auth.login_refused", user, reason="inactive")
        raise RuleError(_("This account has been deactivated. Please contact the programme staff."))
    expires_at = user.temporary_password_expires_at
    if expires_at is not None and expires_at <= utcnow():
        record(user, "auth.temporary_password_expired", user, expired_at=expires_at.isoformat())
        raise RuleError(
            _(
                "This one-time password has expired: it worked for 24 hours. Ask the programme "
                "administrator for a new one."
            )
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if not has_second_factor(user):  # otherwise the second step finishes the sign-in
        user.last_login_at = utcnow()
        record(user, "auth.login", user)
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Replace one's own password; every other session of the account ends."""
    check_current_password(user, current, "password_change")
    check_password_policy(new, user.email, user.full_name_th, user.full_name_en)
    if password_matches(user.password_hash, new):
        raise RuleError(
            _("The new password must differ from the current one."), field="new_password"
        )
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.temporary_password_expires_at = None
    end_sessions(user, keep=user.session_token)  # this device stays signed in
    record(user, "user.password_change", user)
    _tell_password_changed(user, "change")
    db.session.flush()


def sign_out_everywhere_else(user: User, current: str) -> None:
    """End every other session of the account (a lost phone, a shared computer); their
    session and remember-me cookies no longer sign anyone in."""
    check_current_password(user, current, "sign_out_everywhere")
    ended = end_sessions(user, keep=user.session_token)
    record(user, "user.sessions_ended", user, sessions=ended)
    db.session.flush()


class PasswordChecksLocked(RuleError):
    """Too many wrong current passwords: this session has ended (the view signs out)."""


def check_current_password(user: User, current: str | None, where: str) -> None:
    """The signed-in person's password, asked again before a change (``where``: which form).

    Wrong ones are counted per account, over every session, like failed sign-ins (their own
    count: a person guessing on a stolen session must not lock the owner out of signing in);
    each is audited. Once the count is over ``LCA_PASSWORD_CHECK_RATE_LIMIT`` the password is
    not even checked: this session ends, and the person must sign in again."""
    if password_checks_locked(user.id):
        _lock_password_checks(user, where)
    if password_matches(user.password_hash, current or ""):
        mark_recent_proof()  # the person is at the keyboard: see lca/auth/reauth.py
        return
    record(user, "auth.password_check_failed", user, form=where)
    count_password_check(user.id)
    if password_checks_locked(user.id):
        _lock_password_checks(user, where)
    raise RuleError(_("The current password is not correct."), field="current_password")


def _lock_password_checks(user: User, where: str) -> None:
    end_session(user.session_token)
    record(user, "auth.password_check_locked", user, form=where)
    security_event("password_check.locked", actor_id=user.id, form=where)
    raise PasswordChecksLocked(
        _(
            "You were signed out: the current password was typed wrongly too many times. Sign "
            "in again, or ask the programme staff to reset your password."
        )
    )


def password_again(user: User, current: str | None) -> None:
    """The password typed again before a change to one's second factors (the page they lead
    to when the proof of the sign-in is too old): counted and audited like every check."""
    check_current_password(user, current, "confirm_password")


def end_other_session(user: User, row: UserSession, current: str | None) -> None:
    """End one other session of one's own account (a phone left signed in somewhere), after
    the current password (a copied session cookie alone cannot sign the owner out)."""
    if row.user_id != user.id:
        raise RuleError(_("This session is not one of yours."))
    if is_current(row, user):
        raise RuleError(_("This is the device you are using: sign out instead."))
    if row.ended_at is not None:
        raise RuleError(_("This session has already ended."))
    check_current_password(user, current, "end_session")
    row.ended_at = utcnow()
    record(user, "user.session_ended", user, session=row.id, device=row.user_agent)
    db.session.flush()


def sign_out_user(user: User, actor: User) -> None:
    """An administrator ends every session of someone else's account (a lost phone, a
    suspicion); the person signs in again with their password."""
    if user.id == actor.id:
        raise RuleError(_("Sign out of your other devices on your account page."))
    ended = end_sessions(user)
    record(actor, "user.sessions_ended", user, sessions=ended)
    db.session.flush()


def set_preferred_language(user: User, language: str) -> None:
    """Save the language the user wants LCA in."""
    if language not in current_app.config["LCA_LANGUAGES"]:
        raise RuleError(_("Choose Thai or English."), field="preferred_language")
    user.preferred_language = language
    db.session.flush()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_setup_token(user: User) -> str:
    """A one-time set-password link's token for ``user`` (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    user.setup_token_hash = _token_hash(token)
    user.setup_expires_at = utcnow() + timedelta(days=SETUP_LINK_DAYS)
    return token


def user_for_setup_token(token: str) -> User | None:
    """The active account a set-password link belongs to, while the link works."""
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(select(User).where(User.setup_token_hash == _token_hash(token)))
    expires_at = user.setup_expires_at if user else None
    if user is None or not user.is_active or expires_at is None or expires_at < utcnow():
        return None
    return user


def complete_setup(user: User, password: str) -> None:
    """The person behind a set-password link chooses their password; the link is used up."""
    check_password_policy(password, user.email, user.full_name_th, user.full_name_en)
    user.password_hash = hash_password(password)
    user.setup_token_hash = user.setup_expires_at = None
    user.must_change_password = False
    user.temporary_password_expires_at = None
    end_sessions(user)
    record(user, "user.password_setup", user)
    _tell_password_changed(user, "setup")
    db.session.flush()


def reset_password(user: User, actor: User) -> str:
    """An administrator gives the account a new one-time password (shown once); the person
    must replace it at the next sign-in, and every open session ends."""
    if user.id == actor.id:
        raise RuleError(_("Change your own password on your account page."))
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.temporary_password_expires_at = utcnow() + TEMPORARY_PASSWORD_LIFETIME
    user.setup_token_hash = user.setup_expires_at = None
    end_sessions(user)
    record(actor, "user.password_reset", user)
    _tell_password_changed(user, "administrator")
    db.session.flush()
    return password


def request_password_reset(email: str) -> None:
    """A forgot-password request: a one-use link (one hour) to an active account's address, at
    most ``LCA_RESET_MAILS_PER_HOUR`` an hour; an unknown or deactivated address gets nothing,
    after the same work, so the answer says nothing about which accounts exist."""
    address = (email or "").strip().lower()[:254]
    user = db.session.scalar(select(User).where(User.email == address))
    token = secrets.token_urlsafe(32)
    sent = db.session.scalar(
        select(func.count(Message.id)).where(
            Message.recipient_id == (user.id if user else None),
            Message.kind == MessageKind.PASSWORD_RESET,
            Message.created_at > utcnow() - timedelta(hours=1),
        )
    )
    allowed = (sent or 0) < current_app.config["LCA_RESET_MAILS_PER_HOUR"]
    if user is None or not user.is_active or not allowed:
        outcome = "unknown" if user is None else "inactive" if not user.is_active else "throttled"
        record(None, "auth.password_reset_requested", user, email=address, outcome=outcome)
        db.session.flush()
        return
    new_reset_token(user, token)
    record_message(
        user,
        MessageKind.PASSWORD_RESET,
        link="auth.reset_password_link",
        link_args={"reset_token": token, "lang": user.preferred_language},
        about=user,
        token=token,
        minutes=int(RESET_LINK_LIFETIME.total_seconds() // 60),
    )
    record(None, "auth.password_reset_requested", user, email=address, outcome="sent")
    db.session.flush()


def new_reset_token(user: User, token: str | None = None) -> str:
    """A forgot-password link's token for ``user`` (only its hash is kept), for one hour; an
    earlier link stops working."""
    token = token or secrets.token_urlsafe(32)
    user.reset_token_hash = _token_hash(token)
    user.reset_expires_at = utcnow() + RESET_LINK_LIFETIME
    return token


class ResetLink(enum.Enum):
    """What a forgot-password link is worth."""

    WORKS = "works"
    UNKNOWN = "unknown"  #: never made, used already, or replaced by a newer one
    EXPIRED = "expired"
    DEACTIVATED = "deactivated"


def check_reset_token(token: str) -> tuple[ResetLink, User | None]:
    """The account a forgot-password link belongs to, and whether the link still works."""
    if not token or len(token) > 100:
        return ResetLink.UNKNOWN, None
    user = db.session.scalar(select(User).where(User.reset_token_hash == _token_hash(token)))
    if user is None:
        return ResetLink.UNKNOWN, None
    if not user.is_active:
        return ResetLink.DEACTIVATED, None
    if user.reset_expires_at is None or user.reset_expires_at < utcnow():
        return ResetLink.EXPIRED, None
    return ResetLink.WORKS, user


def reset_password_by_link(user: User, password: str) -> None:
    """The person behind a forgot-password link chooses a new password: the link is used up
    and every session of the account ends."""
    check_password_policy(password, user.email, user.full_name_th, user.full_name_en)
    user.password_hash = hash_password(password)
    user.reset_token_hash = user.reset_expires_at = None
    user.setup_token_hash = user.setup_expires_at = None
    user.must_change_password = False
    user.temporary_password_expires_at = None
    ended = end_sessions(user)
    record(user, "user.password_reset_by_link", user, sessions=ended)
    _tell_password_changed(user, "reset")
    db.session.flush()
