"""People: learners, instructors and administrators."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.extensions import db
from lca.orm import text_enum, utcnow

if TYPE_CHECKING:
    from lca.models.places import City


class Role(enum.Enum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


def new_auth_token() -> str:
    """A fresh session identifier; replacing it signs the user out everywhere."""
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
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
    #: SHA-256 of a one-time set-password link's token, and when the link stops working
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    setup_expires_at: Mapped[datetime | None]
    #: what the session cookie carries; rotated on password change and deactivation
    auth_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_auth_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]

    city: Mapped[City | None] = relationship()

    def get_id(self) -> str:
        return self.auth_token

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
