"""Curriculum versions from seed/curriculum.yaml: what is a wording fix (the current version is
changed in place, audited) and what is a change of a rule (a new version; existing cohorts keep
theirs). Rules: the modules there are (by number), each one's hours and kind, the field window's
length, and the mechanisms and tools field logs may name. Wording: titles, descriptions and the
version's own name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select

from lca.core.audit import record
from lca.core.dates import buddhist_year, local_today
from lca.core.db import db
from lca.curriculum.services import (
    current_version,
    field_catalogues_of,
    list_versions,
    modules_of,
)
from lca.models import (
    CurriculumVersion,
    FieldMechanism,
    FieldTool,
    Module,
    curriculum_version_mechanisms,
    curriculum_version_tools,
)

#: what a module row of the seed may change in place; the rest of its fields are rules
WORDING = ("title_th", "title_en", "description_th", "description_en")
RULES = ("hours", "kind", "field_window_months")


@dataclass
class VersionPlan:
    """A curriculum as seed/curriculum.yaml states it, checked (lca.ops.seeding)."""

    modules: list[dict[str, Any]]  #: rows of Module's columns, by number
    mechanism_codes: list[str]
    tool_codes: list[str]
    name_th: str | None = None  #: None: named from its hours and year
    name_en: str | None = None
    takes_effect_on: date | None = None  #: None: today

    @property
    def total_hours(self) -> int:
        return sum(row["hours"] for row in self.modules)


@dataclass
class Outcome:
    """What the seed did (or, in a dry run, would do) to the curriculum."""

    version: CurriculumVersion
    created: bool = False
    rule_changes: list[str] = field(default_factory=list)
    wording_changes: list[str] = field(default_factory=list)

    filled: bool = False  #: the current version had no modules (lca.curriculum.versions.fill)

    def lines(self) -> list[str]:
        named = f"version {self.version.number} '{self.version.name_en}' ({self.version.name_th})"
        if self.filled:
            return [f"curriculum: {named} filled in (it had no modules)"]
        if self.created and self.version.number == 1:
            return [f"curriculum: {named} created"]
        if self.created:
            return [
                f"curriculum: {named} created, because a rule changed:",
                *(f"  - {change}" for change in self.rule_changes),
                "  existing cohorts stay on their versions; new cohorts get this one",
            ]
        if self.wording_changes:
            return [
                f"curriculum: {named} reworded in place:",
                *(f"  - {change}" for change in self.wording_changes),
            ]
        return [f"curriculum: {named} unchanged"]


def plan_from(version: CurriculumVersion) -> VersionPlan:
    """A plan with the modules and the catalogue of ``version`` (change it to make another),
    unnamed: a version made from it is named from its hours and year."""
    modules = [
        {name: getattr(module, name) for name in ("number", *WORDING, *RULES)}
        for module in modules_of(version.id)
    ]
    mechanisms, tools = field_catalogues_of(version.id)
    return VersionPlan(modules, [m.code for m in mechanisms], [t.code for t in tools])


def rule_changes(
    modules: list[Module],
    mechanism_codes: set[str],
    tool_codes: set[str],
    plan: VersionPlan,
) -> list[str]:
    """What in ``plan`` changes a rule of the version whose modules and catalogue are given."""
    changes: list[str] = []
    before = {module.number: module for module in modules}
    after = {row["number"]: row for row in plan.modules}
    for number in sorted(set(before) - set(after)):
        changes.append(f"module {number} removed")
    for number in sorted(set(after) - set(before)):
        changes.append(f"module {number} added ({after[number]['hours']} hours)")
    for number in sorted(set(before) & set(after)):
        for name in RULES:
            old, new = getattr(before[number], name), after[number][name]
            if old != new:
                shown = [getattr(value, "value", value) for value in (old, new)]
                changes.append(f"module {number} {name}: {shown[0]} -> {shown[1]}")
    for label, old_codes, new_codes in (
        ("mechanism", mechanism_codes, set(plan.mechanism_codes)),
        ("tool", tool_codes, set(plan.tool_codes)),
    ):
        changes += [f"{label} {code} removed" for code in sorted(old_codes - new_codes)]
        changes += [f"{label} {code} added" for code in sorted(new_codes - old_codes)]
    return changes


def _default_names(plan: VersionPlan, takes_effect_on: date) -> tuple[str, str]:
    hours = plan.total_hours
    return (
        f"CA {hours} ชั่วโมง, {buddhist_year(takes_effect_on)}",
        f"CA {hours} hours, {takes_effect_on.year}",
    )


def _free_names(name_th: str, name_en: str, number: int) -> tuple[str, str]:
    """The names, told apart from an earlier version's by the version's number if taken."""
    taken = db.session.scalar(
        select(CurriculumVersion.id).where(CurriculumVersion.name_th == name_th)
    )
    if taken is None:
        return name_th, name_en
    return f"{name_th} (ฉบับที่ {number})", f"{name_en} (version {number})"


def _catalogue_rows(model: type[FieldMechanism] | type[FieldTool], codes: list[str]) -> list[Any]:
    return list(db.session.scalars(select(model).where(model.code.in_(codes))))


def create_version(plan: VersionPlan, changes: list[str]) -> Outcome:
    """A new version with the plan's modules and catalogue; it becomes the current one."""
    previous = current_version()
    number = previous.number + 1 if previous else 1
    takes_effect_on = plan.takes_effect_on or local_today()
    if plan.name_th:
        name_th, name_en = plan.name_th, plan.name_en or plan.name_th
    else:
        name_th, name_en = _free_names(*_default_names(plan, takes_effect_on), number)
    version = CurriculumVersion(
        number=number, name_th=name_th, name_en=name_en, takes_effect_on=takes_effect_on
    )
    version.mechanisms = _catalogue_rows(FieldMechanism, plan.mechanism_codes)
    version.tools = _catalogue_rows(FieldTool, plan.tool_codes)
    db.session.add(version)
    db.session.flush()
    db.session.add_all(Module(version_id=version.id, **row) for row in plan.modules)
    db.session.flush()
    if number == 1:  # the first seed of an instance, as its cities and rubric: not audited
        return Outcome(version, created=True)
    record(
        None,
        "curriculum.version_create",
        version,
        number=number,
        name=name_th,
        hours=plan.total_hours,
        changes=changes,
    )
    return Outcome(version, created=True, rule_changes=changes)


def reword(version: CurriculumVersion, plan: VersionPlan) -> Outcome:
    """Apply the plan's wording to ``version`` in place (its rules are the plan's already)."""
    changes: list[str] = []
    by_number = {module.number: module for module in modules_of(version.id)}
    for row in plan.modules:
        module = by_number[row["number"]]
        for name in WORDING:
            if getattr(module, name) != row[name]:
                setattr(module, name, row[name])
                changes.append(f"module {module.number} {name}")
    for name in ("name_th", "name_en", "takes_effect_on"):
        wanted = getattr(plan, name)
        if wanted and getattr(version, name) != wanted:
            setattr(version, name, wanted)
            changes.append(f"version {name}")
    db.session.flush()
    if changes:
        record(None, "curriculum.reword", version, number=version.number, changes=changes)
    return Outcome(version, wording_changes=changes)


def fill(version: CurriculumVersion, plan: VersionPlan) -> Outcome:
    """Give a version without modules the plan's modules, catalogue and names: the version 1
    that migration 0016 made for a database that had cohorts but no curriculum seeded yet (its
    cohorts follow it, so the seed fills it in rather than making a version 2 beside it)."""
    if plan.name_th:
        version.name_th, version.name_en = plan.name_th, plan.name_en or plan.name_th
    else:
        version.name_th, version.name_en = _free_names(
            *_default_names(plan, version.takes_effect_on), version.number
        )
    if plan.takes_effect_on:
        version.takes_effect_on = plan.takes_effect_on
    for table, column, model, codes in (
        (curriculum_version_mechanisms, "mechanism_id", FieldMechanism, plan.mechanism_codes),
        (curriculum_version_tools, "tool_id", FieldTool, plan.tool_codes),
    ):
        db.session.execute(delete(table).where(table.c.version_id == version.id))
        rows = [{"version_id": version.id, column: row.id} for row in _catalogue_rows(model, codes)]
        if rows:
            db.session.execute(insert(table), rows)
    db.session.add_all(Module(version_id=version.id, **row) for row in plan.modules)
    db.session.flush()
    if version.number > 1:
        record(
            None,
            "curriculum.version_create",
            version,
            number=version.number,
            name=version.name_th,
            hours=plan.total_hours,
            changes=["filled in: it had no modules"],
        )
    return Outcome(version, created=True, filled=True)


def _changes_from_current(plan: VersionPlan) -> tuple[CurriculumVersion | None, list[str]]:
    current = current_version()
    if current is None:
        return None, []
    mechanisms, tools = field_catalogues_of(current.id)
    changes = rule_changes(
        modules_of(current.id), {m.code for m in mechanisms}, {t.code for t in tools}, plan
    )
    return current, changes


def check_plan(plan: VersionPlan) -> None:
    """Refuse, before anything is written, a plan whose version would carry another version's
    name (a new version still named like the current one is the usual case: a rule changed
    and the ``version:`` header was not), or a new version that takes effect before the
    current one did."""
    current, changes = _changes_from_current(plan)
    if current is None:
        return
    if not changes:  # a rewording of the current version: its name may not be another's
        others = [v for v in list_versions() if v.id != current.id]
        for version in others:
            if plan.name_th == version.name_th or plan.name_en == version.name_en:
                raise VersionPlanRefused(
                    f"curriculum.yaml version: the name '{plan.name_th}' / '{plan.name_en}' "
                    f"is the name of version {version.number}; the current version "
                    f"{current.number} needs a name of its own."
                )
        return
    listed = "; ".join(changes)
    if plan.name_th and (plan.name_th == current.name_th or plan.name_en == current.name_en):
        raise VersionPlanRefused(
            f"curriculum.yaml changes a rule ({listed}), so it makes a new curriculum version, "
            f"but its 'version:' name is still '{current.name_th}' / '{current.name_en}', the "
            f"name of version {current.number}. Give the new version its own name_th and "
            "name_en, or remove the 'version:' header to have them made from its hours and "
            "year."
        )
    if plan.name_th:
        for version in list_versions():
            if plan.name_th == version.name_th or plan.name_en == version.name_en:
                raise VersionPlanRefused(
                    f"curriculum.yaml changes a rule ({listed}), so it makes a new curriculum "
                    f"version, but the name '{plan.name_th}' / '{plan.name_en}' is the name "
                    f"of version {version.number}. Give the new version a name of its own. "
                    f"(If version {current.number} was seeded from another folder with "
                    "--seed-dir, put that folder's curriculum.yaml in seed/.)"
                )
    if plan.takes_effect_on and plan.takes_effect_on < current.takes_effect_on:
        raise VersionPlanRefused(
            f"curriculum.yaml changes a rule ({listed}), so it makes a new curriculum version, "
            f"but 'version: takes_effect_on' ({plan.takes_effect_on.isoformat()}) is before "
            f"the day version {current.number} took effect "
            f"({current.takes_effect_on.isoformat()}). Give the day the new version starts."
        )


def apply_plan(plan: VersionPlan) -> Outcome:
    """The seed's curriculum applied: the first version, a new version, or the current one
    reworded. The mechanisms and tools the plan names exist already (their wording is shared
    by every version that uses them)."""
    current = current_version()
    if current is not None and not modules_of(current.id):
        return fill(current, plan)
    check_plan(plan)
    current, changes = _changes_from_current(plan)
    if current is not None and not changes:
        return reword(current, plan)
    return create_version(plan, changes)


class VersionPlanRefused(ValueError):
    """The seed's curriculum cannot be applied as it stands (the message says why and what to
    change in curriculum.yaml)."""
