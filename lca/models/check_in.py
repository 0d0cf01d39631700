"""Self check-in at a session: the points a learner scans (the door, a festival's booths and
talks) and each check-in and check-out they made there."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, text_enum, utcnow

if TYPE_CHECKING:
    from lca.models.cohorts import Enrolment
    from lca.models.hours import ClassSession


def new_point_secret() -> str:
    return secrets.token_hex(32)


class CheckInPoint(Base):
    """A place in a session where a learner checks in and out by scanning its rotating QR code:
    the door of a classroom day, or one booth or talk of a festival."""

    __tablename__ = "check_in_points"
    __table_args__ = (
        UniqueConstraint("class_session_id", "number", name="uq_check_in_points_session_number"),
        CheckConstraint("length(name) > 0", name="name_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id"), index=True)
    number: Mapped[int]  #: 1, 2, … within the session
    name: Mapped[str] = mapped_column(String(200))
    #: the key its codes are signed with (HMAC of the time step); never shown
    secret: Mapped[str] = mapped_column(String(64), default=new_point_secret)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    class_session: Mapped[ClassSession] = relationship()


class ScanKind(enum.Enum):
    IN = "in"
    OUT = "out"


class CheckIn(Base):
    """One check-in or check-out of a learner at a point: by their own scan (the code's time
    step and the signed-in device kept), or marked by hand by the instructor."""

    __tablename__ = "check_ins"
    __table_args__ = (
        CheckConstraint(
            "(recorded_by_id IS NULL) = (step IS NOT NULL)", name="scanned_or_marked_by_hand"
        ),
        CheckConstraint(
            "location IS NULL OR location IN ('inside', 'outside')", name="location_known"
        ),
        # one check-in and one check-out per learner, point and code: a double scan within
        # the same 30 seconds counts once, even from two requests at the same moment
        UniqueConstraint(
            "enrolment_id", "point_id", "kind", "step", name="uq_check_ins_enrolment_point_step"
        ),
        Index("ix_check_ins_session_enrolment", "class_session_id", "enrolment_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id"))
    point_id: Mapped[int] = mapped_column(ForeignKey("check_in_points.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    kind: Mapped[ScanKind] = mapped_column(text_enum(ScanKind))
    at: Mapped[datetime] = mapped_column(default=utcnow)  #: the server's time, never the phone's
    #: the code's 30-second step (a scan), or None (marked by hand)
    step: Mapped[int | None] = mapped_column(BigInteger)
    #: the signed-in device (its session) that scanned
    user_session_id: Mapped[int | None] = mapped_column(ForeignKey("user_sessions.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: a session asking where the phone is keeps only the answer, never the position
    location: Mapped[str | None] = mapped_column(String(8))

    point: Mapped[CheckInPoint] = relationship()
    enrolment: Mapped[Enrolment] = relationship()
