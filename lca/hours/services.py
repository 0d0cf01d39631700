"""The rules of the hours ledger: logging hours, reviewing them, and the field window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from lca.core import uploads as stored_files
from lca.core.audit import apply_changes, record
from lca.core.dates import format_day, local_today
from lca.core.db import db, flush_or_conflict, utcnow
from lca.core.errors import RuleError, RuleErrors
from lca.core.outbox import record_message
from lca.core.uploads import Upload
from lca.curriculum.services import in_field_catalogue
from lca.hours.day_limit import check_day_limit
from lca.hours.overlaps import check_attendance_overlap, check_time_of_day
from lca.models import (
    Cohort,
    Enrolment,
    EnrolmentStatus,
    EvidenceFile,
    FieldMechanism,
    FieldTool,
    HourLog,
    HourLogNote,
    LogSource,
    LogStatus,
    MessageKind,
    Module,
    NoteKind,
    User,
)
from lca.models.hours import MAX_MINUTES_PER_LOG, MINUTE_STEP

MAX_NOTE_LENGTH = 2000
REVIEW_ACTIONS = {
    LogStatus.APPROVED: "hour_log.approve",
    LogStatus.REJECTED: "hour_log.reject",
    LogStatus.RETURNED: "hour_log.return",
}


@dataclass
class LogEntry:
    """What a learner types about the hours they worked."""

    module: Module
    worked_on: date
    minutes: int
    description: str
    mechanism: FieldMechanism | None = None
    tools: list[FieldTool] = field(default_factory=list)
    place: str | None = None
    starts_at: time | None = None  #: when the work began, if the learner says


#: what a reviewer sees when someone else changed the same log a moment ago
STALE_LOG = _l("Someone else changed this log a moment ago. Reload the page and try again.")


def check_minutes(minutes: int, field_name: str = "hours") -> None:
    """Hours are positive, at most one day's worth (12), on a quarter-hour grid."""
    if minutes <= 0:
        raise RuleError(_("Enter more than 0 hours."), field=field_name)
    if minutes > MAX_MINUTES_PER_LOG:
        raise RuleError(
            _(
                "One log holds at most %(hours)d hours, one day's work.",
                hours=MAX_MINUTES_PER_LOG // 60,
            ),
            field=field_name,
        )
    if minutes % MINUTE_STEP:
        raise RuleError(_("Give hours in quarter hours: 1, 1.25, 1.5, 1.75 …"), field=field_name)


def check_field_window(enrolment: Enrolment, worked_on: date) -> None:
    """Field hours are logged only on days inside the learner's field window."""
    if not enrolment.in_field_window(worked_on):
        raise RuleError(
            _(
                "Field hours must fall inside your field window, %(start)s to %(end)s.",
                start=format_day(enrolment.field_window_starts_on),
                end=format_day(enrolment.field_window_ends_on),
            ),
            field="worked_on",
        )


def check_entry(enrolment: Enrolment, entry: LogEntry, evidence: int | None = None) -> None:
    """A log's day is not in the future nor before the cohort started; field practice is
    inside the window and names its mechanism, tools and place (and has a file, when
    ``evidence`` says how many the log will have). Every rule broken is reported at once."""
    problems = entry_problems(enrolment, entry, evidence)
    if problems:
        raise problems[0] if len(problems) == 1 else RuleErrors(problems)


def entry_problems(
    enrolment: Enrolment, entry: LogEntry, evidence: int | None = None
) -> list[RuleError]:
    """Every rule of ``check_entry`` that the entry breaks, each with its field."""
    problems: list[RuleError] = []
    checks: list[Callable[[], None]] = [
        lambda: check_minutes(entry.minutes),
        lambda: check_time_of_day(entry.starts_at, entry.minutes),
        lambda: _check_day(enrolment, entry),
    ]
    for check in checks:
        try:
            check()
        except RuleError as error:
            problems.append(error)
    if not entry.description:
        problems.append(RuleError(_("Describe what you did."), field="description"))
    if entry.module.version_id != enrolment.cohort.curriculum_version_id:
        problems.append(
            RuleError(_("This module is not in the curriculum of your cohort."), field="module_id")
        )
    elif entry.module.is_field and not in_field_catalogue(
        enrolment.cohort.curriculum_version_id,
        entry.mechanism.id if entry.mechanism else None,
        [tool.id for tool in entry.tools],
    ):
        problems.append(
            RuleError(
                _("Choose a mechanism and tools of your cohort's curriculum."),
                field="mechanism_id",
            )
        )
    if entry.module.is_field:
        if entry.mechanism is None:
            problems.append(
                RuleError(_("Choose the mechanism this work belongs to."), field="mechanism_id")
            )
        if not entry.tools:
            problems.append(RuleError(_("Choose at least one tool you used."), field="tool_ids"))
        if not entry.place:
            problems.append(RuleError(_("Say where the work took place."), field="place"))
        if evidence == 0:
            problems.append(
                RuleError(_("Attach at least one photo or PDF as evidence."), field="files")
            )
    return problems


def day_problems(learner_id: int, entry: LogEntry, replacing: HourLog | None) -> list[RuleError]:
    """What the learner's day says of ``entry`` (in place of ``replacing``, the log being
    changed): its 12 hours, and the time of a session they were credited for. Read without the
    lock, so that a form shows these with its other problems; saving checks them again under
    the learner's lock."""
    problems: list[RuleError] = []
    checks: list[Callable[[], None]] = [
        lambda: check_day_limit(
            learner_id, entry.worked_on, entry.minutes, replacing=replacing, lock=False
        ),
        lambda: check_attendance_overlap(
            learner_id, entry.worked_on, entry.starts_at, entry.minutes
        ),
    ]
    for check in checks:
        try:
            check()
        except RuleError as error:
            problems.append(error)
    return problems


def _check_day(enrolment: Enrolment, entry: LogEntry) -> None:
    if entry.worked_on > local_today():
        raise RuleError(_("The day cannot be in the future."), field="worked_on")
    if entry.worked_on < enrolment.cohort.starts_on:
        raise RuleError(
            _(
                "The day cannot be before the cohort started (%(date)s).",
                date=format_day(enrolment.cohort.starts_on),
            ),
            field="worked_on",
        )
    if entry.module.is_field:
        check_field_window(enrolment, entry.worked_on)


def _apply_entry(log: HourLog, entry: LogEntry) -> dict[str, list[Any]]:
    field_work = entry.module.is_field
    changes = apply_changes(
        log,
        {
            "module_id": entry.module.id,
            "worked_on": entry.worked_on,
            "starts_at": entry.starts_at,
            "minutes": entry.minutes,
            "description": entry.description,
            "mechanism_id": entry.mechanism.id if field_work and entry.mechanism else None,
            "place": entry.place if field_work else None,
        },
    )
    log.module, log.mechanism = entry.module, entry.mechanism if field_work else None
    tools = sorted(entry.tools, key=lambda tool: tool.number) if field_work else []
    if [t.id for t in log.tools] != [t.id for t in tools]:
        changes["tools"] = [[t.code for t in log.tools], [t.code for t in tools]]
        log.tools = tools
    return changes


#: built once, with a parameter (every log form asks): a statement keeps its cache key
_ACTIVE_ENROLMENTS = (
    select(Enrolment)
    .join(Enrolment.cohort)
    .where(
        Enrolment.learner_id == bindparam("learner_id"),
        Enrolment.status == EnrolmentStatus.ACTIVE,
    )
    .options(joinedload(Enrolment.cohort))
    .order_by(Cohort.starts_on.desc())
)


def active_enrolments(learner: User) -> list[Enrolment]:
    """The enrolments a learner can log hours against, newest cohort first."""
    return list(db.session.scalars(_ACTIVE_ENROLMENTS, {"learner_id": learner.id}))


def submit_log(
    enrolment: Enrolment, entry: LogEntry, uploads: list[Upload], learner: User
) -> HourLog:
    """A learner logs hours for review; field practice needs at least one evidence file; the
    day holds at most 12 hours across all the learner's logs (day_limit.py)."""
    if enrolment.learner_id != learner.id or enrolment.status is not EnrolmentStatus.ACTIVE:
        raise RuleError(_("You can log hours only in a cohort you are studying in."))
    check_entry(enrolment, entry)
    check_day_limit(learner.id, entry.worked_on, entry.minutes)
    check_attendance_overlap(learner.id, entry.worked_on, entry.starts_at, entry.minutes)
    files = stored_files.check_uploads(uploads, already=0)
    if entry.module.is_field and not files:
        raise RuleError(_("Attach at least one photo or PDF as evidence."), field="files")
    log = HourLog(enrolment=enrolment, source=LogSource.LEARNER, status=LogStatus.PENDING, tools=[])
    db.session.add(log)
    _apply_entry(log, entry)
    db.session.flush()
    attach_evidence(log, files)
    record(learner, "hour_log.submit", log, minutes=log.minutes, module=entry.module.number)
    return log


def attach_evidence(log: HourLog, files: list[stored_files.CheckedFile]) -> list[EvidenceFile]:
    """Store checked files as evidence of ``log``."""
    attached = [EvidenceFile(hour_log=log, **columns) for columns in stored_files.store(files)]
    db.session.add_all(attached)
    db.session.flush()
    return attached


def _editable(log: HourLog) -> None:
    if not log.is_editable:
        raise RuleError(_("This log has been reviewed and can no longer be changed."))


def update_log(
    log: HourLog, entry: LogEntry, uploads: list[Upload], remove_ids: set[int], learner: User
) -> None:
    """Change a pending or returned log (its day still within 12 hours); a returned log goes
    back to the queue."""
    _editable(log)
    check_entry(log.enrolment, entry)
    check_day_limit(log.enrolment.learner_id, entry.worked_on, entry.minutes, replacing=log)
    check_attendance_overlap(
        log.enrolment.learner_id, entry.worked_on, entry.starts_at, entry.minutes
    )
    kept = [e for e in log.evidence if e.id not in remove_ids]
    files = stored_files.check_uploads(uploads, already=len(kept))
    if entry.module.is_field and not kept and not files:
        raise RuleError(_("Attach at least one photo or PDF as evidence."), field="files")
    changes = _apply_entry(log, entry)
    for gone in (e for e in log.evidence if e.id in remove_ids):
        stored_files.remove(gone)
        changes.setdefault("removed_files", []).append(gone.original_name)
    attach_evidence(log, files)
    if files:
        changes["added_files"] = [f.name for f in files]
    resubmitted = log.status is LogStatus.RETURNED
    if resubmitted:
        log.status, log.submitted_at = LogStatus.PENDING, utcnow()
    flush_or_conflict(STALE_LOG)
    record(learner, "hour_log.resubmit" if resubmitted else "hour_log.update", log, changes=changes)


def withdraw_log(log: HourLog, learner: User) -> None:
    """The learner takes back a log that has not been approved or rejected."""
    _editable(log)
    log.status = LogStatus.WITHDRAWN
    flush_or_conflict(STALE_LOG)
    record(learner, "hour_log.withdraw", log)


def _note(log: HourLog, author: User, kind: NoteKind, body: str) -> None:
    body = (body or "").strip()
    if len(body) > MAX_NOTE_LENGTH:
        raise RuleError(_("Use at most %(count)d characters.", count=MAX_NOTE_LENGTH), field="body")
    db.session.add(HourLogNote(hour_log_id=log.id, author=author, kind=kind, body=body))


def answer_question(log: HourLog, answer: str, learner: User) -> None:
    """The learner answers the question a returned log came back with; it goes for review."""
    if log.status is not LogStatus.RETURNED:
        raise RuleError(_("Only a log returned with a question can be answered."))
    if not (answer or "").strip():
        raise RuleError(_("Write your answer."), field="body")
    _note(log, learner, NoteKind.ANSWER, answer)
    log.status, log.submitted_at = LogStatus.PENDING, utcnow()
    flush_or_conflict(STALE_LOG)
    record(learner, "hour_log.answer", log)


def _review(
    log: HourLog,
    reviewer: User,
    status: LogStatus,
    note: tuple[NoteKind, str] | None = None,
    **details: Any,
) -> None:
    if log.source is not LogSource.LEARNER or log.status is not LogStatus.PENDING:
        raise RuleError(_("Only a log waiting for review can be approved, rejected or returned."))
    if note is not None:
        kind, body = note
        if not (body or "").strip():
            raise RuleError(
                _("Give the reason.") if kind is NoteKind.REJECTION else _("Write your question."),
                field="body",
            )
        _note(log, reviewer, kind, body)
    log.status, log.reviewed_by, log.reviewed_at = status, reviewer, utcnow()
    flush_or_conflict(STALE_LOG)
    record(reviewer, REVIEW_ACTIONS[status], log, **details)


def approve_log(log: HourLog, reviewer: User) -> None:
    """Approve a pending log; approved logs are locked and count toward the module."""
    _review(log, reviewer, LogStatus.APPROVED)


def reject_log(log: HourLog, reviewer: User, reason: str) -> None:
    """Reject a pending log, saying why; rejected logs are locked; the learner is told."""
    _review(log, reviewer, LogStatus.REJECTED, (NoteKind.REJECTION, reason))
    _tell_learner(log, reviewer, MessageKind.LOG_REJECTED, reason=reason.strip())


def return_log(log: HourLog, reviewer: User, question: str) -> None:
    """Send a pending log back to its learner with a question; the learner is told."""
    _review(log, reviewer, LogStatus.RETURNED, (NoteKind.QUESTION, question))
    _tell_learner(log, reviewer, MessageKind.LOG_RETURNED, question=question.strip())


def _tell_learner(log: HourLog, reviewer: User, kind: MessageKind, **said: str) -> None:
    """The learner is told what their reviewer did with a log, with a link to it."""
    record_message(
        log.enrolment.learner,
        kind,
        about=log,
        link="hours.show_log",
        link_args={"log_id": log.id},
        **_log_facts(log),
        **said,
        reviewer=reviewer.full_name_th,
        reviewer_en=reviewer.full_name_en or reviewer.full_name_th,
    )


def _log_facts(log: HourLog) -> dict[str, Any]:
    """What a message about a log names: its module, day and hours (plain values)."""
    return {
        "module_number": log.module.number,
        "module_th": log.module.title_th,
        "module_en": log.module.title_en,
        "worked_on": log.worked_on.isoformat(),
        "minutes": log.minutes,
        "cohort": log.enrolment.cohort.code,
    }


def approve_logs(
    log_ids: list[int], reviewer: User, may_review: Callable[[HourLog], bool]
) -> tuple[int, int]:
    """Approve many pending logs at once; returns (approved, skipped). ``may_review(log)``
    says whether the reviewer may act on a log (the cohorts they teach)."""
    logs = db.session.scalars(
        select(HourLog).where(HourLog.id.in_(log_ids)).options(joinedload(HourLog.enrolment))
    ).all()
    approved = 0
    for log in logs:
        if not may_review(log) or log.status is not LogStatus.PENDING:
            continue
        if log.source is not LogSource.LEARNER:
            continue
        log.status, log.reviewed_by, log.reviewed_at = LogStatus.APPROVED, reviewer, utcnow()
        record(reviewer, "hour_log.approve", log, bulk=True)
        approved += 1
    flush_or_conflict(STALE_LOG)
    return approved, len(set(log_ids)) - approved


def _reviewable(log_ids: list[int], may_review: Callable[[HourLog], bool]) -> list[HourLog]:
    """The logs among ``log_ids`` still waiting for review that the reviewer may review, with
    what a message to their learner names."""
    logs = db.session.scalars(
        select(HourLog)
        .where(HourLog.id.in_(log_ids))
        .options(
            joinedload(HourLog.enrolment).joinedload(Enrolment.learner),
            joinedload(HourLog.enrolment).joinedload(Enrolment.cohort),
            joinedload(HourLog.module),
        )
        .order_by(HourLog.id)
    ).all()
    return [
        log
        for log in logs
        if may_review(log) and log.status is LogStatus.PENDING and log.source is LogSource.LEARNER
    ]


def _note_for_many(kind: NoteKind, body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise RuleError(
            _("Give the reason the ticked logs are not approved.")
            if kind is NoteKind.REJECTION
            else _("Write the question to send with the ticked logs."),
            field="body",
        )
    if len(body) > MAX_NOTE_LENGTH:
        raise RuleError(_("Use at most %(count)d characters.", count=MAX_NOTE_LENGTH), field="body")
    return body


def return_logs(
    log_ids: list[int], reviewer: User, may_review: Callable[[HourLog], bool], question: str
) -> tuple[int, int]:
    """Send many pending logs back with one question; each learner is told, as for one log.
    Returns (returned, skipped); ``may_review`` as for ``approve_logs``."""
    question = _note_for_many(NoteKind.QUESTION, question)
    logs = _reviewable(log_ids, may_review)
    for log in logs:
        _review(log, reviewer, LogStatus.RETURNED, (NoteKind.QUESTION, question), bulk=True)
        _tell_learner(log, reviewer, MessageKind.LOG_RETURNED, question=question)
    return len(logs), len(set(log_ids)) - len(logs)


def reject_logs(
    log_ids: list[int], reviewer: User, may_review: Callable[[HourLog], bool], reason: str
) -> tuple[int, int]:
    """Reject many pending logs for one reason; each learner is told, as for one log.
    Returns (rejected, skipped); ``may_review`` as for ``approve_logs``."""
    reason = _note_for_many(NoteKind.REJECTION, reason)
    logs = _reviewable(log_ids, may_review)
    for log in logs:
        _review(log, reviewer, LogStatus.REJECTED, (NoteKind.REJECTION, reason), bulk=True)
        _tell_learner(log, reviewer, MessageKind.LOG_REJECTED, reason=reason)
    return len(logs), len(set(log_ids)) - len(logs)


def load_log_details(log: HourLog) -> HourLog:
    """The log with what its page shows: module, mechanism, tools, files, notes and authors."""
    return db.session.scalars(
        select(HourLog)
        .where(HourLog.id == log.id)
        .options(
            joinedload(HourLog.module),
            joinedload(HourLog.mechanism),
            joinedload(HourLog.reviewed_by),
            selectinload(HourLog.tools),
            selectinload(HourLog.evidence),
            selectinload(HourLog.notes).joinedload(HourLogNote.author),
        )
    ).one()


def learner_logs(learner: User, enrolment: Enrolment | None = None) -> list[HourLog]:
    """A learner's logs (of one enrolment, if given), newest day first, with module and files."""
    query = (
        select(HourLog)
        .join(HourLog.enrolment)
        .where(Enrolment.learner_id == learner.id)
        .options(joinedload(HourLog.module), selectinload(HourLog.evidence))
        .order_by(HourLog.worked_on.desc(), HourLog.id.desc())
    )
    if enrolment is not None:
        query = query.where(HourLog.enrolment_id == enrolment.id)
    return list(db.session.scalars(query))
