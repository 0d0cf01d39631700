"""Two of a learner's logs of one day whose times overlap: the reviewer sees both flagged; a log
that overlaps a class session the learner was credited for is refused.

A log's time is [start, start + hours). A learner's log has a start only if the learner gave
one; an attendance credit's is its session's: a learner marked present was there for the whole
session, one marked late for its last hours (the credit ends when the session ends). Counted as
for the 12-hour day (day_limit.py): logs waiting, returned and approved, attendance included; not
rejected or withdrawn ones. A log without a start cannot be placed, so it overlaps nothing.

Why only the attendance is refused: the attendance sheet is the instructor's record of where the
learner was, so a log claiming the same hours elsewhere is a mistake the learner can fix at once.
Two of the learner's own logs may honestly overlap (two modules' work done at one meeting, a
start remembered roughly), so they are accepted and flagged for the reviewer, who asks; the
learner sees the same flag on the log's page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time

from flask_babel import gettext as _
from sqlalchemy import select

from lca.core.dates import format_day
from lca.core.db import db
from lca.core.errors import RuleError
from lca.hours.day_limit import COUNTED_STATES
from lca.models import ClassSession, Enrolment, HourLog, LogSource
from lca.models.hours import MINUTE_STEP
from lca.web.i18n import minutes_as_hours

MINUTES_PER_DAY = 24 * 60


def minute_of_day(value: time) -> int:
    return value.hour * 60 + value.minute


def clock(minute: int) -> str:
    """A minute of the day as the 24-hour clock shows it: 09:05; midnight at the end is 24:00."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class Span:
    """When one log's work happened on its day, in minutes since midnight."""

    log_id: int
    start: int
    end: int
    cohort_id: int = 0  #: the cohort of the log's enrolment
    is_attendance: bool = False
    place: str | None = None  #: an attendance credit's session place

    def overlaps(self, other: Span) -> bool:
        return self.log_id != other.log_id and self.start < other.end and other.start < self.end

    @property
    def label(self) -> str:
        return _("%(start)s–%(end)s", start=clock(self.start), end=clock(self.end))


def span(
    log_id: int,
    minutes: int,
    starts_at: time | None,
    cohort_id: int = 0,
    session_starts_at: time | None = None,
    session_minutes: int | None = None,
    place: str | None = None,
) -> Span | None:
    """A log's span: its own start, or (an attendance credit) the end of its session."""
    if session_starts_at is not None and session_minutes is not None:
        end = minute_of_day(session_starts_at) + session_minutes
        return Span(log_id, max(end - minutes, 0), end, cohort_id, is_attendance=True, place=place)
    if starts_at is None:
        return None
    start = minute_of_day(starts_at)
    return Span(log_id, start, start + minutes, cohort_id)


@dataclass(frozen=True)
class LogTimes:
    """A log's time as a reviewer sees it, and the other logs of its day it overlaps."""

    span: Span | None
    overlaps: list[Span] = field(default_factory=list)


@dataclass
class Days:
    """What the counted logs of some learners' days hold: each day's minutes and the spans of
    its logs that have a time."""

    minutes: dict[tuple[int, date], int] = field(default_factory=dict)
    spans: dict[tuple[int, date], list[Span]] = field(default_factory=dict)


def days_of(pairs: set[tuple[int, date]]) -> Days:
    """Every counted log of these (learner id, day) pairs, in one query: the minutes of each
    day, and each log that has a time (its own, or its class session's) as a span."""
    found = Days()
    if not pairs:
        return found
    rows = db.session.execute(
        select(
            HourLog.id,
            Enrolment.learner_id,
            Enrolment.cohort_id,
            HourLog.worked_on,
            HourLog.minutes,
            HourLog.starts_at,
            ClassSession.starts_at,
            ClassSession.minutes,
            ClassSession.place,
        )
        .join(HourLog.enrolment)
        .outerjoin(HourLog.class_session)
        .where(
            Enrolment.learner_id.in_({p[0] for p in pairs}),
            HourLog.worked_on.in_({p[1] for p in pairs}),
            HourLog.status.in_(COUNTED_STATES),
        )
        .order_by(HourLog.worked_on, HourLog.id)
    )
    for log_id, learner_id, cohort_id, day, minutes, starts_at, *session in rows:
        if (learner_id, day) not in pairs:  # another of the learners' days
            continue
        found.minutes[(learner_id, day)] = found.minutes.get((learner_id, day), 0) + minutes
        placed = span(log_id, minutes, starts_at, cohort_id, *session)
        if placed is not None:
            found.spans.setdefault((learner_id, day), []).append(placed)
    for spans in found.spans.values():
        spans.sort(key=lambda s: (s.start, s.end, s.log_id))
    return found


def times_of(logs: Iterable[HourLog], days: Days | None = None) -> dict[int, LogTimes]:
    """Each log's time and the counted logs of its learner's day it overlaps, by log id, in one
    query for the whole page (none when the page has read its ``days`` already)."""
    logs = list(logs)
    if days is None:
        days = days_of({(log.enrolment.learner_id, log.worked_on) for log in logs})
    times = {}
    for log in logs:
        day = days.spans.get((log.enrolment.learner_id, log.worked_on), [])
        own = next((s for s in day if s.log_id == log.id), None)
        if own is None and log.source is LogSource.LEARNER:  # not counted: rejected, withdrawn
            own = span(log.id, log.minutes, log.starts_at, log.enrolment.cohort_id)
        overlaps = [other for other in day if own is not None and own.overlaps(other)]
        times[log.id] = LogTimes(own, overlaps)
    return times


def check_time_of_day(starts_at: time | None, minutes: int, field_name: str = "starts_at") -> None:
    """A log of one day ends by midnight."""
    if starts_at is None:
        return
    left = MINUTES_PER_DAY - minute_of_day(starts_at)
    if minutes > left:
        raise RuleError(
            _(
                "A log holds the work of one day, which ends at midnight: starting at %(start)s, "
                "it holds at most %(hours)s hours. Log the hours after midnight on the next day.",
                start=clock(minute_of_day(starts_at)),
                hours=minutes_as_hours(left // MINUTE_STEP * MINUTE_STEP),
            ),
            field=field_name,
        )


def check_attendance_overlap(
    learner_id: int,
    day: date,
    starts_at: time | None,
    minutes: int,
    field_name: str = "starts_at",
) -> None:
    """A learner's log does not claim hours of a class session they were credited for."""
    if starts_at is None:
        return
    own = span(0, minutes, starts_at)
    if own is None:  # no span without a start; checked above
        return
    for other in days_of({(learner_id, day)}).spans.get((learner_id, day), []):
        if other.is_attendance and own.overlaps(other):
            raise RuleError(
                _(
                    "From %(start)s to %(end)s on %(day)s you were credited for attendance at a "
                    "class session (%(place)s), so a log cannot claim those hours: change the "
                    "start time or the hours.",
                    start=clock(other.start),
                    end=clock(other.end),
                    day=format_day(day),
                    place=other.place or "",
                ),
                field=field_name,
            )
