"""The retention rule for evidence: with ``LCA_EVIDENCE_RETENTION_YEARS`` set, the evidence
files of hour logs and the files of field reports of cohorts that ended more than that many
years ago are deleted (by ``flask lca retention`` and by the worker once a day). The logs and
reports stay, saying that their files were removed under the rule; certificates are not
touched. Unset, evidence is kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select

from lca.core import uploads as stored_files
from lca.core.audit import record
from lca.core.dates import add_months, local_today
from lca.core.db import db, utcnow
from lca.core.security_log import security_event
from lca.models import Cohort, Enrolment, EvidenceFile, FieldReport, HourLog, ReportFile


@dataclass
class CohortFiles:
    """The files of one finished cohort that the rule removes."""

    cohort: Cohort
    evidence: list[EvidenceFile] = field(default_factory=list)
    report_files: list[ReportFile] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.evidence) + len(self.report_files)

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.evidence) + sum(
            f.size_bytes for f in self.report_files
        )


def retention_years() -> int | None:
    """The configured number of years, or None: keep evidence for good."""
    years = current_app.config.get("LCA_EVIDENCE_RETENTION_YEARS")
    return int(years) if years else None


def retention_cutoff(years: int, today: date | None = None) -> date:
    """Cohorts that ended before this day are past the rule."""
    return add_months(today or local_today(), -12 * years)


def files_past_retention(years: int, today: date | None = None) -> list[CohortFiles]:
    """The files of each cohort that ended more than ``years`` years ago, by cohort code."""
    cutoff = retention_cutoff(years, today)
    found: dict[int, CohortFiles] = {}
    evidence = db.session.execute(
        select(EvidenceFile, Cohort)
        .join(HourLog, EvidenceFile.hour_log_id == HourLog.id)
        .join(Enrolment, HourLog.enrolment_id == Enrolment.id)
        .join(Cohort, Enrolment.cohort_id == Cohort.id)
        .where(Cohort.ends_on < cutoff)
        .order_by(Cohort.code, EvidenceFile.id)
    )
    for item, cohort in evidence:
        found.setdefault(cohort.id, CohortFiles(cohort)).evidence.append(item)
    attachments = db.session.execute(
        select(ReportFile, Cohort)
        .join(FieldReport, ReportFile.field_report_id == FieldReport.id)
        .join(Enrolment, FieldReport.enrolment_id == Enrolment.id)
        .join(Cohort, Enrolment.cohort_id == Cohort.id)
        .where(Cohort.ends_on < cutoff)
        .order_by(Cohort.code, ReportFile.id)
    )
    for attached, cohort in attachments:
        found.setdefault(cohort.id, CohortFiles(cohort)).report_files.append(attached)
    return sorted(found.values(), key=lambda c: c.cohort.code)


def apply_retention(today: date | None = None, dry_run: bool = False) -> list[CohortFiles]:
    """Remove the files past the rule (nothing when it is not set); what went (or, with
    ``dry_run``, what would go). Each cohort's removal is audited; the caller commits."""
    years = retention_years()
    if years is None:
        return []
    due = files_past_retention(years, today)
    if dry_run:
        return due
    now = utcnow()
    for batch in due:
        for item in batch.evidence:
            item.hour_log.evidence_removed_at = now
            stored_files.remove(item)
        for attached in batch.report_files:
            attached.field_report.files_removed_at = now
            stored_files.remove(attached)
        record(
            None,
            "evidence.retention",
            batch.cohort,
            files=batch.count,
            bytes=batch.size_bytes,
            years=years,
        )
        security_event(
            "personal_data.retention",
            cohort_id=batch.cohort.id,
            files=batch.count,
            years=years,
        )
    db.session.flush()
    return due
