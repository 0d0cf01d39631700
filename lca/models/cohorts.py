"""Cohorts (รุ่น), their instructors and the learners enrolled in them."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    event,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from lca.core.dates import add_months
from lca.core.db import Base, UTCDateTime, text_enum, utcnow

if TYPE_CHECKING:
    from lca.models.curriculum import CurriculumVersion
    from lca.models.places import City
    from lca.models.users import User

cohort_instructors = Table(
    "cohort_instructors",
    Base.metadata,
    Column("cohort_id", ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    Column("instructor_id", ForeignKey("users.id"), primary_key=True, index=True),
    Column("assigned_at", UTCDateTime, nullable=False, default=utcnow),
)

MAX_FIELD_WINDOW_MONTHS = 24


def cohorts_taught_by(user_id: int) -> Select[tuple[int]]:
    """The ids of the cohorts an instructor teaches: those they are assigned to."""
    return select(cohort_instructors.c.cohort_id).where(
        cohort_instructors.c.instructor_id == user_id
    )


class Cohort(Base):
    """One run of the course, hosted by a city, with its own field-practice window."""

    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_not_before_start"),
        CheckConstraint("field_starts_on >= starts_on", name="field_starts_not_before_start"),
        CheckConstraint("field_starts_on <= ends_on", name="field_starts_by_the_end"),
        CheckConstraint(
            f"field_window_months BETWEEN 1 AND {MAX_FIELD_WINDOW_MONTHS}",
            name="field_window_months_range",
        ),
        CheckConstraint("code = upper(code)", name="code_upper_case"),
        CheckConstraint("field_ends_on >= field_starts_on", name="field_ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  #: e.g. CA-2569-01
    host_city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), index=True)
    #: the curriculum the cohort follows: progress, eligibility, reports and certificates read it
    curriculum_version_id: Mapped[int] = mapped_column(
        ForeignKey("curriculum_versions.id"), index=True
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    field_starts_on: Mapped[date]  #: where each learner's field window starts by default
    field_window_months: Mapped[int] = mapped_column(default=6)
    #: last day of the default field window, kept in step with the two columns above
    field_ends_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    host_city: Mapped[City] = relationship()
    curriculum_version: Mapped[CurriculumVersion] = relationship()
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="cohort", lazy="raise")

    def __repr__(self) -> str:
        return f"<Cohort {self.code}>"


class CurriculumMove(Base):
    """A cohort moved from one curriculum version to another by an administrator, with the
    reason, kept for good (the audit log has the same act)."""

    __tablename__ = "curriculum_moves"
    __table_args__ = (CheckConstraint("from_version_id <> to_version_id", name="to_another"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("curriculum_versions.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("curriculum_versions.id"))
    reason: Mapped[str] = mapped_column(Text)
    #: the administrator confirmed that certificates already issued stand as issued
    certificates_stand: Mapped[bool] = mapped_column(default=False)
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moved_at: Mapped[datetime] = mapped_column(default=utcnow)

    from_version: Mapped[CurriculumVersion] = relationship(foreign_keys=[from_version_id])
    to_version: Mapped[CurriculumVersion] = relationship(foreign_keys=[to_version_id])
    moved_by: Mapped[User | None] = relationship()


def field_window_end(starts_on: date, months: int) -> date:
    """The last day of a field window of ``months`` months from ``starts_on``, inclusive."""
    return add_months(starts_on, months) - timedelta(days=1)


@event.listens_for(Cohort, "before_insert")
@event.listens_for(Cohort, "before_update")
def _keep_field_end_in_step(
    _mapper: Mapper[Cohort], _connection: Connection, cohort: Cohort
) -> None:
    cohort.field_ends_on = field_window_end(cohort.field_starts_on, cohort.field_window_months)


class EnrolmentStatus(enum.Enum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"


class Enrolment(Base):
    """One learner in one cohort, with the learner's own field-practice window."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("cohort_id", "learner_id", name="uq_enrolments_cohort_learner"),
        CheckConstraint(
            "(status = 'withdrawn') = (withdrawn_at IS NOT NULL)",
            name="withdrawn_at_matches_status",
        ),
        # A learner's own start always comes with their own last day, never before it.
        CheckConstraint(
            "field_starts_on IS NULL "
            "OR (field_ends_on IS NOT NULL AND field_ends_on >= field_starts_on)",
            name="own_field_end_not_before_start",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(
        text_enum(EnrolmentStatus), default=EnrolmentStatus.ACTIVE, index=True
    )
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    #: this learner's own field start; None means the cohort's
    field_starts_on: Mapped[date | None]
    #: this learner's own last field day (own start or an extension); None means the cohort's
    field_ends_on: Mapped[date | None]

    cohort: Mapped[Cohort] = relationship(back_populates="enrolments")
    learner: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status is EnrolmentStatus.ACTIVE

    @hybrid_property
    def field_window_starts_on(self) -> date:
        """The first day of this learner's field window: their own start, or the cohort's."""
        return self.field_starts_on or self.cohort.field_starts_on

    @field_window_starts_on.inplace.expression
    @classmethod
    def _field_window_starts_on(cls) -> ColumnElement[date]:
        return func.coalesce(cls.field_starts_on, Cohort.field_starts_on)

    @hybrid_property
    def field_window_ends_on(self) -> date:
        """The last day of this learner's field window (inclusive): their own last day (own
        start or an extension), or the cohort's."""
        return self.field_ends_on or self.cohort.field_ends_on

    @field_window_ends_on.inplace.expression
    @classmethod
    def _field_window_ends_on(cls) -> ColumnElement[date]:
        return func.coalesce(cls.field_ends_on, Cohort.field_ends_on)

    @hybrid_method
    def in_field_window(self, day: Any, /) -> bool:
        """Field hours count only on days inside the learner's field window. ``day`` is a date,
        or in a query a date column (and the enrolment's cohort must be joined)."""
        return bool(self.field_window_starts_on <= day <= self.field_window_ends_on)

    @in_field_window.expression
    @classmethod
    def _in_field_window(cls, day: Any, /) -> ColumnElement[bool]:
        return and_(day >= cls.field_window_starts_on, day <= cls.field_window_ends_on)

    def __repr__(self) -> str:
        return f"<Enrolment {self.id} cohort={self.cohort_id} learner={self.learner_id}>"
