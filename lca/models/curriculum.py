"""The curriculum: its versions, their module groups, and the mechanisms and tools of field
practice each version uses."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, text_enum, utcnow

curriculum_version_mechanisms = Table(
    "curriculum_version_mechanisms",
    Base.metadata,
    Column(
        "version_id", ForeignKey("curriculum_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("mechanism_id", ForeignKey("field_mechanisms.id"), primary_key=True),
)
curriculum_version_tools = Table(
    "curriculum_version_tools",
    Base.metadata,
    Column(
        "version_id", ForeignKey("curriculum_versions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tool_id", ForeignKey("field_tools.id"), primary_key=True),
)


class CurriculumVersion(Base):
    """One version of the curriculum: its modules and the field catalogue it uses, in force from
    a date. Wording fixes change a version in place; a change of a rule (hours, modules, kinds,
    the field window, the catalogue) makes a new one. The current version is the newest; every
    cohort is bound to one (Cohort.curriculum_version_id)."""

    __tablename__ = "curriculum_versions"
    __table_args__ = (CheckConstraint("number > 0", name="number_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)  #: 1, 2, … in the order they were made
    name_th: Mapped[str] = mapped_column(String(200), unique=True)  #: e.g. CA 45 ชั่วโมง, 2568
    name_en: Mapped[str] = mapped_column(String(200))  #: e.g. CA 45 hours, 2025
    takes_effect_on: Mapped[date]  #: the day it took effect
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    modules: Mapped[list[Module]] = relationship(
        back_populates="version", lazy="raise", order_by="Module.number"
    )
    mechanisms: Mapped[list[FieldMechanism]] = relationship(
        secondary=curriculum_version_mechanisms, lazy="raise", order_by="FieldMechanism.number"
    )
    tools: Mapped[list[FieldTool]] = relationship(
        secondary=curriculum_version_tools, lazy="raise", order_by="FieldTool.number"
    )

    def __repr__(self) -> str:
        return f"<CurriculumVersion {self.number} {self.name_en}>"


class ModuleKind(enum.Enum):
    CLASSROOM = "classroom"
    FORUM = "forum"
    FIELD = "field"
    FESTIVAL = "festival"


class Module(Base):
    """A module group (กลุ่มวิชา) of the course and the hours it requires."""

    __tablename__ = "modules"
    __table_args__ = (
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint(
            "field_window_months IS NULL OR field_window_months > 0",
            name="field_window_months_positive",
        ),
        CheckConstraint(
            "(kind = 'field') = (field_window_months IS NOT NULL)",
            name="field_window_only_for_field",
        ),
        UniqueConstraint("version_id", "number", name="uq_modules_version_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("curriculum_versions.id"), index=True)
    number: Mapped[int]  #: its place in the curriculum, 1-7; the key of a module across versions
    title_th: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    hours: Mapped[int]  #: hours required to complete the module
    kind: Mapped[ModuleKind] = mapped_column(text_enum(ModuleKind))
    description_th: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    #: months a learner has to do the field hours (field practice only)
    field_window_months: Mapped[int | None]

    version: Mapped[CurriculumVersion] = relationship(back_populates="modules")

    @property
    def is_field(self) -> bool:
        return self.kind is ModuleKind.FIELD

    def __repr__(self) -> str:
        return f"<Module {self.number} {self.hours}h>"


class _FieldCatalogueEntry:
    """Columns shared by the field-practice catalogues kept in seed/."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  #: stable key used by seed/
    number: Mapped[int] = mapped_column(unique=True)  #: display order
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_th: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")


class FieldMechanism(_FieldCatalogueEntry, Base):
    """One of the four mechanisms that frame a city's learning-city work."""

    __tablename__ = "field_mechanisms"


class FieldTool(_FieldCatalogueEntry, Base):
    """A learning-city tool used in the field (participatory mapping, design thinking, …)."""

    __tablename__ = "field_tools"
