"""Loading seed/ (curriculum, field catalogues, cities, rubric) into the database: create or
update, never duplicate."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select

from lca.core.db import Base, db
from lca.core.seed_files import SEED_DIR, SeedError, read_seed_file
from lca.curriculum.versions import Outcome, VersionPlan, VersionPlanRefused, apply_plan, check_plan
from lca.models import City, FieldMechanism, FieldTool, Module, ModuleKind, Rubric, RubricCriterion


@dataclass(frozen=True)
class Column:
    name: str
    kind: type | Any = str
    required: bool = True


@dataclass(frozen=True)
class Catalogue:
    """One list in a seed file, the model it fills and the key that identifies a row."""

    file: str
    section: str
    model: type[Base]
    key: str
    columns: tuple[Column, ...]


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TEXT_PAIR = (Column("description_th", required=False), Column("description_en", required=False))
CATALOGUES = (
    Catalogue(
        "curriculum.yaml",
        "modules",
        Module,
        "number",
        (
            Column("number", int),
            Column("title_th"),
            Column("title_en"),
            Column("hours", int),
            Column("kind", ModuleKind),
            *TEXT_PAIR,
            Column("field_window_months", int, False),
        ),
    ),
    Catalogue(
        "curriculum.yaml",
        "mechanisms",
        FieldMechanism,
        "code",
        (
            Column("code"),
            Column("number", int),
            Column("name_th"),
            Column("name_en"),
            *TEXT_PAIR,
        ),
    ),
    Catalogue(
        "curriculum.yaml",
        "tools",
        FieldTool,
        "code",
        (
            Column("code"),
            Column("number", int),
            Column("name_th"),
            Column("name_en"),
            *TEXT_PAIR,
        ),
    ),
    Catalogue(
        "cities.yaml",
        "cities",
        City,
        "code",
        (
            Column("code"),
            Column("name_th"),
            Column("name_en"),
            Column("gnlc_joined_year", int, False),
        ),
    ),
)


@dataclass
class SeedReport:
    counts: dict[str, Counter] = field(default_factory=dict)
    curriculum: Outcome | None = None

    def add(self, section: str, outcome: str) -> None:
        self.counts.setdefault(section, Counter())[outcome] += 1

    def lines(self) -> list[str]:
        lines = [
            f"{section}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for section, c in self.counts.items()
        ]
        return [*(self.curriculum.lines() if self.curriculum else []), *lines]


def _clean_row(catalogue: Catalogue, index: int, row: Any) -> dict:
    where = f"{catalogue.file} {catalogue.section}[{index}]"
    if not isinstance(row, dict):
        raise SeedError(f"{where}: expected a mapping.")
    unknown = set(row) - {column.name for column in catalogue.columns}
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    values: dict[str, Any] = {}
    for column in catalogue.columns:
        value = row.get(column.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if column.required:
                raise SeedError(f"{where}: '{column.name}' is required.")
            values[column.name] = "" if column.kind is str else None
            continue
        if column.kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise SeedError(
                    f"{where}: '{column.name}' must be a whole number of at least 1, not {value!r}."
                )
            values[column.name] = value
        elif column.kind is str:
            values[column.name] = " ".join(str(value).split())
        else:
            try:
                values[column.name] = column.kind(value)
            except ValueError as error:
                allowed = ", ".join(member.value for member in cast(type[Enum], column.kind))
                raise SeedError(
                    f"{where}: '{column.name}' must be one of {allowed}, not {value!r}."
                ) from error
    return values


def _validate_modules(rows: list[dict]) -> None:
    """Exactly one field-practice module, and the field window on it alone (hours and numbers
    are checked row by row, repeats by load_catalogue)."""
    fields = [row["number"] for row in rows if row["kind"] is ModuleKind.FIELD]
    if len(fields) != 1:
        which = f" (modules {', '.join(map(str, fields))})" if fields else ""
        raise SeedError(
            "curriculum.yaml modules: the curriculum needs exactly one field-practice module "
            f"(kind: field); it has {len(fields)}{which}."
        )
    for index, row in enumerate(rows):
        where = f"curriculum.yaml modules[{index}] (module {row['number']})"
        if row["kind"] is ModuleKind.FIELD and row["field_window_months"] is None:
            raise SeedError(
                f"{where}: field practice needs 'field_window_months', the months a learner "
                "has to do the field hours."
            )
        if row["kind"] is not ModuleKind.FIELD and row["field_window_months"] is not None:
            raise SeedError(
                f"{where}: 'field_window_months' is only for the field-practice module "
                f"(kind: field); this one is {row['kind'].value}."
            )


def load_catalogue(catalogue: Catalogue, data: dict) -> list[dict]:
    entries = data.get(catalogue.section)
    if not isinstance(entries, list) or not entries:
        raise SeedError(f"{catalogue.file}: '{catalogue.section}' must be a non-empty list.")
    rows = [_clean_row(catalogue, index, row) for index, row in enumerate(entries)]
    for column in ("number", "code", "name_th", "name_en"):
        values = [row[column] for row in rows if column in row]
        duplicates = {value for value in values if values.count(value) > 1}
        if duplicates:
            raise SeedError(
                f"{catalogue.file} {catalogue.section}: '{column}' repeats {sorted(duplicates)}."
            )
    if catalogue.model is Module:
        _validate_modules(rows)
    return rows


def _upsert(catalogue: Catalogue, rows: list[dict], report: SeedReport) -> None:
    model: Any = catalogue.model
    key_column = getattr(model, catalogue.key)
    existing: dict[Any, Any] = {
        getattr(obj, catalogue.key): obj
        for obj in db.session.scalars(
            select(model).where(key_column.in_([r[catalogue.key] for r in rows]))
        )
    }
    before = {k: {name: getattr(obj, name) for name in rows[0]} for k, obj in existing.items()}
    if "number" in rows[0] and catalogue.key != "number":
        # an entry the file no longer lists stays for the versions that use it, numbered
        # after every listed one, so that a new entry may take its number
        wanted = {row["number"] for row in rows}
        for obj in db.session.scalars(
            select(model).where(key_column.not_in([r[catalogue.key] for r in rows]))
        ):
            if obj.number in wanted:
                obj.number = 1000 + obj.id
        db.session.flush()
        holders = {obj.number: k for k, obj in existing.items()}
        if any(
            holders.get(row["number"], row[catalogue.key]) != row[catalogue.key] for row in rows
        ):
            for obj in existing.values():  # numbers swap places: move them out of the way first
                obj.number = -obj.id
            db.session.flush()
    for row in rows:
        obj = existing.get(row[catalogue.key])
        if obj is None:
            db.session.add(model(**row))
            report.add(catalogue.section, "created")
            continue
        for name, value in row.items():
            setattr(obj, name, value)
        changed = before[row[catalogue.key]] != row
        report.add(catalogue.section, "updated" if changed else "unchanged")
    db.session.flush()


def _whole(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SeedError(f"{where}: expected a whole number of at least {minimum}, not {value!r}.")
    return value


def _text(row: dict, key: str, where: str, required: bool = True) -> str:
    value = " ".join(str(row.get(key) or "").split())
    if required and not value:
        raise SeedError(f"{where}: '{key}' is required.")
    return value


def load_rubric(data: dict) -> dict:
    """The rubric of seed/rubric.yaml, checked: criteria with unique codes and numbers, each with
    levels that cover its points from the top down to 0 without gaps, and a reachable pass mark."""
    criteria = data.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        raise SeedError("rubric.yaml: 'criteria' must be a non-empty list.")
    cleaned = []
    for index, row in enumerate(criteria):
        where = f"rubric.yaml criteria[{index}]"
        if not isinstance(row, dict):
            raise SeedError(f"{where}: expected a mapping.")
        criterion: dict[str, Any] = {
            "code": _text(row, "code", where),
            "number": _whole(row.get("number"), f"{where} number", 1),
            "name_th": _text(row, "name_th", where),
            "name_en": _text(row, "name_en", where),
            "description_th": _text(row, "description_th", where, required=False),
            "description_en": _text(row, "description_en", where, required=False),
            "max_points": _whole(row.get("max_points"), f"{where} max_points", 1),
        }
        levels = row.get("levels")
        if not isinstance(levels, list) or not levels:
            raise SeedError(f"{where}: 'levels' must be a non-empty list.")
        criterion["levels"] = [
            {
                "min": _whole(level.get("min"), f"{where} level min"),
                "max": _whole(level.get("max"), f"{where} level max"),
                "text_th": _text(level, "text_th", f"{where} level"),
                "text_en": _text(level, "text_en", f"{where} level"),
            }
            for level in levels
            if isinstance(level, dict)
        ]
        top = criterion["max_points"]
        for level in criterion["levels"]:
            if level["max"] != top or level["min"] > level["max"]:
                raise SeedError(
                    f"{where}: levels must run from {criterion['max_points']} "
                    "down to 0, best first, without gaps or overlaps."
                )
            top = level["min"] - 1
        if top != -1:
            raise SeedError(f"{where}: the lowest level must start at 0.")
        cleaned.append(criterion)
    for key in ("code", "number"):
        values = [c[key] for c in cleaned]
        if len(set(values)) != len(values):
            raise SeedError(f"rubric.yaml: criteria '{key}' values repeat.")
    max_points = sum(c["max_points"] for c in cleaned)
    pass_mark = _whole(data.get("pass_mark"), "rubric.yaml pass_mark", 1)
    if pass_mark > max_points:
        raise SeedError(
            f"rubric.yaml: pass_mark {pass_mark} is more than the {max_points} "
            "points the criteria give."
        )
    return {
        "pass_mark": pass_mark,
        "max_points": max_points,
        "criteria": sorted(cleaned, key=lambda c: c["number"]),
    }


def _seed_rubric(rubric: dict, report: SeedReport) -> None:
    """A new rubric version when the content changed; grades keep the version they used."""
    fingerprint = hashlib.sha256(
        json.dumps(rubric, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    current = db.session.scalar(select(Rubric).order_by(Rubric.version.desc()).limit(1))
    if current is not None and current.fingerprint == fingerprint:
        report.add("rubric", "unchanged")
        return
    version = Rubric(
        version=(current.version + 1) if current else 1,
        pass_mark=rubric["pass_mark"],
        max_points=rubric["max_points"],
        fingerprint=fingerprint,
        criteria=[RubricCriterion(**criterion) for criterion in rubric["criteria"]],
    )
    db.session.add(version)
    db.session.flush()
    report.add("rubric", "created")


def load_version_header(data: dict) -> dict[str, Any]:
    """The optional ``version:`` of curriculum.yaml: the names (and the day it takes effect)
    of the version its modules make."""
    header = data.get("version")
    if header is None:
        return {}
    where = "curriculum.yaml version"
    if not isinstance(header, dict):
        raise SeedError(f"{where}: expected a mapping of name_th, name_en and takes_effect_on.")
    unknown = set(header) - {"name_th", "name_en", "takes_effect_on"}
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    values: dict[str, Any] = {
        "name_th": _text(header, "name_th", where),
        "name_en": _text(header, "name_en", where),
    }
    for name in ("name_th", "name_en"):
        if len(values[name]) > 200:
            raise SeedError(f"{where}: '{name}' is longer than 200 characters.")
    day = header.get("takes_effect_on")
    if isinstance(day, str) and ISO_DAY.match(day.strip()):
        with suppress(ValueError):  # a quoted day; 2026-13-01 stays a string, refused below
            day = date.fromisoformat(day.strip())
    if day is not None and (not isinstance(day, date) or isinstance(day, datetime)):
        raise SeedError(
            f"{where}: 'takes_effect_on' must be a day such as 2026-05-01, not {day!r}."
        )
    values["takes_effect_on"] = day
    return values


def seed_all(seed_dir: Path = SEED_DIR) -> SeedReport:
    """Create or update every catalogue from ``seed_dir``; validates everything before writing."""
    files: dict[str, dict] = {}
    loaded = []
    for catalogue in CATALOGUES:
        if catalogue.file not in files:
            files[catalogue.file] = read_seed_file(seed_dir / catalogue.file)
        loaded.append((catalogue, load_catalogue(catalogue, files[catalogue.file])))
    header = load_version_header(files["curriculum.yaml"])
    rubric = load_rubric(read_seed_file(seed_dir / "rubric.yaml"))
    rows_of = {catalogue.model: rows for catalogue, rows in loaded}
    plan = VersionPlan(
        modules=rows_of[Module],
        mechanism_codes=[row["code"] for row in rows_of[FieldMechanism]],
        tool_codes=[row["code"] for row in rows_of[FieldTool]],
        **header,
    )
    try:
        check_plan(plan)  # before anything is written
    except VersionPlanRefused as error:
        raise SeedError(str(error)) from error
    report = SeedReport()
    for catalogue, rows in loaded:
        if catalogue.model is not Module:  # modules belong to a version: apply_plan
            _upsert(catalogue, rows, report)
    report.curriculum = apply_plan(plan)
    _seed_rubric(rubric, report)
    return report
