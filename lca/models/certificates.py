"""Certificates (วุฒิบัตร): serial numbers without gaps, verification codes, frozen PDFs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lca.core.db import Base, text_enum, utcnow

if TYPE_CHECKING:
    from lca.models.cohorts import Enrolment
    from lca.models.users import User


class CertificateStatus(enum.Enum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  #: replaced by a re-issue (a name correction)


class CertificateLanguage(enum.Enum):
    THAI = "th"
    ENGLISH = "en"
    BOTH = "both"


class SerialCounter(Base):
    """The last serial number used in a Buddhist-era year; bumped inside the issuing
    transaction, so numbers have no gaps and never repeat."""

    __tablename__ = "certificate_serials"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("serial_year", "serial_number", name="uq_certificates_serial_year_number"),
        # One valid certificate per enrolment: another is issued only after revoking or
        # superseding it.
        Index(
            "uq_certificates_valid_enrolment",
            "enrolment_id",
            unique=True,
            sqlite_where=text("status = 'valid'"),
            postgresql_where=text("status = 'valid'"),
        ),
        CheckConstraint(
            "(status = 'revoked') = (revoked_at IS NOT NULL)", name="revoked_at_matches_status"
        ),
        CheckConstraint(
            "superseded_by_id IS NULL OR status = 'superseded'", name="successor_only_if_superseded"
        ),
        CheckConstraint("serial_number > 0", name="serial_number_positive"),
        CheckConstraint(
            "status != 'revoked' OR length(trim(coalesce(revocation_reason, ''))) > 0",
            name="revoked_with_reason",
        ),
        CheckConstraint(
            "replaces_id IS NULL OR length(trim(coalesce(reissue_reason, ''))) > 0",
            name="reissued_with_reason",
        ),
        # A certificate is superseded by one re-issue at most, and a re-issue replaces one.
        UniqueConstraint("superseded_by_id", name="uq_certificates_superseded_by_id"),
        UniqueConstraint("replaces_id", name="uq_certificates_replaces_id"),
        # Each certificate has its own place in a revocation status list.
        UniqueConstraint("status_list", "status_index", name="uq_certificates_status_place"),
        CheckConstraint("status_index >= 0 AND status_index < 131072", name="status_index_in_list"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)  #: CA-2569-0001
    serial_year: Mapped[int]  #: Buddhist era
    serial_number: Mapped[int]
    #: what the QR code and /verify carry: 160 random bits in base32
    code: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[CertificateStatus] = mapped_column(
        text_enum(CertificateStatus), default=CertificateStatus.VALID
    )
    language: Mapped[CertificateLanguage] = mapped_column(text_enum(CertificateLanguage))
    #: name, cohort, hours of each module, issuer and signatories as they were at issue
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    pdf_key: Mapped[str] = mapped_column(String(128), unique=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64), index=True)  #: of the signed file
    pdf_size: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    reissue_reason: Mapped[str | None] = mapped_column(Text)
    #: the Open Badges credential with its Data Integrity proof, exactly as signed at issue
    #: (served byte for byte), and its JWT form; None until first asked for on a certificate
    #: issued before credentials were signed at issue (lca.certificates.credential)
    credential: Mapped[str | None] = mapped_column(Text)
    credential_jwt: Mapped[str | None] = mapped_column(Text)
    #: its place in a revocation status list (lca.certificates.status_list): random, for good
    status_list: Mapped[int] = mapped_column(default=1)
    status_index: Mapped[int]

    enrolment: Mapped[Enrolment] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    superseded_by: Mapped[Certificate | None] = relationship(
        foreign_keys=[superseded_by_id], remote_side=[id]
    )

    @property
    def public_url(self) -> str:
        """The public address at issue, which the PDF's QR code carries: the base of the
        certificate's links and credential identifiers, whatever LCA_PUBLIC_URL is today.
        (Certificates issued before it was kept on its own have it in their verify link.)"""
        base = self.snapshot.get("public_url")
        if base:
            return str(base)
        return str(self.snapshot["verify_url"]).removesuffix(f"/verify/{self.code}")

    @property
    def period(self) -> tuple[date, date]:
        """The period the certificate states: from the cohort's start to the day the learner
        completed the last requirement (or the cohort's end if that came first), as at issue."""
        snapshot, cohort = self.snapshot, self.snapshot["cohort"]
        return (
            date.fromisoformat(snapshot.get("activity_started_on") or cohort["starts_on"]),
            date.fromisoformat(snapshot.get("activity_ended_on") or cohort["ends_on"]),
        )

    @property
    def is_valid(self) -> bool:
        return self.status is CertificateStatus.VALID

    def __repr__(self) -> str:
        return f"<Certificate {self.serial} {self.status.value}>"
