"""Each person's calendar feed: a secret address from which a calendar app reads the sessions
of their cohorts (and a learner's last day of field practice), in their own language."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lca.core.audit import record
from lca.core.dates import programme_timezone
from lca.core.db import db, utcnow
from lca.models import (
    ClassSession,
    Enrolment,
    EnrolmentStatus,
    FieldWindowExtension,
    Role,
    User,
)
from lca.models.cohorts import cohorts_taught_by
from lca.web.addresses import public_url
from lca.web.i18n import hours_text, in_language, localized
from lca.web.pages import MAX_DATABASE_INT

# icalendar (9 MB of modules) is imported where a feed is written: only calendar apps ask
if TYPE_CHECKING:
    from icalendar import Event

#: characters of the address's signature kept: 32 base64url characters are 192 bits
TOKEN_LENGTH = 32


def feed_token(user: User) -> str:
    """The secret part of a person's feed address; renewing the address changes it."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"calendar-feed:{user.id}:{user.calendar_feed_version}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:TOKEN_LENGTH]


def feed_owner(user_id: int, token: str) -> User | None:
    """The active person whose current feed address this is, or None for every other
    address (no such person, a deactivated account, a wrong or renewed token)."""
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_DATABASE_INT else None
    if user is None or not user.is_active:
        return None
    given = token.encode("utf-8", "replace")
    return user if hmac.compare_digest(feed_token(user).encode(), given) else None


def feed_url(user: User) -> str:
    """The person's feed address on the public site (https, or http on a developer's machine)."""
    return f"{public_url()}/calendar/{user.id}/{feed_token(user)}.ics"


def webcal_url(user: User) -> str:
    """The same address with the webcal scheme, which opens a calendar app to subscribe."""
    parts = urlsplit(feed_url(user))
    return parts._replace(scheme="webcal").geturl()


def has_calendar(user: User) -> bool:
    """Learners and instructors have a feed of their sessions (an admin's would be empty)."""
    return user.role in (Role.LEARNER, Role.INSTRUCTOR)


def renew_calendar_feed(user: User) -> None:
    """A new feed address for the person; the old one stops working at once."""
    user.calendar_feed_version += 1
    record(user, "calendar_feed.renew", user, version=user.calendar_feed_version)
    db.session.flush()


def _sessions(user: User) -> list[ClassSession]:
    """A learner's sessions are those of the cohorts they study in now; anyone else's, those
    of the cohorts they teach (an administrator teaches none, usually)."""
    if user.role is Role.LEARNER:
        cohorts = select(Enrolment.cohort_id).where(
            Enrolment.learner_id == user.id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    else:
        cohorts = cohorts_taught_by(user.id)
    return list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.cohort_id.in_(cohorts))
            .options(joinedload(ClassSession.module), joinedload(ClassSession.cohort))
            .order_by(ClassSession.held_on, ClassSession.starts_at, ClassSession.id)
        )
    )


def _field_windows(user: User) -> list[tuple[Enrolment, int]]:
    """A learner's active enrolments, each with how often its last field day was changed."""
    if user.role is not Role.LEARNER:
        return []
    changes = (
        select(func.count())
        .where(FieldWindowExtension.enrolment_id == Enrolment.id)
        .correlate(Enrolment)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Enrolment, changes)
        .where(Enrolment.learner_id == user.id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .options(joinedload(Enrolment.cohort))
        .order_by(Enrolment.id)
    ).all()
    return [(enrolment, count or 0) for enrolment, count in rows]


def _session_event(session: ClassSession, host: str, link: str) -> Event:
    start = datetime.combine(session.held_on, session.starts_at, tzinfo=programme_timezone())
    from icalendar import Event

    module = session.module
    event = Event()
    event.add("uid", f"session-{session.id}@{host}")
    event.add("sequence", session.sequence)
    event.add("dtstamp", session.updated_at or utcnow())
    event.add("last-modified", session.updated_at or utcnow())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=session.minutes))
    title = f"{module.number}. {localized(module, 'title')} · {session.cohort.code}"
    lines = [
        _("Module %(number)s, %(hours)s.", number=module.number, hours=hours_text(session.minutes))
    ]
    if session.cancelled_at is not None:
        title = _("Cancelled: %(title)s", title=title)
        lines.insert(0, _("This session has been cancelled."))
    lines.append(_("Your hours and progress: %(link)s", link=link))
    event.add("summary", title)
    event.add("location", session.place)
    event.add("description", "\n".join(lines))
    event.add("url", link)
    event.add("status", "CANCELLED" if session.cancelled_at is not None else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def _field_window_event(enrolment: Enrolment, changes: int, host: str, link: str) -> Event:
    from icalendar import Event

    last_day: date = enrolment.field_window_ends_on
    event = Event()
    event.add("uid", f"field-window-{enrolment.id}@{host}")
    event.add("sequence", changes)  #: each change of the last day is a new version
    event.add("dtstamp", utcnow())
    event.add("dtstart", last_day)
    event.add("dtend", last_day + timedelta(days=1))
    event.add("summary", _("Last day of field practice · %(code)s", code=enrolment.cohort.code))
    event.add(
        "description",
        _(
            "Field hours count only when done by this day. Your hours and progress: %(link)s",
            link=link,
        ),
    )
    event.add("url", link)
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a deadline, not a busy day
    return event


def calendar_feed(user: User) -> bytes:
    """The person's feed as iCalendar text, in their preferred language: their sessions
    (cancelled ones kept, marked cancelled, so calendars update the same event) and, for a
    learner, the last day of each field window. Three statements, whatever the number."""
    from icalendar import Calendar

    base = public_url()
    host = urlsplit(base).hostname or "lca"
    link = f"{base}/"
    with in_language(user.preferred_language):  # the person's language, not the request's
        calendar = Calendar()
        calendar.add("prodid", "-//LCA//City Administrator sessions//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        name = _("LCA: my sessions")
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", programme_timezone().key)
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
        for session in _sessions(user):
            calendar.add_component(_session_event(session, host, link))
        for enrolment, changes in _field_windows(user):
            calendar.add_component(_field_window_event(enrolment, changes, host, link))
        calendar.add_missing_timezones()
        return calendar.to_ical()
