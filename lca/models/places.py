"""Learning cities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from lca.core.db import Base, utcnow


class City(Base):
    __tablename__ = "cities"
    __table_args__ = (
        CheckConstraint(
            "gnlc_joined_year IS NULL OR gnlc_joined_year BETWEEN 2540 AND 2700",
            name="gnlc_joined_year_buddhist_era",
        ),
        CheckConstraint("length(trim(name_th)) > 0", name="name_th_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  #: stable key used by seed/
    name_th: Mapped[str] = mapped_column(String(120), unique=True)
    name_en: Mapped[str] = mapped_column(String(120), unique=True)
    #: year (Buddhist era) the city joined the UNESCO Global Network of Learning Cities
    gnlc_joined_year: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<City {self.code}>"
