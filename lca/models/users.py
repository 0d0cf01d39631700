"""People: learners, instructors and administrators."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, text_enum, utcnow

if TYPE_CHECKING:
    from lca.models.places import City


class Role(enum.Enum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


def new_subject_uuid() -> str:
    return str(uuid.uuid4())


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("length(trim(full_name_th)) > 0", name="full_name_th_not_blank"),
        CheckConstraint("preferred_language IN ('th', 'en')", name="preferred_language_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  #: stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name_th: Mapped[str] = mapped_column(String(200))
    full_name_en: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(text_enum(Role), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    preferred_language: Mapped[str] = mapped_column(String(2), default="th")
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: when an administrator's one-time password stops working (24 hours after it was made)
    temporary_password_expires_at: Mapped[datetime | None]
    #: SHA-256 of a one-time set-password link's token, and when the link stops working
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    setup_expires_at: Mapped[datetime | None]
    #: SHA-256 of a one-use forgot-password link's token, and when the link stops working
    reset_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reset_expires_at: Mapped[datetime | None]
    #: the optional messages the person gets (security messages cannot be turned off)
    wants_reminders: Mapped[bool] = mapped_column(default=True)
    wants_digests: Mapped[bool] = mapped_column(default=True)
    #: the personal calendar feed's address is signed with this number: renewing the address
    #: counts it up, and the old address answers 404
    calendar_feed_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    #: who the person is in their credentials (credentialSubject.id, "urn:uuid:…"): random,
    #: kept for good, so every certificate of one learner names the same subject
    subject_uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_subject_uuid)
    #: the second factor by authenticator app (TOTP, RFC 6238): its base32 secret, when the
    #: person confirmed it with a first code (until then it is only offered), and the last time
    #: step used, so that one code cannot be used twice
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: PDPA: when the person was first shown the privacy notice, and when an administrator
    #: erased the account (its personal data removed; issued certificates stay verifiable)
    privacy_notice_seen_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    city: Mapped[City | None] = relationship()

    #: the token of the session this request belongs to (lca.auth.sessions), not stored here
    if TYPE_CHECKING:  # a plain annotation would be read by the ORM as a column
        session_token: str | None
    else:
        session_token = None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and remember-me cookies: the token of this
        device's session, never anything about the account itself."""
        if self.session_token is None:
            raise RuntimeError("start_session() before login_user()")
        return self.session_token

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_instructor(self) -> bool:
        return self.role is Role.INSTRUCTOR

    @property
    def is_learner(self) -> bool:
        return self.role is Role.LEARNER

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"


class UserSession(Base):
    """One signed-in device. The session (and remember-me) cookie carries a random token whose
    SHA-256 is kept here; ending the row signs that device out, whatever its cookies say."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)  #: "keep me signed in" was ticked
    user_agent: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(64))  #: where the sign-in came from
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    #: how the sign-in's second step was done ("totp", "passkey", "recovery"), None without one
    second_factor: Mapped[str | None] = mapped_column(String(16))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"


class Passkey(Base):
    """A WebAuthn credential (a passkey) registered by the person as a second factor."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))  #: COSE key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[str | None] = mapped_column(String(200))  #: comma-separated
    name: Mapped[str] = mapped_column(String(100))  #: the person's label ("โทรศัพท์")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Passkey {self.id} of user {self.user_id}>"


class RecoveryCode(Base):
    """One of ten one-use recovery codes, shown once; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} of user {self.user_id}>"
