"""Exports for administrators, as CSV or XLSX: a cohort's progress, hour logs, the
certificate register. Rows are read in batches and written as they come."""

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lca.admin import bp
from lca.certificates.services import cohort_certificates
from lca.core.collation import thai_order
from lca.core.db import db
from lca.curriculum.services import modules_by_version, modules_of
from lca.hours.queue import reviewable_cohorts
from lca.models import Certificate, Cohort, CurriculumVersion, Enrolment, HourLog, Module, Role
from lca.web.downloads import hours_value, spreadsheet
from lca.web.i18n import label, localized
from lca.web.permissions import get_cohort_or_403, role_required

KINDS = ("csv", "xlsx")
BATCH = 1000


def export_kind(kind: str) -> str:
    """The format asked for in the URL, csv or xlsx (anything else: not found)."""
    if kind not in KINDS:
        abort(404)
    return kind


@bp.get("/exports")
@role_required(Role.ADMIN)
def exports():
    return render_template("admin/exports.html", cohorts=reviewable_cohorts(current_user))


def _progress_header(module_titles: list[str], with_cohort: bool) -> list[str]:
    return [
        *([_("Cohort"), _("Curriculum")] if with_cohort else []),
        _("Name"),
        _("Name in English"),
        _("E-mail address"),
        _("City"),
        _("Organisation"),
        _("Status"),
        *module_titles,
        _("Approved hours"),
        _("Hours waiting for review"),
        _("Field window ends"),
        _("Field report"),
        _("Eligible for the certificate"),
        _("Certificate"),
        _("Certificate status"),
    ]


def _module_titles(modules: list[Module], version: CurriculumVersion | None = None) -> list[str]:
    if version is None:
        return [_("Module %(number)s", number=m.number) for m in modules]
    name = localized(version, "name")
    return [
        _("Module %(number)s (%(curriculum)s)", number=m.number, curriculum=name) for m in modules
    ]


def _progress_line(row, columns: list[int] | None = None) -> list:
    """One learner's line; ``columns``: the module ids of the header's module columns (by
    default their cohort's modules), a module of another version left blank."""
    p, learner, certificate = row.progress, row.enrolment.learner, row.certificate
    approved = {m.module.id: hours_value(m.approved_minutes) for m in p.modules}
    return [
        learner.full_name_th,
        learner.full_name_en,
        learner.email,
        localized(learner.city, "name") if learner.city else "",
        learner.organisation,
        label(row.enrolment.status),
        *(approved.values() if columns is None else (approved.get(c, "") for c in columns)),
        hours_value(p.counted_minutes),
        hours_value(p.pending_minutes),
        p.window_ends_on,
        label(p.report_status) if p.report_status else "",
        _("yes") if p.is_eligible else _("no"),
        certificate.serial if certificate else "",
        label(certificate.status) if certificate else "",
    ]


@bp.get("/exports/progress-<int:cohort_id>.<kind>")
@role_required(Role.ADMIN)
def export_progress(cohort_id: int, kind: str):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    rows = cohort_certificates(cohort)
    header = _progress_header(
        _module_titles(modules_of(cohort.curriculum_version_id)), with_cohort=False
    )
    lines = (_progress_line(row) for row in rows)
    return spreadsheet(export_kind(kind), header, lines, f"progress-{cohort.code}")


@bp.get("/exports/progress.<kind>")
@role_required(Role.ADMIN)
def export_all_progress(kind: str):
    """Every learner of every cohort, oldest cohort first, read one cohort at a time (the
    session keeps no strong reference to what it loaded), so memory stays that of one cohort
    however many learners the programme has. Cohorts of different curriculum versions compare
    like with like: each version has its own module columns, named after it, and a learner's
    line fills those of their cohort's version."""
    kind = export_kind(kind)
    cohort_ids = list(
        db.session.scalars(select(Cohort.id).order_by(Cohort.starts_on, thai_order(Cohort.code)))
    )
    versions = list(
        db.session.scalars(
            select(CurriculumVersion)
            .where(CurriculumVersion.id.in_(select(Cohort.curriculum_version_id)))
            .order_by(CurriculumVersion.number)
        )
    )
    modules = modules_by_version(v.id for v in versions)
    several = len(versions) > 1
    titles = [
        title for v in versions for title in _module_titles(modules[v.id], v if several else None)
    ]
    columns = [m.id for v in versions for m in modules[v.id]]
    names = {v.id: localized(v, "name") for v in versions}

    def lines():
        for cohort_id in cohort_ids:
            cohort = db.session.get(Cohort, cohort_id)
            version = names[cohort.curriculum_version_id]
            for row in cohort_certificates(cohort):
                yield [cohort.code, version, *_progress_line(row, columns)]

    header = _progress_header(titles, with_cohort=True)
    return spreadsheet(kind, header, lines(), "progress-all-cohorts")


@bp.get("/exports/hour-logs.<kind>")
@role_required(Role.ADMIN)
def export_hour_logs(kind: str):
    cohort_id = request.args.get("cohort", type=int)
    query = (
        select(HourLog)
        .join(HourLog.enrolment)
        .options(
            joinedload(HourLog.enrolment).joinedload(Enrolment.learner),
            joinedload(HourLog.enrolment).joinedload(Enrolment.cohort),
            joinedload(HourLog.module),
            joinedload(HourLog.mechanism),
            joinedload(HourLog.reviewed_by),
        )
        .order_by(HourLog.id)
        .execution_options(yield_per=BATCH)
    )
    name = "hour-logs"
    if cohort_id:
        cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
        query = query.where(Enrolment.cohort_id == cohort.id)
        name = f"hour-logs-{cohort.code}"
    header = [
        _("Log"),
        _("Cohort"),
        _("E-mail address"),
        _("Name"),
        _("Module"),
        _("Day"),
        _("Hours"),
        _("State"),
        _("Source"),
        _("Mechanism"),
        _("Place"),
        _("Sent"),
        _("Reviewed"),
        _("Reviewer"),
    ]

    def lines():
        for log in db.session.scalars(query):
            learner = log.enrolment.learner
            yield [
                log.id,
                log.enrolment.cohort.code,
                learner.email,
                learner.full_name_th,
                log.module.number,
                log.worked_on,
                hours_value(log.minutes),
                label(log.status),
                label(log.source),
                localized(log.mechanism, "name") if log.mechanism else "",
                log.place,
                log.submitted_at,
                log.reviewed_at,
                log.reviewed_by.email if log.reviewed_by else "",
            ]

    return spreadsheet(export_kind(kind), header, lines(), name)


@bp.get("/exports/certificates.<kind>")
@role_required(Role.ADMIN)
def export_certificates(kind: str):
    query = (
        select(Certificate)
        .options(
            joinedload(Certificate.enrolment).joinedload(Enrolment.cohort),
            joinedload(Certificate.superseded_by),
        )
        .order_by(Certificate.serial_year, Certificate.serial_number)
        .execution_options(yield_per=BATCH)
    )
    header = [
        _("Serial"),
        _("Status"),
        _("Issued"),
        _("Name"),
        _("Name in English"),
        _("E-mail address"),
        _("Cohort"),
        _("Total"),
        _("Verification page"),
        _("SHA-256 of the PDF"),
        _("Revoked"),
        _("Reason"),
        _("Replaced by"),
    ]

    def lines():
        for certificate in db.session.scalars(query):
            snapshot = certificate.snapshot
            yield [
                certificate.serial,
                label(certificate.status),
                certificate.issued_at,
                snapshot["learner"]["name_th"],
                snapshot["learner"].get("name_en", ""),
                snapshot["learner"].get("email", ""),
                snapshot["cohort"]["code"],
                snapshot["total_hours"],
                snapshot["verify_url"],
                certificate.pdf_sha256,
                certificate.revoked_at,
                certificate.revocation_reason,
                certificate.superseded_by.serial if certificate.superseded_by else "",
            ]

    return spreadsheet(export_kind(kind), header, lines(), "certificate-register")
