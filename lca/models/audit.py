"""The audit trail: who did what to which object, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, utcnow

if TYPE_CHECKING:
    from lca.models.users import User


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)  #: e.g. "cohort.enrol"
    target_type: Mapped[str | None] = mapped_column(String(32))  #: table name of the object
    target_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    origin: Mapped[str] = mapped_column(String(64))  #: client address, or "cli"
    #: the request's id (its X-Request-ID, in the response header and the JSON logs); none
    #: for a command, and for the events written before it was kept
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.target_type}:{self.target_id}>"
