"""Logs an instructor returned with a question, for the learner's next steps: each with the
question it waits on (the latest one asked)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from lca.core.db import db
from lca.models import Enrolment, HourLog, HourLogNote, LogStatus, NoteKind


@dataclass(frozen=True)
class ReturnedLog:
    log: HourLog
    question: str  #: what the instructor asked, the latest question on the log


# built once, with parameters (every learner home asks): a statement keeps its cache key
_RETURNED_LOGS = (
    select(HourLog)
    .where(
        HourLog.enrolment_id.in_(bindparam("enrolment_ids", expanding=True)),
        HourLog.status == LogStatus.RETURNED,
    )
    .options(joinedload(HourLog.module))
    .order_by(HourLog.worked_on, HourLog.id)
)
_QUESTIONS_OF_LOGS = (
    select(HourLogNote.hour_log_id, HourLogNote.body)
    .where(
        HourLogNote.hour_log_id.in_(bindparam("log_ids", expanding=True)),
        HourLogNote.kind == NoteKind.QUESTION,
    )
    .order_by(HourLogNote.id)
)


def returned_logs_of(enrolments: list[Enrolment]) -> dict[int, list[ReturnedLog]]:
    """{enrolment_id: its logs waiting for the learner's answer, oldest day first}, in two
    queries however many logs."""
    ids = [enrolment.id for enrolment in enrolments]
    if not ids:
        return {}
    logs = list(db.session.scalars(_RETURNED_LOGS, {"enrolment_ids": ids}))
    questions: dict[int, str] = {}
    if logs:
        notes = db.session.execute(_QUESTIONS_OF_LOGS, {"log_ids": [log.id for log in logs]})
        questions = {log_id: body for log_id, body in notes}  # the latest one wins
    returned: dict[int, list[ReturnedLog]] = {}
    for log in logs:
        returned.setdefault(log.enrolment_id, []).append(
            ReturnedLog(log, questions.get(log.id, ""))
        )
    return returned
