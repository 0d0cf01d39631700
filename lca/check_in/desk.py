"""The instructor's side of check-in: the session's points, the optional place check, marking a
learner by hand, closing and reopening check-in, and confirming the roster at the end."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from lca.check_in.scans import OPENS_BEFORE, Position
from lca.check_in.stays import (
    Stay,
    credit_stay,
    points_of,
    session_end,
    session_start,
    stays_of,
)
from lca.core.audit import record
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.hours.attendance import session_roll
from lca.hours.day_limit import lock_learner_days
from lca.models import CheckIn, CheckInPoint, ClassSession, Enrolment, ScanKind, User
from lca.models.hours import GEOFENCE_METRES

MAX_POINTS = 30  #: a festival's booths and talks, and then some


def ensure_points(session: ClassSession) -> list[CheckInPoint]:
    """The session's points; a session starts with one, named after its place."""
    points = list(points_of(session).values())
    if not points:
        point = CheckInPoint(class_session_id=session.id, number=1, name=session.place)
        db.session.add(point)
        db.session.flush()
        points = [point]
    return points


def add_point(session: ClassSession, name: str, actor: User) -> CheckInPoint:
    """Another point with its own code: a festival's booth or talk."""
    name = (name or "").strip()
    if not name:
        raise RuleError(_("Name the point, for example “Booth 3: waste banks”."), field="name")
    points = ensure_points(session)
    if len(points) >= MAX_POINTS:
        raise RuleError(_("A session has at most %(count)s check-in points.", count=MAX_POINTS))
    if any(p.name == name for p in points):
        raise RuleError(_("This session already has a point with that name."), field="name")
    number = (
        db.session.scalar(
            select(func.max(CheckInPoint.number)).where(CheckInPoint.class_session_id == session.id)
        )
        or 0
    ) + 1
    point = CheckInPoint(class_session_id=session.id, number=number, name=name)
    db.session.add(point)
    db.session.flush()
    record(actor, "check_in.point_add", session, point=number, name=name)
    return point


def set_place_check(
    session: ClassSession, position: Position | None, metres: int | None, actor: User
) -> None:
    """Ask (or stop asking) that a phone checking in be within ``metres`` of the place."""
    if metres is None or position is None:
        changes = {"geofence_metres": [session.geofence_metres, None]}
        session.latitude = session.longitude = session.geofence_metres = None
    else:
        if not position.is_valid:
            raise RuleError(
                _("Give the place as a latitude (-90 to 90) and a longitude (-180 to 180)."),
                field="latitude",
            )
        low, high = GEOFENCE_METRES
        if not low <= metres <= high:
            raise RuleError(
                _("The radius must be from %(low)s to %(high)s metres.", low=low, high=high),
                field="metres",
            )
        changes = {"geofence_metres": [session.geofence_metres, metres]}
        session.latitude, session.longitude = position.latitude, position.longitude
        session.geofence_metres = metres
    record(actor, "check_in.place_check", session, **changes)


def close_check_in(session: ClassSession, actor: User) -> None:
    if session.check_in_closed_at is not None:
        raise RuleError(_("Check-in is already closed."))
    session.check_in_closed_at = utcnow()
    record(actor, "check_in.close", session)


def reopen_check_in(session: ClassSession, actor: User) -> None:
    if session.check_in_closed_at is None:
        raise RuleError(_("Check-in is open."))
    if session.roster_confirmed_at is not None:
        raise RuleError(_("The roster has been confirmed: check-in stays closed."))
    session.check_in_closed_at = None
    record(actor, "check_in.reopen", session)


def mark_by_hand(session: ClassSession, enrolment_id: int, kind: ScanKind, actor: User) -> CheckIn:
    """The instructor checks a learner in or out now (someone without a phone), audited."""
    if session.cancelled_at is not None:
        raise RuleError(_("This session has been cancelled: there is nothing to check in to."))
    roll = {e.id: e for e, _attendance in session_roll(session)}
    enrolment = roll.get(enrolment_id)
    if enrolment is None:
        raise RuleError(_("Someone on the form is not a learner of this cohort."))
    now = utcnow()
    if now < session_start(session) - OPENS_BEFORE:
        raise RuleError(_("Check-in opens 30 minutes before the session starts."))
    lock_learner_days(enrolment.learner_id)
    stay = stays_of(session, enrolment.id).get(enrolment.id, Stay())
    name = enrolment.learner.full_name_th
    if kind is ScanKind.IN and stay.is_in:
        raise RuleError(_("%(name)s is already checked in.", name=name))
    if kind is ScanKind.OUT and not stay.is_in:
        raise RuleError(_("%(name)s is not checked in.", name=name))
    points = ensure_points(session)
    last = stay.last
    point_id = last.point_id if kind is ScanKind.OUT and last is not None else points[0].id
    event = CheckIn(
        class_session_id=session.id,
        point_id=point_id,
        enrolment_id=enrolment.id,
        kind=kind,
        at=now,
        recorded_by_id=actor.id,
    )
    db.session.add(event)
    stay.events.append(event)
    db.session.flush()
    record(actor, "check_in.by_hand", session, enrolment_id=enrolment.id, kind=kind.value)
    credit_stay(session, enrolment, stay, points_of(session), actor)
    return event


def roster_can_be_confirmed(session: ClassSession, now: datetime | None = None) -> bool:
    """Once the session has ended, or check-in is closed."""
    moment = now or utcnow()
    return session.check_in_closed_at is not None or moment >= session_end(session)


def confirm_roster(session: ClassSession, actor: User) -> int:
    """The learners still checked in stayed to the end: each is credited the session's hours.
    Returns how many were."""
    if session.roster_confirmed_at is not None:
        raise RuleError(_("The roster has already been confirmed."))
    if not roster_can_be_confirmed(session):
        raise RuleError(
            _(
                "The roster can be confirmed once the session has ended or check-in is "
                "closed: until then, learners are still checking out."
            )
        )
    session.roster_confirmed_at = utcnow()
    points = points_of(session)
    enrolments = {
        e.id: e
        for e in db.session.scalars(
            select(Enrolment).where(Enrolment.cohort_id == session.cohort_id)
        )
    }
    confirmed = 0
    for enrolment_id, stay in stays_of(session).items():
        if stay.is_in and enrolment_id in enrolments:
            credit_stay(session, enrolments[enrolment_id], stay, points, actor)
            confirmed += 1
    record(actor, "check_in.confirm_roster", session, learners=confirmed)
    return confirmed
