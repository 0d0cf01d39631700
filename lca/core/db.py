"""The database: the Flask-SQLAlchemy extension on a typed declarative base (naming convention,
UTC timestamps, enums stored as checked text), and the migrations extension."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    DateTime,
    Dialect,
    Enum,
    Integer,
    MetaData,
    Select,
    TypeDecorator,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, lazyload, registry
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
    at once), refuse with ``message`` instead of overwriting it. The message is translated
    before the flush: its language is the signed-in person's, which a session whose flush
    failed can no longer read (a server error instead of the refusal)."""
    refusal = str(message)
    try:
        db.session.flush()
    except StaleDataError as error:
        raise RuleError(refusal) from error


@dataclass(frozen=True)
class PagedStatements:
    """A list's statements built once, with bind parameters (``paged``): a page of its rows
    (``limit`` and ``offset`` are parameters too) and their count. SQLAlchemy keeps a
    statement's cache key with it; Flask-SQLAlchemy's ``paginate`` builds the page's and the
    count's statements anew from the list's each time, and analyses them again."""

    items: Select[Any]
    count: Select[Any]


def paged(query: Select[Any]) -> PagedStatements:
    """``query``'s pages and count, as prebuilt statements for ``page_of``."""
    counted = query.options(lazyload("*")).order_by(None).subquery()
    return PagedStatements(
        items=query.limit(bindparam("limit", type_=Integer)).offset(
            bindparam("offset", type_=Integer)
        ),
        count=select(func.count()).select_from(counted),
    )


class _PreparedPagination(Pagination):
    def _query_items(self) -> list[Any]:
        statements: PagedStatements = self._query_args["statements"]
        params = self._query_args["params"] | {"limit": self.per_page, "offset": self._query_offset}
        return list(db.session.execute(statements.items, params).unique().scalars())

    def _query_count(self) -> int:
        statements: PagedStatements = self._query_args["statements"]
        return int(db.session.execute(statements.count, self._query_args["params"]).scalar() or 0)


def page_of(
    statements: PagedStatements, params: dict[str, Any], *, page: int, per_page: int
) -> Pagination:
    """A page of a list of ``paged`` statements, with their ``params``: the same Pagination
    as ``db.paginate`` gives (a page past the last is empty, never an error)."""
    return _PreparedPagination(
        page=page,
        per_page=per_page,
        max_per_page=None,
        error_out=False,
        count=True,
        statements=statements,
        params=params,
    )
