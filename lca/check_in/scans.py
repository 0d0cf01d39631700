"""A learner's scan of a check-in point's code: the rules that make it a check-in, a check-out
or a refusal with its reason.

Refused: a code not made by the point (forged), older than the step before the current one
(expired: a photo of an earlier code), a code of a session that is cancelled or whose check-in
is closed, a scan outside the session's time (from 30 minutes before its start to its end; a
check-out is still taken up to 30 minutes after the end, the stay being capped at the
session's length anyway), a staff account, a learner who is not an active learner of the
session's cohort, a code already used for the same learner from another signed-in device in
the same 30 seconds, and a code that the learner checked out with (to check in again, the next
code is needed). A session may also ask that the phone be within a radius of its place; the
position is used for that answer only and never kept.

Two scans of the same code by the same learner, even at the same moment, make one check-in:
the learner's rows are locked while the scan is decided, and the database holds one check-in
per learner, point, direction and code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from lca.check_in.codes import current_step, is_fresh, is_signed, read_code
from lca.check_in.stays import (
    Credit,
    Stay,
    credit_stay,
    points_of,
    session_end,
    session_start,
    stays_of,
)
from lca.core.dates import format_day
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.hours.day_limit import lock_learner_days
from lca.models import (
    CheckIn,
    CheckInPoint,
    ClassSession,
    Enrolment,
    EnrolmentStatus,
    Role,
    ScanKind,
    User,
)
from lca.web.pages import MAX_DATABASE_INT

#: how long a scan waits for the learner to sign in (or to press "Check out")
SCAN_KEEPS = timedelta(minutes=10)
#: check-in opens this long before the session starts
OPENS_BEFORE = timedelta(minutes=30)
#: a check-out is still taken this long after the end (the stay is capped at the session)
CHECK_OUT_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Scan:
    """A code the server has checked, and when it was scanned (the server's time)."""

    point: CheckInPoint
    step: int
    at: datetime

    @property
    def session(self) -> ClassSession:
        return self.point.class_session


@dataclass(frozen=True)
class Position:
    """Where the phone says it is, in degrees (never stored)."""

    latitude: float
    longitude: float

    @property
    def is_valid(self) -> bool:
        return (
            math.isfinite(self.latitude)
            and math.isfinite(self.longitude)
            and -90 <= self.latitude <= 90
            and -180 <= self.longitude <= 180
        )


def metres_between(a: Position, b: Position) -> float:
    """The great-circle distance (haversine, mean Earth radius)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


def not_a_code() -> RuleError:
    return RuleError(
        _(
            "This is not a check-in code of LCA. Scan the code on the session's screen with "
            "your phone's camera."
        )
    )


def read_scan(text: str, at: datetime | None = None) -> Scan:
    """The scan of a code from a link, checked now: made by its point, and fresh."""
    code = read_code(text)
    if code is None or not 0 < code.point_id <= MAX_DATABASE_INT:
        raise not_a_code()
    point = db.session.get(CheckInPoint, code.point_id)
    if point is None or not is_signed(point, code):
        raise not_a_code()
    now_step = current_step()
    if code.step < now_step - 1:
        raise RuleError(
            _(
                "This code has expired: the code on the screen changes every 30 seconds. "
                "Scan the code on the screen now."
            )
        )
    if not is_fresh(code, now_step):
        raise not_a_code()
    return Scan(point, code.step, at or utcnow())


def scan_from(point_id: int, step: int, at: datetime) -> Scan | None:
    """A scan carried to the check-in page, while it is still good (SCAN_KEEPS)."""
    if not 0 < point_id <= MAX_DATABASE_INT or not timedelta(0) <= utcnow() - at <= SCAN_KEEPS:
        return None
    point = db.session.get(CheckInPoint, point_id)
    return Scan(point, step, at) if point is not None else None


def active_enrolment(session: ClassSession, user: User) -> Enrolment | None:
    """The user's active enrolment in the session's cohort, if they have one."""
    return db.session.scalar(
        select(Enrolment).where(
            Enrolment.cohort_id == session.cohort_id,
            Enrolment.learner_id == user.id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
    )


def learner_enrolment(session: ClassSession, user: User) -> Enrolment:
    """The user's active enrolment in the session's cohort, or the reason there is none."""
    if user.role is not Role.LEARNER:
        raise RuleError(
            _(
                "Check-in is for learners. Staff mark a learner by hand on the session's "
                "check-in roster."
            )
        )
    enrolment = active_enrolment(session, user)
    if enrolment is None:
        raise RuleError(
            _(
                "You are not a learner of %(cohort)s, the cohort of this session: the check-in "
                "was not made. If you are in another cohort, scan your own session's code.",
                cohort=session.cohort.code,
            )
        )
    return enrolment


def _check_session_open(session: ClassSession, at: datetime, kind: ScanKind) -> None:
    if session.cancelled_at is not None:
        raise RuleError(_("This session has been cancelled: there is nothing to check in to."))
    if session.check_in_closed_at is not None:  # closed now: a scan waiting on sign-in too
        raise RuleError(
            _("Check-in for this session has been closed. Ask the instructor to mark you.")
        )
    start, end = session_start(session), session_end(session)
    opens = start - OPENS_BEFORE
    closes = end + (CHECK_OUT_AFTER if kind is ScanKind.OUT else timedelta(0))
    if at < opens:
        raise RuleError(
            _(
                "Check-in opens 30 minutes before the session starts, at %(time)s on %(day)s.",
                time=opens.strftime("%H:%M"),
                day=format_day(session.held_on),
            )
        )
    if at > closes:
        raise RuleError(
            _(
                "This session ended at %(time)s on %(day)s: check-in is over.",
                time=end.strftime("%H:%M"),
                day=format_day(session.held_on),
            )
        )


def _check_place(session: ClassSession, position: Position | None) -> str | None:
    """ "inside" when the session asks where the phone is and it is within the radius."""
    if session.geofence_metres is None or session.latitude is None or session.longitude is None:
        return None
    if position is None or not position.is_valid:
        raise RuleError(
            _(
                "This session checks that you are at its place: allow your phone to share "
                "its location for this check-in (it is used only to tell whether you are "
                "there, and is not kept), then try again."
            )
        )
    distance = metres_between(position, Position(session.latitude, session.longitude))
    if distance > session.geofence_metres:
        raise RuleError(
            _(
                "Your phone is about %(distance)s metres from the session's place; check-in "
                "needs you within %(radius)s metres. Check in when you are there.",
                distance=f"{round(distance):,}",
                radius=f"{session.geofence_metres:,}",
            )
        )
    return "inside"


def _check_device(stay: Stay, scan: Scan, user_session_id: int | None) -> None:
    for event in stay.events:
        if (
            event.step == scan.step
            and event.point_id == scan.point.id
            and event.user_session_id != user_session_id
        ):
            raise RuleError(
                _(
                    "This code has just been used for your account on another device. Scan "
                    "the code on the screen with the phone you checked in with."
                )
            )


@dataclass
class Outcome:
    """What a scan did."""

    kind: ScanKind | None  #: None: nothing new (already checked in here)
    event: CheckIn | None
    stay: Stay
    credit: Credit | None = None


def next_direction(scan: Scan, user: User, user_session_id: int | None) -> ScanKind:
    """What this learner's scan would do now: check in, or (checked in at this point) out."""
    session = scan.session
    enrolment = learner_enrolment(session, user)
    stay = stays_of(session, enrolment.id).get(enrolment.id, Stay())
    _check_device(stay, scan, user_session_id)
    last = stay.last
    if stay.is_in and last is not None and last.point_id == scan.point.id:
        return ScanKind.OUT
    return ScanKind.IN


def check_in(
    scan: Scan, user: User, user_session_id: int | None, position: Position | None = None
) -> Outcome:
    """Check the learner in at the scanned point (at another point of the session, they are
    checked out there at the same moment: a festival's visitor moving on)."""
    session = scan.session
    enrolment = learner_enrolment(session, user)
    _check_session_open(session, scan.at, ScanKind.IN)
    location = _check_place(session, position)
    lock_learner_days(user.id)
    stay = stays_of(session, enrolment.id).get(enrolment.id, Stay())
    _check_device(stay, scan, user_session_id)
    last = stay.last
    if stay.is_in and last is not None and last.point_id == scan.point.id:
        return Outcome(None, last, stay)  # scanned twice: one check-in
    if any(
        e.kind is ScanKind.OUT and e.point_id == scan.point.id and (e.step or 0) >= scan.step
        for e in stay.events
    ):
        raise RuleError(
            _(
                "You checked out with this code. To check in again, scan the code on the "
                "screen once it has changed."
            )
        )
    if stay.is_in and last is not None:
        stay.events.append(_event(scan, enrolment, ScanKind.OUT, user_session_id, last.point_id))
    event = _event(scan, enrolment, ScanKind.IN, user_session_id, scan.point.id, location)
    stay.events.append(event)
    db.session.flush()
    credit = credit_stay(session, enrolment, stay, points_of(session), None)
    return Outcome(ScanKind.IN, event, stay, credit)


def check_out(scan: Scan, user: User, user_session_id: int | None) -> Outcome:
    """Check the learner out: their stay is credited (first check-in to this check-out)."""
    session = scan.session
    enrolment = learner_enrolment(session, user)
    _check_session_open(session, scan.at, ScanKind.OUT)
    lock_learner_days(user.id)
    stay = stays_of(session, enrolment.id).get(enrolment.id, Stay())
    _check_device(stay, scan, user_session_id)
    if not stay.is_in:
        raise RuleError(
            _("You are not checked in at this session: scan the code to check in first.")
        )
    event = _event(scan, enrolment, ScanKind.OUT, user_session_id, scan.point.id)
    stay.events.append(event)
    db.session.flush()
    credit = credit_stay(session, enrolment, stay, points_of(session), None)
    return Outcome(ScanKind.OUT, event, stay, credit)


def _event(
    scan: Scan,
    enrolment: Enrolment,
    kind: ScanKind,
    user_session_id: int | None,
    point_id: int,
    location: str | None = None,
) -> CheckIn:
    event = CheckIn(
        class_session_id=scan.session.id,
        point_id=point_id,
        enrolment_id=enrolment.id,
        kind=kind,
        at=scan.at,
        step=scan.step,
        user_session_id=user_session_id,
        location=location,
    )
    db.session.add(event)
    return event
