"""Serial numbers and verification codes."""

from __future__ import annotations

import base64
import re
import secrets

from sqlalchemy.dialects import postgresql, sqlite

from lca.core.db import db
from lca.models import SerialCounter

CODE_BYTES = 20  #: 160 random bits, more than the 128 the design asks for
CODE_LENGTH = 32  #: base32 characters
CODE_PATTERN = re.compile(r"^[A-Z2-7]{32}$")


def new_code() -> str:
    """A verification code: 160 random bits as 32 base32 letters and digits."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode().rstrip("=")


def normalise_code(typed: str | None) -> str | None:
    """A code as typed (any case, spaces or dashes) in its stored form, or None if it cannot
    be a code. Lookups then compare exactly."""
    if not typed:
        return None
    code = re.sub(r"[\s\-]", "", typed).upper()
    return code if CODE_PATTERN.match(code) else None


def display_code(code: str) -> str:
    """ABCD-EFGH-…: easier to read aloud and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def next_serial_number(year: int) -> int:
    """The next running number of ``year`` (Buddhist era), taken inside the caller's
    transaction: the counter row stays locked until it commits, so two issuers wait for each
    other, and a rollback gives the number back. No gaps, no duplicates."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(SerialCounter)
        .values(year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[SerialCounter.year],
            set_={"last_number": SerialCounter.last_number + 1},
        )
        .returning(SerialCounter.last_number)
    )
    return db.session.execute(statement).scalar_one()


def serial_of(year: int, number: int) -> str:
    return f"CA-{year}-{number:04d}"
