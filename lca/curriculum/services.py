"""Reading the curriculum: its versions, their modules and field catalogues, the rubric, and
the learning cities. Every cohort follows one version (Cohort.curriculum_version_id); what a
learner must do is read from the version of their cohort, never from "the" curriculum."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from lca.core.collation import thai_order
from lca.core.db import db
from lca.models import (
    City,
    CurriculumVersion,
    FieldMechanism,
    FieldTool,
    Module,
    Rubric,
    curriculum_version_mechanisms,
    curriculum_version_tools,
)


def current_version() -> CurriculumVersion | None:
    """The version in force now: the newest (exactly one is current); None before the seed."""
    return db.session.scalar(
        select(CurriculumVersion).order_by(CurriculumVersion.number.desc()).limit(1)
    )


def list_versions() -> list[CurriculumVersion]:
    """Every version, the first one first."""
    return list(db.session.scalars(select(CurriculumVersion).order_by(CurriculumVersion.number)))


def version_numbered(number: int) -> CurriculumVersion | None:
    return db.session.scalar(select(CurriculumVersion).where(CurriculumVersion.number == number))


def modules_of(version_id: int) -> list[Module]:
    """The module groups of one version, in curriculum order."""
    return list(
        db.session.scalars(
            select(Module).where(Module.version_id == version_id).order_by(Module.number)
        )
    )


#: built once, with a parameter (most pages ask): a statement keeps its cache key
_MODULES_OF_VERSIONS = (
    select(Module)
    .options(joinedload(Module.version))
    .where(Module.version_id.in_(bindparam("version_ids", expanding=True)))
    .order_by(Module.number)
)


def modules_by_version(version_ids: Iterable[int]) -> dict[int, list[Module]]:
    """{version id: its modules in curriculum order}, in one query for any number of versions
    (each module's version loaded with it, for the pages that name it)."""
    wanted = set(version_ids)
    found: dict[int, list[Module]] = defaultdict(list)
    if wanted:
        for module in db.session.scalars(_MODULES_OF_VERSIONS, {"version_ids": list(wanted)}):
            found[module.version_id].append(module)
    return {version_id: found.get(version_id, []) for version_id in wanted}


def total_hours(modules: list[Module]) -> int:
    """The hours the whole course requires: the sum of its modules' hours."""
    return sum(module.hours for module in modules)


def field_module(modules: list[Module]) -> Module | None:
    """The field-practice module, if the curriculum has one."""
    return next((module for module in modules if module.is_field), None)


# built once, with a parameter (every log form and log asks): a statement keeps its cache key
_MECHANISMS_OF_VERSIONS = (
    select(FieldMechanism)
    .join(curriculum_version_mechanisms)
    .where(curriculum_version_mechanisms.c.version_id.in_(bindparam("version_ids", expanding=True)))
    .order_by(FieldMechanism.number)
)
_TOOLS_OF_VERSIONS = (
    select(FieldTool)
    .join(curriculum_version_tools)
    .where(curriculum_version_tools.c.version_id.in_(bindparam("version_ids", expanding=True)))
    .order_by(FieldTool.number)
)


def field_catalogues_of(*version_ids: int) -> tuple[list[FieldMechanism], list[FieldTool]]:
    """The mechanisms and tools a field log of these versions is described with, in order."""
    versions = {"version_ids": list(version_ids)}
    mechanisms = db.session.scalars(_MECHANISMS_OF_VERSIONS, versions)
    tools = db.session.scalars(_TOOLS_OF_VERSIONS, versions)
    # a mechanism or tool of several versions is one row: listed once
    return list(dict.fromkeys(mechanisms)), list(dict.fromkeys(tools))


def in_field_catalogue(version_id: int, mechanism_id: int | None, tool_ids: list[int]) -> bool:
    """Whether a mechanism and tools are all of the catalogue of one version."""
    mechanisms, tools = field_catalogues_of(version_id)
    return (mechanism_id is None or mechanism_id in {m.id for m in mechanisms}) and set(
        tool_ids
    ) <= {t.id for t in tools}


def list_learning_cities() -> list[City]:
    """Thai cities in the UNESCO network, in the order they joined."""
    query = (
        select(City)
        .where(City.gnlc_joined_year.is_not(None))
        .order_by(City.gnlc_joined_year, thai_order(City.name_th))
    )
    return list(db.session.scalars(query))


def latest_rubric() -> Rubric | None:
    """The rubric field reports are graded with now."""
    return db.session.scalar(select(Rubric).order_by(Rubric.version.desc()).limit(1))
