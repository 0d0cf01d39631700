"""Reading the curriculum and the learning cities."""

from __future__ import annotations

from sqlalchemy import select

from lca.core.collation import thai_order
from lca.core.db import db
from lca.models import City, FieldMechanism, FieldTool, Module, Rubric


def list_modules() -> list[Module]:
    """The module groups in curriculum order."""
    return list(db.session.scalars(select(Module).order_by(Module.number)))


def total_hours(modules: list[Module]) -> int:
    """The hours the whole course requires: the sum of its modules' hours."""
    return sum(module.hours for module in modules)


def field_module(modules: list[Module]) -> Module | None:
    """The field-practice module, if the curriculum has one."""
    return next((module for module in modules if module.is_field), None)


def list_field_catalogues() -> tuple[list[FieldMechanism], list[FieldTool]]:
    """The mechanisms and tools a field log is described with, in display order."""
    mechanisms = list(db.session.scalars(select(FieldMechanism).order_by(FieldMechanism.number)))
    tools = list(db.session.scalars(select(FieldTool).order_by(FieldTool.number)))
    return mechanisms, tools


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
