"""Who is behind: an active learner whose hours (approved, or waiting for review) fall short of
what the timetable expects by today. A classroom, forum or festival module expects the hours of
the cohort's sessions of that module held before today, up to the module's requirement; field
practice expects the share of its hours that matches the share of the field window gone by
(all of them once the window has closed, none before it opens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from lca.core.db import db
from lca.hours.progress import EnrolmentProgress, ModuleProgress
from lca.models import ClassSession, Cohort, Module

STEP = 15  #: expected minutes are rounded down to the quarter hour that hours are logged in


@dataclass(frozen=True)
class Lag:
    """One module a learner is behind in: what they have and what the timetable expects."""

    module: Module
    done_minutes: int
    expected_minutes: int


def minutes_held(cohort: Cohort, today: date) -> dict[int, int]:
    """{module_id: minutes of the cohort's sessions of that module held before today}."""
    query = (
        select(ClassSession.module_id, func.sum(ClassSession.minutes))
        .where(ClassSession.cohort_id == cohort.id, ClassSession.held_on < today)
        .group_by(ClassSession.module_id)
    )
    return {module_id: int(minutes or 0) for module_id, minutes in db.session.execute(query)}


def _field_share(progress: EnrolmentProgress, row: ModuleProgress) -> int:
    """The field minutes expected by today: the window's share gone by, of the requirement."""
    if progress.window_state == "not-open":
        return 0
    if progress.window_state == "closed":
        return row.required_minutes
    length = (progress.window_ends_on - progress.window_starts_on).days + 1
    gone = (progress.today - progress.window_starts_on).days
    return row.required_minutes * gone // length // STEP * STEP


def lags(progress: EnrolmentProgress, held: dict[int, int]) -> list[Lag]:
    """The modules this learner is behind in by today (none for a learner no longer active)."""
    if not progress.enrolment.is_active:
        return []
    behind = []
    for row in progress.modules:
        if row.is_complete:
            continue
        if row.module.is_field:
            expected = _field_share(progress, row)
        else:
            expected = min(held.get(row.module.id, 0), row.required_minutes)
        done = row.approved_minutes + row.pending_minutes
        if done < expected:
            behind.append(Lag(row.module, done, expected))
    return behind
