"""A learner's stay at a session, from their check-ins and check-outs, and the hours it credits.

The hours are the time from the learner's first check-in to their last check-out, capped at the
session's length and rounded down to the quarter-hour grid. A learner still checked in when the
session ends is credited the session's hours only once the instructor confirms the roster;
until then, only the time up to a check-out they made (none: nothing). The credit is an
approved attendance, like a mark on the roll, and the 12-hour day holds: a credit that would
take the day over 12 hours is cut to what the day still holds.

A mark on the roll form takes over from the check-ins: a scan no longer changes it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from lca.core.collation import thai_order
from lca.core.dates import programme_timezone
from lca.core.db import db
from lca.hours.attendance import credit_log
from lca.hours.day_limit import MAX_MINUTES_PER_DAY, lock_learner_days, minutes_on_day
from lca.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    CheckInPoint,
    ClassSession,
    Enrolment,
    EnrolmentStatus,
    HourLog,
    ScanKind,
    User,
)
from lca.models.hours import MINUTE_STEP


def session_start(session: ClassSession) -> datetime:
    """When the session starts, in the programme's timezone."""
    return datetime.combine(session.held_on, session.starts_at, tzinfo=programme_timezone())


def session_end(session: ClassSession) -> datetime:
    return session_start(session) + timedelta(minutes=session.minutes)


def on_the_grid(minutes: float) -> int:
    """Whole quarter hours, rounded down: 59 minutes → 45."""
    return max(0, int(minutes) // MINUTE_STEP * MINUTE_STEP)


@dataclass
class Stay:
    """What one learner's check-ins and check-outs at a session add up to."""

    events: list[CheckIn] = field(default_factory=list)

    @property
    def first_in(self) -> CheckIn | None:
        return next((e for e in self.events if e.kind is ScanKind.IN), None)

    @property
    def last(self) -> CheckIn | None:
        return self.events[-1] if self.events else None

    @property
    def is_in(self) -> bool:
        """Checked in now (their last scan was a check-in)."""
        return self.last is not None and self.last.kind is ScanKind.IN

    @property
    def last_out(self) -> CheckIn | None:
        first = self.first_in
        outs = [e for e in self.events if e.kind is ScanKind.OUT]
        return outs[-1] if outs and first is not None and outs[-1].at >= first.at else None

    @property
    def point_ids(self) -> list[int]:
        """The points checked in at, in the order first visited."""
        return list(dict.fromkeys(e.point_id for e in self.events if e.kind is ScanKind.IN))

    @property
    def by_hand(self) -> bool:
        return any(e.recorded_by_id is not None for e in self.events)

    def minutes(self, session: ClassSession) -> int:
        """The minutes this stay is worth, before the day's limit."""
        first = self.first_in
        if first is None:
            return 0
        if self.is_in and session.roster_confirmed_at is not None:
            return session.minutes
        out = self.last_out
        if out is None:
            return 0
        spent = (out.at - first.at).total_seconds() / 60
        return on_the_grid(min(spent, session.minutes))


def stays_of(session: ClassSession, enrolment_id: int | None = None) -> dict[int, Stay]:
    """Each learner's stay at the session (by enrolment id), in one statement."""
    query = select(CheckIn).where(CheckIn.class_session_id == session.id)
    if enrolment_id is not None:
        query = query.where(CheckIn.enrolment_id == enrolment_id)
    stays: dict[int, Stay] = defaultdict(Stay)
    for event in db.session.scalars(query.order_by(CheckIn.at, CheckIn.id)):
        stays[event.enrolment_id].events.append(event)
    return stays


def points_text(session: ClassSession, stay: Stay, points: dict[int, CheckInPoint]) -> str:
    """What the credit says it is: the session's place, and the points visited when the
    session has more than one (a festival's booths and talks)."""
    if len(points) < 2:
        return session.place
    visited = ", ".join(points[i].name for i in stay.point_ids if i in points)
    return f"{session.place}: {visited}" if visited else session.place


@dataclass
class Credit:
    """What a stay credited: the minutes, and whether the day's limit cut them."""

    minutes: int
    cut_by_day_limit: bool = False
    kept_by_roll: bool = False  #: the roll form's mark stands; the scan changed nothing


def credit_stay(
    session: ClassSession,
    enrolment: Enrolment,
    stay: Stay,
    points: dict[int, CheckInPoint],
    actor: User | None,
) -> Credit:
    """Bring the learner's attendance and its approved hour log in step with their stay."""
    attendance = db.session.scalar(
        select(Attendance).where(
            Attendance.class_session_id == session.id, Attendance.enrolment_id == enrolment.id
        )
    )
    if attendance is not None and not attendance.by_check_in:
        return Credit(attendance.minutes, kept_by_roll=True)
    log = db.session.scalar(
        select(HourLog).where(
            HourLog.class_session_id == session.id, HourLog.enrolment_id == enrolment.id
        )
    )
    wanted = stay.minutes(session)
    minutes, cut = wanted, False
    if wanted:
        lock_learner_days(enrolment.learner_id)
        room = MAX_MINUTES_PER_DAY - minutes_on_day(
            enrolment.learner_id, session.held_on, excluding=[log.id] if log else []
        )
        minutes = min(wanted, on_the_grid(room))
        cut = minutes < wanted
    if minutes == 0:
        if attendance is not None:
            db.session.delete(attendance)
        credit_log(session, enrolment, log, 0, actor)
        return Credit(0, cut)
    status = AttendanceStatus.PRESENT if minutes == session.minutes else AttendanceStatus.LATE
    if attendance is None:
        db.session.add(
            Attendance(
                class_session_id=session.id,
                enrolment_id=enrolment.id,
                status=status,
                minutes=minutes,
                recorded_by_id=actor.id if actor else None,
                by_check_in=True,
            )
        )
    else:
        attendance.status, attendance.minutes = status, minutes
    credit_log(
        session, enrolment, log, minutes, actor, description=points_text(session, stay, points)
    )
    return Credit(minutes, cut)


def points_of(session: ClassSession) -> dict[int, CheckInPoint]:
    return {
        p.id: p
        for p in db.session.scalars(
            select(CheckInPoint)
            .where(CheckInPoint.class_session_id == session.id)
            .order_by(CheckInPoint.number)
        )
    }


@dataclass
class RosterRow:
    """One learner on the check-in roster: their name in the page's language, what their stay
    adds up to (worked out once, for a page refreshed every few seconds), and the minutes
    credited (None: no attendance recorded)."""

    enrolment_id: int
    name: str
    credited: int | None
    points: list[CheckInPoint]
    first_in_at: datetime | None
    last_out_at: datetime | None
    is_in: bool
    by_hand: bool

    @classmethod
    def of(
        cls, enrolment_id: int, name: str, stay: Stay, credited: int | None, points: list
    ) -> RosterRow:
        first, out = stay.first_in, stay.last_out
        return cls(
            enrolment_id,
            name,
            credited,
            points,
            first.at if first else None,
            out.at if out else None,
            stay.is_in,
            stay.by_hand,
        )


@dataclass
class Roster:
    rows: list[RosterRow]
    checked_in: int = 0
    still_in: int = 0

    def __post_init__(self) -> None:
        self.checked_in = sum(1 for r in self.rows if r.first_in_at is not None)
        self.still_in = sum(1 for r in self.rows if r.is_in)

    @property
    def checked_out(self) -> int:
        return self.checked_in - self.still_in


def roster(session: ClassSession, english: bool = False) -> Roster:
    """The session's roll (its active learners, and anyone already credited) with each
    learner's stay, in four statements whatever its size: those checked in first (latest
    first), then the rest in Thai order. Only the columns the roster shows are read."""
    points = points_of(session)
    stays = stays_of(session)
    credited: dict[int, int] = {
        enrolment_id: minutes
        for enrolment_id, minutes in db.session.execute(
            select(Attendance.enrolment_id, Attendance.minutes).where(
                Attendance.class_session_id == session.id
            )
        )
    }
    names = db.session.execute(
        select(Enrolment.id, Enrolment.status, User.full_name_th, User.full_name_en)
        .join(Enrolment.learner)
        .where(Enrolment.cohort_id == session.cohort_id)
        .order_by(thai_order(User.full_name_th))
    ).all()
    rows = []
    for enrolment_id, status, name_th, name_en in names:
        if status is not EnrolmentStatus.ACTIVE and enrolment_id not in credited:
            continue
        stay = stays.get(enrolment_id, Stay())
        visited = [points[i] for i in stay.point_ids if i in points]
        name = (name_en if english and name_en else name_th) or ""
        rows.append(RosterRow.of(enrolment_id, name, stay, credited.get(enrolment_id), visited))
    arrived = sorted(
        (r for r in rows if r.first_in_at is not None),
        key=lambda r: r.first_in_at or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    return Roster(arrived + [r for r in rows if r.first_in_at is None])
