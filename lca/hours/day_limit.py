"""A learner's day holds at most 12 hours, across all their logs and attendance credits.

Counted: logs waiting for review, returned with a question, and approved (attendance credits
are approved logs of their own); not rejected or withdrawn ones. A learner in two cohorts has
one day, so every enrolment of the learner counts.

Two submissions at once cannot both slip under the limit: on PostgreSQL the learner's row is
locked (``SELECT … FOR UPDATE``) before the day is summed, so the second waits for the first to
commit and then sees its hours; on SQLite, which has one writer at a time, the database's write
lock is taken before the day is summed, to the same effect.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, text

from lca.core.dates import format_day
from lca.core.db import db
from lca.core.errors import RuleError
from lca.models import Enrolment, HourLog, LogStatus, User
from lca.models.hours import MAX_MINUTES_PER_LOG
from lca.web.i18n import minutes_as_hours

MAX_MINUTES_PER_DAY = MAX_MINUTES_PER_LOG  #: 12 hours: a log holds at most one day's worth
#: the states whose hours a day holds
COUNTED_STATES = (LogStatus.PENDING, LogStatus.RETURNED, LogStatus.APPROVED)


def lock_learner_days(learner_id: int) -> None:
    """Until this transaction ends, no other one adds hours to this learner's days."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite locks the whole database for writing; a write that changes nothing takes
        # that lock now, so another transaction waits here instead of reading a stale day.
        # Not of the key: writing a key makes SQLite check every table that refers to users.
        db.session.execute(
            text("UPDATE users SET is_active = is_active WHERE id = :id"), {"id": learner_id}
        )
    else:
        db.session.execute(select(User.id).where(User.id == learner_id).with_for_update())


#: built once, with parameters (every log sent or changed asks, twice): a statement keeps its
#: cache key with it
_MINUTES_ON_DAY = (
    select(func.coalesce(func.sum(HourLog.minutes), 0))
    .join(HourLog.enrolment)
    .where(
        Enrolment.learner_id == bindparam("learner_id"),
        HourLog.worked_on == bindparam("day"),
        HourLog.status.in_(COUNTED_STATES),
    )
)
_MINUTES_ON_DAY_EXCLUDING = _MINUTES_ON_DAY.where(
    HourLog.id.not_in(bindparam("excluded", expanding=True))
)


def minutes_on_day(learner_id: int, day: date, excluding: Iterable[int] = ()) -> int:
    """The minutes a learner's day holds, leaving out the logs ``excluding`` (by id)."""
    params: dict[str, object] = {"learner_id": learner_id, "day": day}
    excluded = [i for i in excluding if i is not None]
    if excluded:
        return int(
            db.session.scalar(_MINUTES_ON_DAY_EXCLUDING, params | {"excluded": excluded}) or 0
        )
    return int(db.session.scalar(_MINUTES_ON_DAY, params) or 0)


def check_day_limit(
    learner_id: int,
    day: date,
    minutes: int,
    replacing: HourLog | None = None,
    name: str | None = None,
    field: str | None = "hours",
    lock: bool = True,
) -> None:
    """``minutes`` more on ``day`` (in place of ``replacing``, a log being changed) keep the
    learner's day at 12 hours at most. A change that adds nothing to a day already over the
    limit (a corrected description) is let through; anything that adds hours is refused.
    ``name``: the learner's name, when someone else credits the hours (attendance).
    ``lock=False`` only reads (a form's first look); the write checks again under the lock."""
    if lock:
        lock_learner_days(learner_id)
    held = minutes_on_day(learner_id, day, excluding=[replacing.id] if replacing else [])
    if held + minutes <= MAX_MINUTES_PER_DAY:
        return
    if (
        replacing is not None
        and replacing.status in COUNTED_STATES
        and replacing.worked_on == day
        and minutes <= replacing.minutes
    ):
        return  # the day holds no more than it did
    values = {
        "day": format_day(day),
        "held": minutes_as_hours(held),
        "limit": MAX_MINUTES_PER_DAY // 60,
        "left": minutes_as_hours(max(MAX_MINUTES_PER_DAY - held, 0)),
    }
    if name is not None:
        message = _(
            "%(name)s: %(day)s already holds %(held)s hours of other logs, and a day holds at "
            "most %(limit)s hours: credit at most %(left)s hours (mark the learner late), or ask "
            "them to correct their logs of that day.",
            name=name,
            **values,
        )
    elif held < MAX_MINUTES_PER_DAY:
        message = _(
            "%(day)s already holds %(held)s hours of your logs and attendance; a day holds at "
            "most %(limit)s hours, so you can add at most %(left)s more for that day.",
            **values,
        )
    else:
        message = _(
            "%(day)s already holds %(held)s hours of your logs and attendance; a day holds at "
            "most %(limit)s hours, so no more can be added for that day.",
            **values,
        )
    raise RuleError(message, field=field)
