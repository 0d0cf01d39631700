"""Field-work assessment: the rubric (versioned), learners' field reports, and every grading."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, text_enum, utcnow
from lca.models.hours import FILE_SIZE_RULE, StoredFile

if TYPE_CHECKING:
    from lca.models.cohorts import Enrolment
    from lca.models.hours import HourLog
    from lca.models.users import User


class Rubric(Base):
    """One version of the programme's rubric; a new version is made when seed/ changes it."""

    __tablename__ = "rubrics"
    __table_args__ = (
        CheckConstraint("pass_mark > 0 AND pass_mark <= max_points", name="pass_mark_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    pass_mark: Mapped[int]  #: the total a pass needs
    max_points: Mapped[int]  #: the sum of the criteria's points
    fingerprint: Mapped[str] = mapped_column(String(64))  #: of the seed content it came from
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="rubric", lazy="selectin", order_by="RubricCriterion.number"
    )


class RubricCriterion(Base):
    __tablename__ = "rubric_criteria"
    __table_args__ = (
        UniqueConstraint("rubric_id", "code", name="uq_rubric_criteria_rubric_code"),
        UniqueConstraint("rubric_id", "number", name="uq_rubric_criteria_rubric_number"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    code: Mapped[str] = mapped_column(String(64))
    number: Mapped[int]
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_th: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    max_points: Mapped[int]
    #: what earns the points: [{"points": 16, "text_th": …, "text_en": …}, …], best first
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")


class ReportStatus(enum.Enum):
    SUBMITTED = "submitted"  #: waiting to be graded; the learner may still edit it
    REVISE = "revise"  #: graded "revise": the learner changes it and resubmits
    PASSED = "passed"  #: final
    FAILED = "failed"  #: final


class GradeResult(enum.Enum):
    PASS = "pass"  # noqa: S105 - a grade, not a password
    REVISE = "revise"
    FAIL = "fail"


field_report_logs = Table(
    "field_report_logs",
    Base.metadata,
    Column("field_report_id", ForeignKey("field_reports.id", ondelete="CASCADE"), primary_key=True),
    Column("hour_log_id", ForeignKey("hour_logs.id"), primary_key=True),
)


class FieldReport(Base):
    """A learner's report on their field practice, for one enrolment."""

    __tablename__ = "field_reports"
    __table_args__ = (CheckConstraint("length(summary) > 0", name="summary_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), unique=True)
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[ReportStatus] = mapped_column(
        text_enum(ReportStatus), default=ReportStatus.SUBMITTED, index=True
    )
    #: the instructor who grades it; None: any instructor of the cohort
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: when its files were removed under the retention rule (LCA_EVIDENCE_RETENTION_YEARS)
    files_removed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own protocol

    enrolment: Mapped[Enrolment] = relationship()
    assessor: Mapped[User | None] = relationship()
    logs: Mapped[list[HourLog]] = relationship(
        secondary=field_report_logs, lazy="raise", order_by="HourLog.worked_on"
    )
    files: Mapped[list[ReportFile]] = relationship(
        back_populates="field_report", lazy="raise", order_by="ReportFile.id"
    )
    grades: Mapped[list[Grade]] = relationship(
        back_populates="field_report", lazy="raise", order_by="Grade.id"
    )
    reopenings: Mapped[list[ReportReopening]] = relationship(
        back_populates="field_report", lazy="raise", order_by="ReportReopening.id"
    )

    @property
    def is_editable(self) -> bool:
        """The learner may change it until it is graded, and again after "revise"."""
        return self.status in (ReportStatus.SUBMITTED, ReportStatus.REVISE)

    @property
    def is_final(self) -> bool:
        return self.status in (ReportStatus.PASSED, ReportStatus.FAILED)


class ReportFile(StoredFile, Base):
    """A photo or PDF attached to a field report (the same rules as evidence)."""

    __tablename__ = "report_files"
    __table_args__ = (CheckConstraint(FILE_SIZE_RULE, name="size_in_range"),)

    field_report_id: Mapped[int] = mapped_column(ForeignKey("field_reports.id"), index=True)

    field_report: Mapped[FieldReport] = relationship(back_populates="files")


class Grade(Base):
    """One grading of a report, kept for good: who, when, under which rubric, the scores."""

    __tablename__ = "grades"
    __table_args__ = (
        CheckConstraint("total_points >= 0", name="total_not_negative"),
        CheckConstraint(
            "result != 'revise' OR length(trim(feedback)) > 0", name="revise_says_what_to_change"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    field_report_id: Mapped[int] = mapped_column(ForeignKey("field_reports.id"), index=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"))
    grader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    result: Mapped[GradeResult] = mapped_column(text_enum(GradeResult))
    total_points: Mapped[int]  #: computed from the scores, never typed
    feedback: Mapped[str] = mapped_column(Text, default="")
    graded_at: Mapped[datetime] = mapped_column(default=utcnow)

    field_report: Mapped[FieldReport] = relationship(back_populates="grades")
    rubric: Mapped[Rubric] = relationship()
    grader: Mapped[User] = relationship()
    scores: Mapped[list[GradeScore]] = relationship(
        back_populates="grade", lazy="raise", order_by="GradeScore.id"
    )


class GradeScore(Base):
    __tablename__ = "grade_scores"
    __table_args__ = (
        UniqueConstraint("grade_id", "criterion_id", name="uq_grade_scores_grade_criterion"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_id: Mapped[int] = mapped_column(ForeignKey("grades.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("rubric_criteria.id"))
    points: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")

    grade: Mapped[Grade] = relationship(back_populates="scores")
    criterion: Mapped[RubricCriterion] = relationship()


class ReportReopening(Base):
    """An administrator's reopening of a failed report, with the reason kept: the failed grade
    stays in the report's history but no longer decides the result, and the learner hands in
    the report again."""

    __tablename__ = "report_reopenings"
    __table_args__ = (CheckConstraint("length(trim(reason)) > 0", name="reason_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_report_id: Mapped[int] = mapped_column(ForeignKey("field_reports.id"), index=True)
    #: the failed grade this reopening set aside
    grade_id: Mapped[int] = mapped_column(ForeignKey("grades.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    reopened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reopened_at: Mapped[datetime] = mapped_column(default=utcnow)

    field_report: Mapped[FieldReport] = relationship(back_populates="reopenings")
    grade: Mapped[Grade] = relationship()
    reopened_by: Mapped[User] = relationship()
