"""The notices the calendar brings: each instructor's and administrator's daily digest and the
field-window reminders, written once per day per person (a unique key per message), however
many workers run.

Each notice has its ``dedupe_key``; it is inserted in a savepoint of its own, so a second run
(or a second worker at the same moment, which waits on the unique index and then finds the key
taken) writes nothing more. Keys are inserted in one sorted order, so two workers never wait on
each other in a circle."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lca.assessment.queue import reports_for
from lca.certificates.services import cohorts_with_certificates_to_issue
from lca.core.dates import programme_timezone
from lca.core.db import db
from lca.core.outbox import record_message
from lca.hours.progress import progress_of
from lca.hours.queue import review_queue
from lca.models import (
    Cohort,
    EmailStatus,
    Enrolment,
    EnrolmentStatus,
    LogStatus,
    Message,
    MessageKind,
    ReportStatus,
    Role,
    User,
)

#: days before the field window closes when its learner is reminded
REMINDER_DAYS = (30, 7)
#: how many waiting items a digest names per cohort (it counts them all)
ITEMS_PER_COHORT = 5
#: how many failed deliveries an administrator's digest names (it counts them all)
FAILURES_LISTED = 10
_PAGE = 200
#: how often a worker looks again for the day's notices not yet written
RECHECK_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Notice:
    """A message to write unless its key is taken."""

    key: str
    recipient: User
    kind: MessageKind
    link: str
    params: dict[str, Any]
    about: Any = None


def digest_moment_passed(now: datetime | None = None) -> bool:
    """Digests and reminders are written from LCA_DIGEST_HOUR, programme time."""
    moment = (now or datetime.now(programme_timezone())).astimezone(programme_timezone())
    return moment.hour >= int(current_app.config["LCA_DIGEST_HOUR"])


def record_due_notices(today: date | None = None, *, now: datetime | None = None) -> int:
    """Write the digests and reminders due today that are not written yet; how many. Nothing
    before LCA_DIGEST_HOUR programme time (``now``, the clock by default); ``today`` names the
    day outright (an operator's or a test's run), whatever the hour."""
    if today is None:
        moment = (now or datetime.now(programme_timezone())).astimezone(programme_timezone())
        if not digest_moment_passed(moment) or _checked_lately(moment):
            return 0
        today = moment.date()
    notices = [*instructor_digests(today), *admin_digests(today), *window_reminders(today)]
    return write_once(notices)


def _checked_lately(moment: datetime) -> bool:
    """Whether this process looked a moment ago (the worker's round is seconds; the day's
    notices need a look every few minutes, for what came in after the first look)."""
    last = current_app.extensions.get("lca_notices_checked_at")
    if last is not None and last.date() == moment.date() and moment - last < RECHECK_EVERY:
        return True
    current_app.extensions["lca_notices_checked_at"] = moment
    return False


def write_once(notices: list[Notice]) -> int:
    """Write each notice whose key is free, each in its own savepoint; how many were written."""
    if not notices:
        return 0
    keys = [notice.key for notice in notices]
    taken = set(db.session.scalars(select(Message.dedupe_key).where(Message.dedupe_key.in_(keys))))
    written = 0
    for notice in sorted(notices, key=lambda n: n.key):
        if notice.key in taken:
            continue
        try:
            with db.session.begin_nested():
                record_message(
                    notice.recipient,
                    notice.kind,
                    link=notice.link,
                    about=notice.about,
                    dedupe_key=notice.key,
                    **notice.params,
                )
                db.session.flush()
        except IntegrityError:
            continue  # another worker wrote it a moment ago
        written += 1
    return written


def _recipients(role: Role) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == role, User.is_active.is_(True), User.wants_digests.is_(True))
            .order_by(User.id)
        )
    )


def _all_pages(fetch: Callable[[int], Any]) -> Iterator[Any]:
    """Every row of a paginated query, page after page."""
    page = 1
    while True:
        pagination = fetch(page)
        yield from pagination.items
        if not pagination.has_next:
            return
        page += 1


def _name(user: User) -> dict[str, str]:
    return {"th": user.full_name_th, "en": user.full_name_en or user.full_name_th}


def _on(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored in UTC
    return moment.astimezone(programme_timezone()).date().isoformat()


def waiting_for(instructor: User) -> list[dict[str, Any]]:
    """What waits for an instructor, per cohort they teach, the cohort waiting longest first:
    the logs to review and the field reports to grade (the review queues' own queries)."""
    cohorts: dict[int, dict[str, Any]] = {}

    def entry(cohort: Cohort) -> dict[str, Any]:
        return cohorts.setdefault(
            cohort.id,
            {"code": cohort.code, "cohort_id": cohort.id, "logs": 0, "reports": 0, "items": []},
        )

    logs = _all_pages(
        lambda page: review_queue(
            instructor,
            cohort_id=None,
            module_id=None,
            status=LogStatus.PENDING,
            page=page,
            per_page=_PAGE,
        )
    )
    for log in logs:
        row = entry(log.enrolment.cohort)
        row["logs"] += 1
        row["items"].append(
            {
                "what": "log",
                "since": _on(log.submitted_at),
                "learner": _name(log.enrolment.learner),
                "module_number": log.module.number,
                "minutes": log.minutes,
            }
        )
    reports = _all_pages(
        lambda page: reports_for(
            instructor, status=ReportStatus.SUBMITTED, cohort_id=None, page=page, per_page=_PAGE
        )
    )
    for report in reports:
        row = entry(report.enrolment.cohort)
        row["reports"] += 1
        row["items"].append(
            {
                "what": "report",
                "since": _on(report.submitted_at),
                "learner": _name(report.enrolment.learner),
            }
        )
    for row in cohorts.values():
        row["items"].sort(key=lambda item: item["since"] or "")
        row["oldest"] = row["items"][0]["since"] if row["items"] else None
        row["items"] = row["items"][:ITEMS_PER_COHORT]
    return sorted(cohorts.values(), key=lambda row: (row["oldest"] or "", row["code"]))


def instructor_digests(today: date) -> list[Notice]:
    """One digest a day for each instructor for whom something waits."""
    notices = []
    for instructor in _recipients(Role.INSTRUCTOR):
        cohorts = waiting_for(instructor)
        if not cohorts:
            continue
        notices.append(
            Notice(
                key=f"instructor_digest:{instructor.id}:{today.isoformat()}",
                recipient=instructor,
                kind=MessageKind.INSTRUCTOR_DIGEST,
                link="hours.queue",
                params={
                    "day": today.isoformat(),
                    "logs": sum(row["logs"] for row in cohorts),
                    "reports": sum(row["reports"] for row in cohorts),
                    "cohorts": cohorts,
                },
            )
        )
    return notices


def failed_since(since: datetime | None) -> list[Message]:
    """Messages that could not be delivered (for good) at or after ``since``, newest first: a
    failed message's last attempt was due at its ``next_attempt_at``."""
    query = (
        select(Message)
        .where(Message.email_status == EmailStatus.FAILED)
        .options(joinedload(Message.recipient))
        .order_by(Message.next_attempt_at.desc(), Message.id.desc())
    )
    if since is not None:
        query = query.where(Message.next_attempt_at >= since)
    return list(db.session.scalars(query))


def _last_digest_at(admin: User) -> datetime | None:
    return db.session.scalar(
        select(Message.created_at)
        .where(Message.recipient_id == admin.id, Message.kind == MessageKind.ADMIN_DIGEST)
        .order_by(Message.created_at.desc())
        .limit(1)
    )


def admin_digests(today: date) -> list[Notice]:
    """A digest for each administrator, when learners are eligible without a certificate or
    messages failed since their last digest (the last week for a first one)."""
    admins = _recipients(Role.ADMIN)
    if not admins:
        return []
    eligible = [
        {"code": cohort.code, "cohort_id": cohort.id, "learners": count}
        for cohort, count in sorted(cohorts_with_certificates_to_issue(), key=lambda p: p[0].code)
    ]
    first_since = datetime.combine(today - timedelta(days=7), time(), programme_timezone())
    notices = []
    for admin in admins:
        failed = failed_since(_last_digest_at(admin) or first_since)
        if not eligible and not failed:
            continue
        notices.append(
            Notice(
                key=f"admin_digest:{admin.id}:{today.isoformat()}",
                recipient=admin,
                kind=MessageKind.ADMIN_DIGEST,
                # the deliveries page when only failures wait, else the home that has both
                link="admin.messages" if failed and not eligible else "admin.index",
                params={
                    "day": today.isoformat(),
                    "eligible": eligible,
                    "eligible_learners": sum(row["learners"] for row in eligible),
                    "failed": len(failed),
                    "failures": [
                        {
                            "to": message.recipient.email,
                            "name": _name(message.recipient),
                            "on": _on(message.next_attempt_at),
                            "error": (message.last_error or "")[:200],
                        }
                        for message in failed[:FAILURES_LISTED]
                    ],
                },
            )
        )
    return notices


def reminder_threshold(days_left: int) -> int | None:
    """The reminder a window that closes in ``days_left`` days is due (30, then 7), if any: a
    worker that was down on the day still sends it on the next."""
    if days_left < 0:
        return None
    due = [days for days in REMINDER_DAYS if days_left <= days]
    return min(due) if due else None


def window_reminders(today: date) -> list[Notice]:
    """For each active enrolment whose field window closes within 30 (then 7) days while its
    field hours are missing or its field report has not passed: one reminder to its learner per
    threshold (and per last day, so an extended window is reminded again)."""
    last = today + timedelta(days=max(REMINDER_DAYS))
    enrolments = list(
        db.session.scalars(
            select(Enrolment)
            .join(Enrolment.cohort)
            .join(Enrolment.learner)
            .where(
                Enrolment.status == EnrolmentStatus.ACTIVE,
                Enrolment.field_window_ends_on >= today,
                Enrolment.field_window_ends_on <= last,
                User.is_active.is_(True),
                User.wants_reminders.is_(True),
            )
            .options(joinedload(Enrolment.cohort), joinedload(Enrolment.learner))
            .order_by(Enrolment.id)
        )
    )
    notices = []
    for progress in progress_of(enrolments):
        enrolment = progress.enrolment
        ends_on = enrolment.field_window_ends_on
        threshold = reminder_threshold((ends_on - today).days)
        field = next((row for row in progress.modules if row.module.is_field), None)
        missing_minutes = field.remaining_minutes if field is not None else 0
        report = progress.report_status
        if threshold is None or (missing_minutes == 0 and report is ReportStatus.PASSED):
            continue
        notices.append(
            Notice(
                key=f"window_reminder:{enrolment.id}:{ends_on.isoformat()}:{threshold}",
                recipient=enrolment.learner,
                kind=MessageKind.WINDOW_REMINDER,
                link="home.learner",
                about=enrolment,
                params={
                    "cohort": enrolment.cohort.code,
                    "ends_on": ends_on.isoformat(),
                    "days_left": (ends_on - today).days,
                    "threshold": threshold,
                    "missing_minutes": missing_minutes,
                    "report": report.value if report is not None else None,
                },
            )
        )
    return notices
