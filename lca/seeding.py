"""Loading seed/ (curriculum, field catalogues, cities) into the database: create or update."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from lca.config import ROOT
from lca.extensions import db
from lca.models import City, FieldMechanism, FieldTool, Module, ModuleKind

SEED_DIR = ROOT / "seed"


class SeedError(ValueError):
    """seed/ holds something that cannot be loaded; the message names the file and the entry."""


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
    model: type
    key: str
    columns: tuple[Column, ...]


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

    def add(self, section: str, outcome: str) -> None:
        self.counts.setdefault(section, Counter())[outcome] += 1

    def lines(self) -> list[str]:
        return [
            f"{section}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for section, c in self.counts.items()
        ]


def read_seed_file(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise SeedError(f"{path}: the file is missing.") from error
    except yaml.YAMLError as error:
        raise SeedError(f"{path}: not valid YAML ({error}).") from error
    if not isinstance(data, dict):
        raise SeedError(f"{path}: expected a mapping of lists at the top.")
    return data


def _clean_row(catalogue: Catalogue, index: int, row: Any) -> dict:
    where = f"{catalogue.file} {catalogue.section}[{index}]"
    if not isinstance(row, dict):
        raise SeedError(f"{where}: expected a mapping.")
    unknown = set(row) - {column.name for column in catalogue.columns}
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    values = {}
    for column in catalogue.columns:
        value = row.get(column.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if column.required:
                raise SeedError(f"{where}: '{column.name}' is required.")
            values[column.name] = "" if column.kind is str else None
            continue
        try:
            if column.kind is int:
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise ValueError
                values[column.name] = value
            elif column.kind is str:
                values[column.name] = " ".join(str(value).split())
            else:
                values[column.name] = column.kind(value)
        except ValueError as error:
            raise SeedError(f"{where}: '{column.name}' has a wrong value {value!r}.") from error
    return values


def _validate_modules(rows: list[dict]) -> None:
    for row in rows:
        is_field = row["kind"] is ModuleKind.FIELD
        if is_field != (row["field_window_months"] is not None):
            raise SeedError(
                f"curriculum.yaml module {row['number']}: field practice needs "
                "'field_window_months', and only field practice has it."
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
    model = catalogue.model
    key_column = getattr(model, catalogue.key)
    existing = {
        getattr(obj, catalogue.key): obj
        for obj in db.session.scalars(
            select(model).where(key_column.in_([r[catalogue.key] for r in rows]))
        )
    }
    before = {k: {name: getattr(obj, name) for name in rows[0]} for k, obj in existing.items()}
    if "number" in rows[0] and catalogue.key != "number":
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


def seed_all(seed_dir: Path = SEED_DIR) -> SeedReport:
    """Create or update every catalogue from ``seed_dir``; validates everything before writing."""
    files: dict[str, dict] = {}
    loaded = []
    for catalogue in CATALOGUES:
        if catalogue.file not in files:
            files[catalogue.file] = read_seed_file(seed_dir / catalogue.file)
        loaded.append((catalogue, load_catalogue(catalogue, files[catalogue.file])))
    report = SeedReport()
    for catalogue, rows in loaded:
        _upsert(catalogue, rows, report)
    return report
