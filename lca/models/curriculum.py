"""The curriculum: module groups, and the mechanisms and tools of field practice."""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lca.core.db import Base, text_enum


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)  #: its place in the curriculum, 1-7
    title_th: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    hours: Mapped[int]  #: hours required to complete the module
    kind: Mapped[ModuleKind] = mapped_column(text_enum(ModuleKind))
    description_th: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    #: months a learner has to do the field hours (field practice only)
    field_window_months: Mapped[int | None]

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
