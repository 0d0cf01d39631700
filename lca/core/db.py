"""The database: the Flask-SQLAlchemy extension on a typed declarative base (naming convention,
UTC timestamps, enums stored as checked text), and the migrations extension."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Dialect, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.orm.exc import StaleDataError

from lca.core.errors import RuleError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("LCA stores only timezone-aware timestamps.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def text_enum(enum_class: type[enum.Enum]) -> Enum:
    """An enum stored as its value in a VARCHAR with a CHECK constraint (portable, Alembic-safe)."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        name=enum_class.__name__.lower(),
    )


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


db = SQLAlchemy(model_class=Base)


def init_migrations(app: Flask, directory: str) -> None:
    """The migrations extension (Flask-Migrate: ``flask db …``) on ``app``. It brings Alembic,
    Mako and Pygments (10 MB), so the app factory adds it where the database is migrated (the
    commands, the tests), not in a served worker."""
    from flask_migrate import Migrate

    Migrate(app, db, directory=directory, render_as_batch=True, compare_type=True)


def flush_or_conflict(message: object) -> None:
    """Write now; when someone else changed the same versioned row a moment ago (two reviewers
    at once), refuse with ``message`` (translated when raised) instead of overwriting it."""
    try:
        db.session.flush()
    except StaleDataError as error:
        raise RuleError(str(message)) from error
