"""The rate-limit counters kept in the database: every worker and every app server counts in
the same row (lca.web.limit_storage), when no Redis is configured."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from lca.core.db import Base


class RateLimitCounter(Base):
    """One fixed window of one limit for one key (an address, an account): how many hits it
    has had and when it ends (seconds since the epoch, as the limits library counts)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(Float, index=True)

    def __repr__(self) -> str:
        return f"<RateLimitCounter {self.key} {self.count}>"
