"""Erasure (PDPA §33): an administrator erases a learner's personal data.

What goes: the names, e-mail address, city and organisation on the account (replaced by a
placeholder), its sessions, second factors and sign-in links, the texts of the hour logs and
field report and the conversation about them, every evidence and report file (deleted from
storage once the erasure is committed), drafts, the messages sent to the person, and the
person's name and address wherever the audit trail or another person's message repeats them.

What stays: hours, statuses, grades' points and the audit trail's facts, as anonymous numbers
(statistics and reports count them), and every issued certificate as a minimal record (serial,
name as issued, course, dates, status), because employers and funders rely on checking it: its
verify page, PDF and signed credential stay as they were issued.

Staff accounts are not erased (their work is the programme's record: deactivate them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Text, cast, delete, or_, select, update

from lca.auth.services import UNUSABLE_PASSWORD
from lca.core import uploads as stored_files
from lca.core.audit import record
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.core.security_log import security_event
from lca.models import (
    AuditEvent,
    Certificate,
    DraftFile,
    Enrolment,
    EvidenceFile,
    FieldReport,
    FieldWindowExtension,
    Grade,
    HourLog,
    HourLogNote,
    Message,
    Passkey,
    RecoveryCode,
    ReportFile,
    ReportReopening,
    User,
    UserSession,
)

#: what replaces an erased text that must not be empty
ERASED_TEXT = "—"
MAX_REASON = 2000


def erased_email(user: User) -> str:
    """The unique placeholder address of an erased account (never deliverable)."""
    return f"erased-{user.id}@invalid.example"


def erased_name(user: User) -> str:
    return f"erased-{user.id}"


@dataclass
class ErasureSummary:
    """What an erasure removes and keeps, for the confirmation page."""

    enrolments: int
    hour_logs: int
    files: int
    messages: int
    certificates: int


def erasure_refusal(user: User, actor: User) -> str | None:
    """Why ``actor`` may not erase ``user`` (None when they may): only a learner's account is
    erased, by another person, once."""
    if user.id == actor.id:
        return _("You cannot erase your own account.")
    if user.erased_at is not None:
        return _("This account has already been erased.")
    if not user.is_learner:
        return _(
            "Only a learner's account can be erased. The records of instructors and "
            "administrators are the programme's own: deactivate this account instead."
        )
    return None


def check_erasable(user: User, actor: User) -> None:
    refusal = erasure_refusal(user, actor)
    if refusal is not None:
        raise RuleError(refusal)


def _enrolment_ids(user: User) -> list[int]:
    return list(db.session.scalars(select(Enrolment.id).where(Enrolment.learner_id == user.id)))


def _log_ids(enrolment_ids: list[int]) -> list[int]:
    return list(
        db.session.scalars(select(HourLog.id).where(HourLog.enrolment_id.in_(enrolment_ids)))
    )


def _report_ids(enrolment_ids: list[int]) -> list[int]:
    return list(
        db.session.scalars(
            select(FieldReport.id).where(FieldReport.enrolment_id.in_(enrolment_ids))
        )
    )


def erasure_summary(user: User) -> ErasureSummary:
    """How much an erasure of ``user`` would remove (files, messages) and keep (certificates)."""
    enrolments = _enrolment_ids(user)
    logs, reports = _log_ids(enrolments), _report_ids(enrolments)
    files = len(
        list(db.session.scalars(select(EvidenceFile.id).where(EvidenceFile.hour_log_id.in_(logs))))
    ) + len(
        list(
            db.session.scalars(select(ReportFile.id).where(ReportFile.field_report_id.in_(reports)))
        )
    )
    return ErasureSummary(
        enrolments=len(enrolments),
        hour_logs=len(logs),
        files=files,
        messages=len(
            list(db.session.scalars(select(Message.id).where(Message.recipient_id == user.id)))
        ),
        certificates=len(
            list(
                db.session.scalars(
                    select(Certificate.id).where(Certificate.enrolment_id.in_(enrolments))
                )
            )
        ),
    )


def _needles(user: User) -> list[str]:
    """The person's identifying texts, longest first (a name inside another is replaced last)."""
    found = {user.email, user.full_name_th, user.full_name_en or ""}
    return sorted((n for n in found if n and len(n) >= 3), key=len, reverse=True)


def scrub(value: Any, needles: list[str], placeholder: str) -> Any:
    """``value`` (plain JSON) with each needle replaced by ``placeholder``, wherever it occurs."""
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, placeholder)
        return value
    if isinstance(value, list):
        return [scrub(item, needles, placeholder) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item, needles, placeholder) for key, item in value.items()}
    return value


def _mentions(column: Any, needles: list[str]) -> Any:
    """Rows whose JSON column mentions a needle, as stored (in clear or \\u-escaped)."""
    forms = {form for needle in needles for form in (needle, json.dumps(needle)[1:-1])}
    text = cast(column, Text)
    return or_(*(text.contains(form, autoescape=True) for form in forms))


def erase_learner(user: User, actor: User, reason: str) -> ErasureSummary:
    """Erase a learner's personal data (see the module's docstring); the reason is kept in
    the audit trail. The files are deleted from storage once the erasure is committed."""
    check_erasable(user, actor)
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(
            _("Give the reason for the erasure (it is kept in the audit log)."), field="reason"
        )
    if len(reason) > MAX_REASON:
        raise RuleError(_("Use at most %(max)d characters.", max=MAX_REASON), field="reason")
    summary = erasure_summary(user)
    needles, placeholder = _needles(user), erased_name(user)
    enrolments = _enrolment_ids(user)
    logs, reports = _log_ids(enrolments), _report_ids(enrolments)

    for stored in [
        *db.session.scalars(select(EvidenceFile).where(EvidenceFile.hour_log_id.in_(logs))),
        *db.session.scalars(select(ReportFile).where(ReportFile.field_report_id.in_(reports))),
        *db.session.scalars(select(DraftFile).where(DraftFile.owner_id == user.id)),
    ]:
        stored_files.remove(stored)
    for log in db.session.scalars(select(HourLog).where(HourLog.id.in_(logs))):
        log.description, log.place = "", None
    db.session.execute(
        update(HourLogNote).where(HourLogNote.hour_log_id.in_(logs)).values(body=ERASED_TEXT)
    )
    for report in db.session.scalars(select(FieldReport).where(FieldReport.id.in_(reports))):
        report.summary = ERASED_TEXT
    grades = select(Grade.id).where(Grade.field_report_id.in_(reports))
    db.session.execute(
        update(Grade).where(Grade.id.in_(grades), Grade.feedback != "").values(feedback=ERASED_TEXT)
    )
    from lca.models import GradeScore

    db.session.execute(update(GradeScore).where(GradeScore.grade_id.in_(grades)).values(comment=""))
    db.session.execute(
        update(ReportReopening)
        .where(ReportReopening.field_report_id.in_(reports))
        .values(reason=ERASED_TEXT)
    )
    db.session.execute(
        update(FieldWindowExtension)
        .where(FieldWindowExtension.enrolment_id.in_(enrolments))
        .values(reason=ERASED_TEXT)
    )
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.id.in_(enrolments), Enrolment.withdrawal_reason.is_not(None))
        .values(withdrawal_reason=ERASED_TEXT)
    )
    for certificate in db.session.scalars(
        select(Certificate).where(Certificate.enrolment_id.in_(enrolments))
    ):
        # the name as issued stays (the certificate says it); the e-mail address goes (the
        # signed credential keeps only its salted hash, as issued)
        learner = {k: v for k, v in certificate.snapshot["learner"].items() if k != "email"}
        certificate.snapshot = {**certificate.snapshot, "learner": learner}

    db.session.execute(delete(Message).where(Message.recipient_id == user.id))
    for message in db.session.scalars(select(Message).where(_mentions(Message.params, needles))):
        message.params = scrub(message.params, needles, placeholder)
    for event in db.session.scalars(
        select(AuditEvent).where(_mentions(AuditEvent.details, needles))
    ):
        event.details = scrub(event.details, needles, placeholder)

    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    now = utcnow()
    user.email, user.full_name_th, user.full_name_en = erased_email(user), placeholder, None
    user.city, user.organisation = None, None
    user.password_hash = UNUSABLE_PASSWORD
    user.setup_token_hash = user.setup_expires_at = None
    user.reset_token_hash = user.reset_expires_at = None
    user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    user.must_change_password = False
    user.wants_reminders = user.wants_digests = False
    user.is_active = False
    user.deactivated_at = user.deactivated_at or now
    user.erased_at = now
    record(
        actor,
        "personal_data.erase",
        user,
        reason=reason,
        files=summary.files,
        messages=summary.messages,
        certificates_kept=summary.certificates,
    )
    security_event(
        "personal_data.erase",
        actor_id=actor.id,
        subject_id=user.id,
        files=summary.files,
        certificates_kept=summary.certificates,
    )
    db.session.flush()
    return summary
