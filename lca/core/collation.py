"""Thai dictionary order for what people read in lists: names, cities, cohorts.

Python's own ``sorted`` compares code points, which puts every word that begins with a leading
vowel (เ แ โ ใ ไ) after every word that does not: หาดใหญ่ before เชียงใหม่. The Unicode Collation
Algorithm (pyuca, with the Unicode Consortium's table) orders Thai as a dictionary does: a
leading vowel is read after the consonant it precedes, tone marks only break ties, and Latin
letters compare without regard to case. (PyICU would do the same, but it has no wheel: it needs
libicu-dev and a compiler on every machine; pyuca is pure Python.)

pyuca reads the whole table (30,000 entries, as a trie of Python lists: 10 MB) before the
first comparison. Here its collator reads the table's text once and parses the entries of a
block of 256 characters when a text first needs a character of the block: the same weights,
for the few scripts that LCA's names are written in."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import Any, TypeVar

from pyuca import Collator
from pyuca.collator import COLL_ELEMENT_PATTERN
from pyuca.trie import Trie
from pyuca.utils import hexstrings2int
from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from lca.core.db import db

T = TypeVar("T")


class _TableByBlock(Trie):
    """pyuca's table, each block's entries added from the table's text before the first
    look-up of a key in the block (an entry's block is that of its first character, so every
    entry a look-up can reach is in the block of the key's first character)."""

    def __init__(self, unread: dict[int, str]) -> None:
        super().__init__()
        self._unread = unread

    def find_prefix(self, key: list[int]) -> tuple[list[int], Any, list[int]]:
        if key and (lines := self._unread.pop(key[0] >> 8, None)) is not None:
            for line in lines.split("\n"):  # in the table's order, as pyuca adds them
                characters, elements = line.split(";", 1)
                self.add(
                    hexstrings2int(characters.split()),
                    [
                        hexstrings2int(weights.groups())
                        for weights in COLL_ELEMENT_PATTERN.finditer(elements.strip())
                    ],
                )
        return super().find_prefix(key)  # type: ignore[no-any-return]


class _CollatorByBlock(Collator):
    """pyuca's collator (its algorithm, table and implicit weights) on :class:`_TableByBlock`."""

    def load(self, filename: str) -> None:
        unread: dict[int, list[str]] = {}
        with open(filename, encoding="utf-8") as keys_file:
            for line in keys_file:
                line = line.split("#", 1)[0].rstrip()
                if not line or line.startswith("@version"):
                    continue
                if line.startswith("@implicitweights"):
                    ranges, base = line[len("@implicitweights") :].split(";")
                    start, end = ranges.split("..")
                    self.implicit_weights.append([int(start, 16), int(end, 16), int(base, 16)])
                    continue
                unread.setdefault(int(line.split(None, 1)[0], 16) >> 8, []).append(line)
        # a block's lines as one text: 30,000 strings would take 2 MB themselves
        self.table = _TableByBlock({block: "\n".join(lines) for block, lines in unread.items()})


@cache
def _collator() -> Collator:
    return _CollatorByBlock()


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
