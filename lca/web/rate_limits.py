"""Where the rate limits count, so that every limit is counted once for all of LCA's workers
and servers (docs/operations.md):

- ``redis://…`` (``LCA_RATELIMIT_STORAGE_URL``): Redis, for several servers;
- ``database://`` (the default in production): a counter table in LCA's own database
  (``rate_limit_counters``), one row per window and key, counted by one atomic upsert; every
  worker of every server that shares the database shares the count, with nothing more to run;
- ``memory://`` (development and tests): each process on its own, refused in production.

The account throttles (lca.auth.throttle, lca.auth.second_factor_throttle) count through
:func:`test`, :func:`hit`, :func:`window` and :func:`clear`. When the shared store cannot be
reached they go on counting in this process's memory, so that an outage of Redis weakens the
limit (counted per worker) instead of stopping every sign-in; the outage is logged and
``/readyz`` answers 503 until the store is back. The per-address limits on routes do the same
through Flask-Limiter's own in-memory fallback.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter, RateLimiter
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from lca.web.extensions import limiter

log = logging.getLogger(__name__)
T = TypeVar("T")

#: an expired window's row is removed this long after its end (any new window removes them)
KEEP_EXPIRED_SECONDS = 3600

_INCREMENT = text(
    "INSERT INTO rate_limit_counters (key, count, expires_at) VALUES (:key, :amount, :ends) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN rate_limit_counters.expires_at <= :now THEN :amount "
    "ELSE rate_limit_counters.count + :amount END, "
    "expires_at = CASE WHEN rate_limit_counters.expires_at <= :now THEN :ends "
    "ELSE rate_limit_counters.expires_at END "
    "RETURNING count"
)


class DatabaseStorage(Storage):
    """The limits library's storage in LCA's database (fixed windows): ``database://``, on the
    running app's database (``SQLALCHEMY_DATABASE_URI``), or on the SQLAlchemy URL given as the
    option ``url`` (tests). The app's URL is read when counting, not passed as an option: the
    limiter is one object whose storage options add up over the apps it serves, and an extra
    ``url`` would reach a Redis storage's ``from_url``.

    It counts on its own small pool of connections, each statement committed at once: a
    failure counted during a request that is then rolled back stays counted."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["database"]  # type: ignore[misc]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.given_url = str(options["url"]) if options.get("url") else None
        self._engine: Engine | None = None
        self._pid, self._url = 0, ""

    @property
    def url(self) -> str:
        if self.given_url:
            return self.given_url
        from flask import current_app

        return str(current_app.config["SQLALCHEMY_DATABASE_URI"])

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    @property
    def engine(self) -> Engine:
        """This process's engine, made at first use (a worker forked from a preloaded master
        gets its own connections, never the master's)."""
        url = self.url
        if self._engine is None or self._pid != os.getpid() or self._url != url:
            sqlite = url.startswith("sqlite")
            self._engine = create_engine(
                url,
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=not sqlite,
                **({"connect_args": {"timeout": 5}} if sqlite else {"pool_size": 2}),
            )
            self._pid, self._url = os.getpid(), url
        return self._engine

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self.engine.connect() as connection:
            count = connection.execute(
                _INCREMENT, {"key": key, "amount": amount, "now": now, "ends": now + expiry}
            ).scalar_one()
            if count == amount:  # a new window: clear out the long-expired ones
                connection.execute(
                    text("DELETE FROM rate_limit_counters WHERE expires_at < :before"),
                    {"before": now - KEEP_EXPIRED_SECONDS},
                )
        return int(count)

    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            count = connection.execute(
                text(
                    "SELECT count FROM rate_limit_counters WHERE key = :key AND expires_at > :now"
                ),
                {"key": key, "now": time.time()},
            ).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as connection:
            ends = connection.execute(
                text("SELECT expires_at FROM rate_limit_counters WHERE key = :key"), {"key": key}
            ).scalar()
        return float(ends) if ends is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT count(*) FROM rate_limit_counters WHERE 1 = 0"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.connect() as connection:
            return connection.execute(text("DELETE FROM rate_limit_counters")).rowcount

    def clear(self, key: str) -> None:
        with self.engine.connect() as connection:
            connection.execute(
                text("DELETE FROM rate_limit_counters WHERE key = :key"), {"key": key}
            )


#: this process's counts while the shared store cannot be reached
_fallback = FixedWindowRateLimiter(MemoryStorage())


def _counted(operation: Callable[[RateLimiter], T]) -> T:
    try:
        return operation(limiter.limiter)
    except StorageError as error:
        log.error("Rate-limit storage unreachable, counting in this process: %s", error)
        return operation(_fallback)


def test(limit: RateLimitItem, *identifiers: str) -> bool:
    """Whether one more hit is within ``limit`` (nothing counted)."""
    return _counted(lambda counter: counter.test(limit, *identifiers))


def hit(limit: RateLimitItem, *identifiers: str) -> bool:
    """Count one hit; whether it was within ``limit``."""
    return _counted(lambda counter: counter.hit(limit, *identifiers))


def window(limit: RateLimitItem, *identifiers: str) -> tuple[float, int]:
    """When the current window ends (seconds since the epoch) and the hits it has left."""
    stats = _counted(lambda counter: counter.get_window_stats(limit, *identifiers))
    return stats.reset_time, stats.remaining


def clear(limit: RateLimitItem, *identifiers: str) -> None:
    """Forget the hits of ``limit`` for these identifiers (in the shared store and here)."""
    _fallback.clear(limit, *identifiers)
    _counted(lambda counter: counter.clear(limit, *identifiers))


def storage_name(uri: str) -> str:
    """The kind of store a storage URL names, for /readyz and the logs (never the URL, which
    may hold a password)."""
    return uri.split(":", 1)[0].split("+", 1)[0] or "memory"
