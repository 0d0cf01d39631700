"""The rules of certificates: issuing (once per enrolment, to an eligible learner: see
eligibility.py), revoking, re-issuing after a name correction. Issuing is an administrator's
act."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lca.certificates.codes import (
    display_code,
    new_code,
    next_serial_number,
    serial_of,
)
from lca.certificates.credential import sign_at_issue
from lca.certificates.eligibility import is_eligible, staff_missing_steps
from lca.certificates.issuer import load_issuer
from lca.certificates.keys import SigningKeyMissing, jwt_key, proof_key
from lca.certificates.status_list import allocate_place
from lca.core.audit import record
from lca.core.dates import buddhist_year, local_today
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.core.outbox import record_message
from lca.core.storage import save_file
from lca.hours.progress import EnrolmentProgress, cohort_progress, completed_on, progress_of
from lca.models import (
    Certificate,
    CertificateLanguage,
    CertificateStatus,
    Cohort,
    CurriculumVersion,
    Enrolment,
    EnrolmentStatus,
    MessageKind,
    User,
)
from lca.web.addresses import public_url

if TYPE_CHECKING:
    from lca.certificates.pdf import CertificateRenderer


@dataclass
class CohortCertificateRow:
    """One learner on the cohort's certificate page."""

    progress: EnrolmentProgress
    certificate: Certificate | None  #: the valid one, if any

    @property
    def enrolment(self) -> Enrolment:
        return self.progress.enrolment

    @property
    def can_issue(self) -> bool:
        return self.certificate is None and is_eligible(
            self.progress.modules, self.progress.report_status
        )


def _check_operator(admin: User | None) -> None:
    """Certificates are an administrator's act; None is an operator at the command line."""
    if admin is not None and not admin.is_admin:
        raise RuleError(_("Only an administrator issues, revokes or re-issues certificates."))


def _check_keys() -> None:
    """A certificate is signed as it is issued: without the issuer's keys, nothing is."""
    from lca.certificates.pdf_signing import (
        PdfSigningCertificateMissing,
        require_signing_certificate,
    )

    try:
        proof_key(), jwt_key()
        require_signing_certificate()
    except (SigningKeyMissing, PdfSigningCertificateMissing) as error:
        raise RuleError(
            _(
                "Certificates cannot be issued yet: the issuer's signing keys are missing. "
                "An operator makes them with: flask --app wsgi lca keys generate"
            )
        ) from error


def _check_not_erased(enrolment: Enrolment) -> None:
    """An erased learner's name is gone: no certificate can be issued or re-issued with it
    (those already issued stay as they are)."""
    if enrolment.learner.erased_at is not None:
        raise RuleError(
            _(
                "This learner's personal data has been erased: no certificate can be issued "
                "or re-issued for them. Their certificates already issued stay valid."
            )
        )


def verify_url(code: str, base: str | None = None) -> str:
    """The verify page of a code, on ``base`` (the address frozen into a certificate) or on
    the public address links are made with now."""
    return f"{base or public_url()}/verify/{code}"


def valid_certificate(enrolment: Enrolment) -> Certificate | None:
    return db.session.scalar(
        select(Certificate).where(
            Certificate.enrolment_id == enrolment.id, Certificate.status == CertificateStatus.VALID
        )
    )


def valid_certificates_of(enrolments: list[Enrolment]) -> dict[int, Certificate]:
    """{enrolment_id: its valid certificate} for the given enrolments, in one query."""
    ids = [enrolment.id for enrolment in enrolments]
    if not ids:
        return {}
    query = select(Certificate).where(
        Certificate.enrolment_id.in_(ids), Certificate.status == CertificateStatus.VALID
    )
    return {certificate.enrolment_id: certificate for certificate in db.session.scalars(query)}


#: built once, with a parameter (every learner home asks): a statement keeps its cache key
_CERTIFICATES_OF_ENROLMENTS = (
    select(Certificate)
    .where(Certificate.enrolment_id.in_(bindparam("enrolment_ids", expanding=True)))
    .options(joinedload(Certificate.superseded_by))
    .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
)


def certificates_by_enrolment(enrolments: list[Enrolment]) -> dict[int, list[Certificate]]:
    """{enrolment_id: every certificate it was ever issued, newest first (the valid one, then
    those revoked or superseded)}, with each one's successor, in one query."""
    ids = [enrolment.id for enrolment in enrolments]
    if not ids:
        return {}
    issued: dict[int, list[Certificate]] = {}
    for certificate in db.session.scalars(_CERTIFICATES_OF_ENROLMENTS, {"enrolment_ids": ids}):
        issued.setdefault(certificate.enrolment_id, []).append(certificate)
    return issued


def cohorts_with_certificates_to_issue() -> list[tuple[Cohort, int]]:
    """Cohorts where learners are eligible but have no certificate yet, with how many."""
    pending = (
        select(Enrolment)
        .join(Enrolment.cohort)
        .where(
            Enrolment.status == EnrolmentStatus.ACTIVE,
            ~select(Certificate.id)
            .where(
                Certificate.enrolment_id == Enrolment.id,
                Certificate.status == CertificateStatus.VALID,
            )
            .exists(),
        )
        .options(joinedload(Enrolment.cohort))
    )
    counts: dict[int, list[Any]] = {}
    for progress in progress_of(list(db.session.scalars(pending))):
        if is_eligible(progress.modules, progress.report_status):
            cohort = progress.enrolment.cohort
            counts.setdefault(cohort.id, [cohort, 0])[1] += 1
    return [(cohort, count) for cohort, count in counts.values()]


def cohort_certificates(cohort: Cohort) -> list[CohortCertificateRow]:
    """Every learner of a cohort with their progress and valid certificate (a fixed number of
    queries)."""
    rows = cohort_progress(cohort)
    valid = {
        c.enrolment_id: c
        for c in db.session.scalars(
            select(Certificate)
            .join(Certificate.enrolment)
            .where(Enrolment.cohort_id == cohort.id, Certificate.status == CertificateStatus.VALID)
        )
    }
    return [CohortCertificateRow(p, valid.get(p.enrolment.id)) for p in rows]


def certificates_of_cohort(cohort: Cohort) -> list[Certificate]:
    """Every certificate ever issued in a cohort, newest first, with its learner."""
    return list(
        db.session.scalars(
            select(Certificate)
            .join(Certificate.enrolment)
            .where(Enrolment.cohort_id == cohort.id)
            .options(joinedload(Certificate.enrolment).joinedload(Enrolment.learner))
            .order_by(Certificate.serial_year, Certificate.serial_number)
        )
    )


def activity_ended_on(cohort_ends_on: date, field_window_ends_on: date, completed: date) -> date:
    """The period a certificate states ends on the day the learner completed the last
    requirement (lca.hours.progress.completed_on), or at the end of their cohort (its end, or
    their field window's if that was extended past it) if that came first."""
    return min(completed, max(cohort_ends_on, field_window_ends_on))


def curriculum_named(version: CurriculumVersion) -> dict[str, Any]:
    """A curriculum version as a certificate keeps it."""
    return {"number": version.number, "name_th": version.name_th, "name_en": version.name_en}


def certificate_snapshot(
    *,
    serial: str,
    code: str,
    language: CertificateLanguage,
    issued_at: datetime,
    issued_on: date,
    learner: dict[str, Any],
    cohort: dict[str, Any],
    modules: list[dict[str, Any]],
    total_hours: int,
    activity_ended_on: date,
    subject_uuid: str | None = None,
    curriculum: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a certificate says, as kept with it: plain values only (also used by lca synth)."""
    base = public_url()
    issuer = load_issuer()
    snapshot: dict[str, Any] = {
        "serial": serial,
        "code": code,
        "code_display": display_code(code),
        #: the public address at issue: the QR code, the links and the credential's
        #: identifiers are made with it, for good (Certificate.public_url)
        "public_url": base,
        "verify_url": verify_url(code, base),
        "language": language.value,
        "issued_at": issued_at.isoformat(),
        "issued_on": issued_on.isoformat(),
        "learner": learner,
        "cohort": cohort,
        "modules": modules,
        "total_hours": total_hours,
        #: the curriculum version the cohort followed (certificates issued before versions
        #: have none), named on the PDF and as the credential's achievement version
        **({"curriculum": curriculum} if curriculum else {}),
        "activity_started_on": cohort["starts_on"],
        "activity_ended_on": activity_ended_on.isoformat(),
        **issuer,
    }
    if subject_uuid:
        #: the learner's credentialSubject.id (urn:uuid), the same on every certificate
        snapshot["subject_uuid"] = subject_uuid
    valid_years = issuer["course"].get("valid_years")
    if valid_years:
        #: the programme's expiry (seed/issuer.yaml course.valid_years): the credential's
        #: validUntil and its JWT's exp
        snapshot["valid_until"] = _years_after(issued_on, int(valid_years)).isoformat()
    return snapshot


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _snapshot(
    enrolment: Enrolment,
    progress: EnrolmentProgress,
    serial: str,
    code: str,
    language: CertificateLanguage,
    learner_names: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the certificate says, kept with it for good: later changes never alter it."""
    learner, cohort = enrolment.learner, enrolment.cohort
    return certificate_snapshot(
        serial=serial,
        code=code,
        language=language,
        issued_at=utcnow(),
        issued_on=local_today(),
        learner=learner_names
        or {
            "name_th": learner.full_name_th,
            "name_en": learner.full_name_en or "",
            "email": learner.email,
        },
        cohort={
            "code": cohort.code,
            "host_city_th": cohort.host_city.name_th,
            "host_city_en": cohort.host_city.name_en,
            "starts_on": cohort.starts_on.isoformat(),
            "ends_on": cohort.ends_on.isoformat(),
        },
        modules=[
            {
                "number": m.module.number,
                "title_th": m.module.title_th,
                "title_en": m.module.title_en,
                "hours": m.module.hours,
                "approved_hours": m.approved_minutes / 60,
            }
            for m in progress.modules
        ],
        total_hours=progress.required_minutes // 60,
        subject_uuid=learner.subject_uuid,
        curriculum=curriculum_named(cohort.curriculum_version),
        activity_ended_on=activity_ended_on(
            cohort.ends_on,
            enrolment.field_window_ends_on,
            completed_on(enrolment) or local_today(),
        ),
    )


def _renderer() -> CertificateRenderer:
    """A renderer of certificate pages. fpdf2, its fonts' shaping and pyHanko (about 100 MB)
    are imported here, by the workers that issue certificates, not by every worker."""
    from lca.certificates.pdf import CertificateRenderer

    return CertificateRenderer()


def _store(
    enrolment: Enrolment,
    snapshot: dict[str, Any],
    actor: User | None,
    renderer: CertificateRenderer,
) -> Certificate:
    pdf = renderer.finished(snapshot)
    year, number = snapshot["serial_year"], snapshot["serial_number"]
    name = enrolment.learner.full_name_th  # read now: after a failed flush the session waits
    pdf_key = save_file(db.session, pdf, ".pdf")
    for _attempt in range(3):
        status_list, status_index = allocate_place()
        certificate = Certificate(
            enrolment=enrolment,
            serial=snapshot["serial"],
            serial_year=year,
            serial_number=number,
            code=snapshot["code"],
            language=CertificateLanguage(snapshot["language"]),
            snapshot=snapshot,
            pdf_key=pdf_key,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            pdf_size=len(pdf),
            issued_by_id=actor.id if actor else None,
            status_list=status_list,
            status_index=status_index,
        )
        try:
            with db.session.begin_nested():
                db.session.add(certificate)
        except IntegrityError as error:
            existing = valid_certificate(enrolment)
            if existing is not None:
                # another administrator issued it a moment ago: the refusal of a later issue
                raise _already_issued(name, existing) from error
            continue  # another certificate took the same status place a moment ago: draw again
        sign_at_issue(certificate)
        db.session.flush()
        return certificate
    raise RuleError(_("%(name)s already has a valid certificate.", name=name))


def _already_issued(name: str, existing: Certificate) -> RuleError:
    """The refusal of a second certificate, the same whether the first was issued long ago
    or a moment ago by another administrator."""
    return RuleError(
        _("%(name)s already has certificate %(serial)s.", name=name, serial=existing.serial)
    )


def _new_serial() -> tuple[int, int, str]:
    year = buddhist_year(local_today())
    number = next_serial_number(year)
    return year, number, serial_of(year, number)


def issue_certificate(
    enrolment: Enrolment,
    admin: User | None,
    language: CertificateLanguage = CertificateLanguage.BOTH,
    renderer: CertificateRenderer | None = None,
    progress: EnrolmentProgress | None = None,
) -> Certificate:
    """Issue a learner's certificate once every module is complete and the field work passed;
    never a second valid one for the same enrolment. (A batch passes the ``progress`` it has
    just computed for the whole cohort.)"""
    _check_operator(admin)
    _check_keys()
    _check_not_erased(enrolment)
    existing = valid_certificate(enrolment)
    if existing is not None:
        raise _already_issued(enrolment.learner.full_name_th, existing)
    if progress is None:
        [progress] = progress_of([enrolment])
    if not is_eligible(progress.modules, progress.report_status):
        raise RuleError(
            _(
                "%(name)s is not eligible yet: %(missing)s",
                name=enrolment.learner.full_name_th,
                missing=" ".join(staff_missing_steps(progress)),
            )
        )
    year, number, serial = _new_serial()
    snapshot = _snapshot(enrolment, progress, serial, new_code(), language)
    snapshot.update(serial_year=year, serial_number=number)
    certificate = _store(enrolment, snapshot, admin, renderer or _renderer())
    record(admin, "certificate.issue", certificate, serial=serial, enrolment_id=enrolment.id)
    record_message(
        enrolment.learner,
        MessageKind.CERTIFICATE_ISSUED,
        about=certificate,
        link="certificates.download",
        link_args={"certificate_id": certificate.id},
        **_certificate_facts(certificate),
    )
    return certificate


def _certificate_facts(certificate: Certificate) -> dict[str, Any]:
    """What a message about a certificate names (plain values from what it certifies)."""
    snapshot = certificate.snapshot
    return {
        "serial": certificate.serial,
        "code": snapshot["code_display"],
        "verify_url": snapshot["verify_url"],
        "cohort": snapshot["cohort"]["code"],
        "minutes": snapshot["total_hours"] * 60,
        "issued_on": snapshot["issued_on"],
    }


def issue_for_cohort(
    cohort: Cohort,
    admin: User | None,
    language: CertificateLanguage,
    emails: set[str] | None = None,
) -> Iterator[tuple[Enrolment, Certificate | None, str | None]]:
    """Issue every eligible learner's certificate (or those with the given e-mails), one by
    one, with the fonts loaded once; yields (enrolment, certificate, refusal) for each. The
    caller commits after each, so a long batch shows its progress and keeps what it did."""
    renderer = _renderer()
    rows = [
        row
        for row in cohort_certificates(cohort)
        if (row.can_issue if emails is None else row.enrolment.learner.email in emails)
    ]
    # The caller commits after each certificate. What the batch reads (learners, modules,
    # progress) was read at its start and is not read again after every commit.
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        for row in rows:
            try:
                certificate = issue_certificate(
                    row.enrolment, admin, language, renderer, row.progress
                )
                yield row.enrolment, certificate, None
            except RuleError as error:
                yield row.enrolment, None, error.message
    finally:
        session.expire_on_commit = expire_on_commit


def revoke_certificate(certificate: Certificate, admin: User | None, reason: str) -> None:
    """Revoke a valid certificate, keeping the reason; the verify page shows it revoked."""
    _check_operator(admin)
    if certificate.status is not CertificateStatus.VALID:
        raise RuleError(_("Only a valid certificate can be revoked."))
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give the reason for revoking the certificate."), field="reason")
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = admin.id if admin else None
    certificate.revocation_reason = reason
    db.session.flush()
    record(admin, "certificate.revoke", certificate, serial=certificate.serial, reason=reason)
    record_message(
        certificate.enrolment.learner,
        MessageKind.CERTIFICATE_REVOKED,
        about=certificate,
        link="certificates.show",
        link_args={"certificate_id": certificate.id},
        **_certificate_facts(certificate),
        reason=reason,
        revoked_on=local_today().isoformat(),
    )


#: what a certificate's snapshot holds that is not something it states: its identity and the
#: moment of issue, new with every re-issue
_NOT_STATED = frozenset(
    {
        "serial",
        "code",
        "code_display",
        "public_url",
        "verify_url",
        "issued_at",
        "issued_on",
        "serial_year",
        "serial_number",
        "replaces",
        "subject_uuid",
        "awarded_at",
        "valid_until",
    }
)


def _what_it_states(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What a certificate says about the learner and the course (what a re-issue changes)."""
    return {key: value for key, value in snapshot.items() if key not in _NOT_STATED}


def reissue_certificate(
    certificate: Certificate,
    admin: User | None,
    reason: str,
    language: CertificateLanguage | None = None,
) -> Certificate:
    """Re-issue a valid certificate after a name correction: a new serial, code and PDF with the
    learner's current name and the same hours; the old one is superseded and points to it."""
    _check_operator(admin)
    _check_keys()
    if certificate.status is not CertificateStatus.VALID:
        raise RuleError(_("Only a valid certificate can be re-issued."))
    _check_not_erased(certificate.enrolment)
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give the reason for re-issuing the certificate."), field="reason")
    enrolment, old = certificate.enrolment, certificate.snapshot
    learner = enrolment.learner
    [progress] = progress_of([enrolment])

    def successor_snapshot(serial: str, code: str) -> dict[str, Any]:
        snapshot = _snapshot(
            enrolment,
            progress,
            serial,
            code,
            language or certificate.language,
            learner_names={
                "name_th": learner.full_name_th,
                "name_en": learner.full_name_en or "",
                "email": learner.email,
            },
        )
        # The hours, cohort and start stay as certified; the name, language, issuer and the
        # day the learner completed are read again.
        snapshot.update(
            modules=old["modules"],
            total_hours=old["total_hours"],
            cohort=old["cohort"],
            activity_started_on=old["activity_started_on"],
            # the credential's awardedDate: the day the learner was first awarded it
            awarded_at=old.get("awarded_at") or old["issued_at"],
        )
        if old.get("valid_until"):
            snapshot["valid_until"] = old["valid_until"]  # a correction does not extend it
        else:
            snapshot.pop("valid_until", None)
        return snapshot

    if _what_it_states(successor_snapshot(old["serial"], old["code"])) == _what_it_states(old):
        raise RuleError(
            _(
                "Nothing would change: %(serial)s already states the learner's name, the "
                "language and everything else as they are now. Correct what is wrong first "
                "(the name in the learner's account, for example), then re-issue; a re-issue "
                "without a change would only use up a serial number.",
                serial=certificate.serial,
            )
        )
    certificate.status = CertificateStatus.SUPERSEDED
    db.session.flush()
    year, number, serial = _new_serial()
    snapshot = successor_snapshot(serial, new_code())
    snapshot.update(serial_year=year, serial_number=number, replaces=certificate.serial)
    successor = _store(enrolment, snapshot, admin, _renderer())
    successor.replaces_id, successor.reissue_reason = certificate.id, reason
    certificate.superseded_by_id = successor.id
    db.session.flush()
    record(
        admin,
        "certificate.reissue",
        certificate,
        serial=certificate.serial,
        new_serial=successor.serial,
        reason=reason,
    )
    record_message(
        learner,
        MessageKind.CERTIFICATE_SUPERSEDED,
        about=certificate,
        link="certificates.download",
        link_args={"certificate_id": successor.id},
        **_certificate_facts(certificate),
        reason=reason,
        new_serial=successor.serial,
        new_code=successor.snapshot["code_display"],
        new_verify_url=successor.snapshot["verify_url"],
        reissued_on=successor.snapshot["issued_on"],
    )
    return successor


def sign_pending_credentials() -> int:
    """Sign, once, the credentials of certificates issued before credentials were signed at
    issue (`lca keys generate` does it); returns how many."""
    pending = db.session.scalars(select(Certificate).where(Certificate.credential.is_(None)))
    count = 0
    for certificate in pending:
        sign_at_issue(certificate)
        count += 1
    db.session.flush()
    return count


def find_by_code(code: str | None) -> Certificate | None:
    """The certificate with exactly this code (already normalised), or None."""
    if not code:
        return None
    return db.session.scalar(
        select(Certificate)
        .where(Certificate.code == code)
        .options(joinedload(Certificate.superseded_by))
    )


def find_by_serial(serial: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.serial == serial.strip()))
