"""Thai dictionary order for what people read in lists: names, cities, cohorts.

Python's own ``sorted`` compares code points, which puts every word that begins with a leading
vowel (เ แ โ ใ ไ) after every word that does not: หาดใหญ่ before เชียงใหม่. The Unicode Collation
Algorithm (pyuca, with the Unicode Consortium's table) orders Thai as a dictionary does: a
leading vowel is read after the consonant it precedes, tone marks only break ties, and Latin
letters compare without regard to case. (PyICU would do the same, but it has no wheel: it needs
libicu-dev and a compiler on every machine; pyuca is pure Python.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import TypeVar

from pyuca import Collator
from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from lca.core.db import db

T = TypeVar("T")


@cache
def _collator() -> Collator:
    return Collator()


@lru_cache(maxsize=16384)
def thai_sort_key(text: str | None) -> tuple[int, ...]:
    """The key that sorts ``text`` in Thai dictionary order (blank or None first); the text
    itself breaks ties, so that the order is total."""
    cleaned = (text or "").strip()
    return (*_collator().sort_key(cleaned), 0, *map(ord, cleaned))


def thai_sorted(items: Iterable[T], key: Callable[[T], str | None] | None = None) -> list[T]:
    """``items`` in Thai dictionary order of ``key(item)`` (the items themselves by default)."""
    read = key or (lambda item: item)  # type: ignore[return-value]
    return sorted(items, key=lambda item: thai_sort_key(read(item)))


#: the name of the same order inside the database: PostgreSQL's ICU collation for Thai (Debian's
#: PostgreSQL is built with ICU and creates it at initdb), SQLite's registered from Python
POSTGRESQL_COLLATION = "th-TH-x-icu"
SQLITE_COLLATION = "thai"


def _compare(left: str | None, right: str | None) -> int:
    a, b = thai_sort_key(left), thai_sort_key(right)
    return (a > b) - (a < b)


def register_sqlite_collation(connection: sqlite3.Connection) -> None:
    """Teach a SQLite connection the ``thai`` collation (called when it connects)."""
    connection.create_collation(SQLITE_COLLATION, _compare)


def thai_order(column: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """``column`` compared in Thai dictionary order, for ORDER BY in a query whose results are
    paginated (lists sorted whole in Python use :func:`thai_sort_key`)."""
    name = POSTGRESQL_COLLATION if db.engine.dialect.name == "postgresql" else SQLITE_COLLATION
    return column.collate(name)
