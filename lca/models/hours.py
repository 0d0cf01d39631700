"""The hours ledger: class sessions and attendance, hour logs with evidence and review notes,
and extensions of a learner's field window."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, text_enum, utcnow

if TYPE_CHECKING:
    from lca.models.cohorts import Cohort, Enrolment
    from lca.models.curriculum import FieldMechanism, FieldTool, Module
    from lca.models.users import User

MAX_MINUTES_PER_LOG = 12 * 60  #: one day's worth
MINUTE_STEP = 15  #: hours are logged on a quarter-hour grid
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE_PER_LOG = 5

#: the radius a session may ask a phone checking in to be within, in metres
GEOFENCE_METRES = (20, 5000)

MINUTES_RULE = f"minutes > 0 AND minutes <= {MAX_MINUTES_PER_LOG} AND minutes % {MINUTE_STEP} = 0"


class LogStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"  #: sent back to the learner with a question
    WITHDRAWN = "withdrawn"  #: taken back by the learner before review


class LogSource(enum.Enum):
    LEARNER = "learner"  #: logged by the learner, reviewed by an instructor
    ATTENDANCE = "attendance"  #: credited by attendance at a class session


class AttendanceStatus(enum.Enum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


class NoteKind(enum.Enum):
    QUESTION = "question"  #: the reviewer returns the log with a question
    ANSWER = "answer"  #: the learner's reply
    REJECTION = "rejection"  #: the reviewer's reason for rejecting


hour_log_tools = Table(
    "hour_log_tools",
    Base.metadata,
    Column("hour_log_id", ForeignKey("hour_logs.id", ondelete="CASCADE"), primary_key=True),
    Column("tool_id", ForeignKey("field_tools.id"), primary_key=True),
)


class ClassSession(Base):
    """A scheduled classroom session, forum or festival day of a cohort."""

    __tablename__ = "class_sessions"
    __table_args__ = (
        CheckConstraint(MINUTES_RULE, name="minutes_in_range"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="place_has_both"),
        CheckConstraint(
            "geofence_metres IS NULL OR (latitude IS NOT NULL "
            f"AND geofence_metres BETWEEN {GEOFENCE_METRES[0]} AND {GEOFENCE_METRES[1]})",
            name="geofence_in_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    held_on: Mapped[date]
    starts_at: Mapped[time]
    minutes: Mapped[int]  #: the session's length; a present learner is credited all of it
    place: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: bumped by every change a calendar should show (time, place, module, cancellation): the
    #: calendar feed's SEQUENCE of the session's event
    sequence: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[datetime | None]  #: called off: kept, shown as cancelled
    #: self check-in: when the instructor closed it (no scan counts after), and when they
    #: confirmed that the learners still checked in at the end stayed to the end
    check_in_closed_at: Mapped[datetime | None]
    roster_confirmed_at: Mapped[datetime | None]
    #: where the session is, for an optional check that a phone checking in is within
    #: ``geofence_metres`` of it (the phone's position is never stored, only inside/outside)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    geofence_metres: Mapped[int | None]

    cohort: Mapped[Cohort] = relationship()
    module: Mapped[Module] = relationship()


class Attendance(Base):
    """One learner's attendance at one session; it credits hours through an hour log."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint(
            "class_session_id", "enrolment_id", name="uq_attendances_session_enrolment"
        ),
        CheckConstraint(
            f"minutes >= 0 AND minutes <= {MAX_MINUTES_PER_LOG} AND minutes % {MINUTE_STEP} = 0",
            name="minutes_in_range",
        ),
        CheckConstraint(
            "(status IN ('absent', 'excused')) = (minutes = 0)", name="credit_follows_status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(text_enum(AttendanceStatus))
    minutes: Mapped[int]  #: the minutes credited
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: credited from the learner's check-in and check-out (kept in step with them); a mark on
    #: the roll form takes over and is no longer changed by a scan
    by_check_in: Mapped[bool] = mapped_column(default=False)

    class_session: Mapped[ClassSession] = relationship()
    enrolment: Mapped[Enrolment] = relationship()


class HourLog(Base):
    """Hours a learner earned for a module on a day; counted once approved."""

    __tablename__ = "hour_logs"
    __table_args__ = (
        CheckConstraint(MINUTES_RULE, name="minutes_in_range"),
        CheckConstraint(
            "(source = 'attendance') = (class_session_id IS NOT NULL)",
            name="attendance_has_session",
        ),
        UniqueConstraint("enrolment_id", "class_session_id", name="uq_hour_logs_enrolment_session"),
        Index("ix_hour_logs_queue", "status", "submitted_at"),
        # A learner's logs by state: an instructor's queue (their learners' pending logs) and
        # progress (every log of a cohort's enrolments, summed by module) both start here.
        Index("ix_hour_logs_enrolment_status", "enrolment_id", "status", "module_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    worked_on: Mapped[date]
    #: when the work began, if the learner said (an attendance credit's is its session's)
    starts_at: Mapped[time | None]
    minutes: Mapped[int]  #: whole minutes; shown as hours
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[LogSource] = mapped_column(text_enum(LogSource), default=LogSource.LEARNER)
    class_session_id: Mapped[int | None] = mapped_column(ForeignKey("class_sessions.id"))
    status: Mapped[LogStatus] = mapped_column(text_enum(LogStatus), default=LogStatus.PENDING)
    #: field practice only: the mechanism the work belongs to, and where it happened
    mechanism_id: Mapped[int | None] = mapped_column(ForeignKey("field_mechanisms.id"))
    place: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)  #: the queue's order
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: when its evidence files were removed under the retention rule (LCA_EVIDENCE_RETENTION_YEARS)
    evidence_removed_at: Mapped[datetime | None]
    #: bumped by every change: two people acting on the same log at once cannot both win
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own protocol

    enrolment: Mapped[Enrolment] = relationship()
    module: Mapped[Module] = relationship()
    mechanism: Mapped[FieldMechanism | None] = relationship()
    class_session: Mapped[ClassSession | None] = relationship()
    tools: Mapped[list[FieldTool]] = relationship(
        secondary=hour_log_tools, lazy="raise", order_by="FieldTool.number"
    )
    evidence: Mapped[list[EvidenceFile]] = relationship(
        back_populates="hour_log", lazy="raise", order_by="EvidenceFile.id"
    )
    notes: Mapped[list[HourLogNote]] = relationship(lazy="raise", order_by="HourLogNote.id")
    reviewed_by: Mapped[User | None] = relationship()

    @property
    def is_editable(self) -> bool:
        """The learner may still change or withdraw it."""
        return self.source is LogSource.LEARNER and self.status in (
            LogStatus.PENDING,
            LogStatus.RETURNED,
        )

    def __repr__(self) -> str:
        return f"<HourLog {self.id} {self.status.value} {self.minutes}min>"


class StoredFile:
    """Columns of a file kept under LCA_DATA_DIR by a random key (evidence, report attachments)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(128))
    original_name: Mapped[str] = mapped_column(String(255))  #: as uploaded, for the download
    content_type: Mapped[str] = mapped_column(String(64))  #: decided from the content
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: where a photo was taken ("13.756300,100.501800"), kept only when the learner chose to
    #: keep the place as evidence; every other position in a photo is removed on upload
    place: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


FILE_SIZE_RULE = f"size_bytes > 0 AND size_bytes <= {MAX_EVIDENCE_BYTES}"


class EvidenceFile(StoredFile, Base):
    """A photo or PDF attached to an hour log."""

    __tablename__ = "evidence_files"
    __table_args__ = (CheckConstraint(FILE_SIZE_RULE, name="size_in_range"),)

    hour_log_id: Mapped[int] = mapped_column(ForeignKey("hour_logs.id"), index=True)

    hour_log: Mapped[HourLog] = relationship(back_populates="evidence")


class HourLogNote(Base):
    """A question, answer or rejection reason in the conversation about a log."""

    __tablename__ = "hour_log_notes"
    __table_args__ = (CheckConstraint("length(body) > 0", name="body_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hour_log_id: Mapped[int] = mapped_column(ForeignKey("hour_logs.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NoteKind] = mapped_column(text_enum(NoteKind))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()


class FieldWindowExtension(Base):
    """An administrator's change of one learner's last field day, with the reason kept: later
    (an extension), or earlier again (the correction of a mistaken one)."""

    __tablename__ = "field_window_extensions"
    __table_args__ = (
        CheckConstraint("extended_to <> previous_ends_on", name="changes_the_last_day"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    previous_ends_on: Mapped[date]
    extended_to: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrolment: Mapped[Enrolment] = relationship()
    granted_by: Mapped[User | None] = relationship()


class DraftFile(StoredFile, Base):
    """A photo or PDF a learner chose on a log form that came back with an error: kept for
    that learner alone (never served to anyone) until the log is saved with it, the learner
    removes it, or it expires (lca/hours/drafts.py)."""

    __tablename__ = "draft_files"
    __table_args__ = (CheckConstraint(FILE_SIZE_RULE, name="size_in_range"),)

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
