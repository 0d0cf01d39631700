"""Cohorts: creating and changing them, their instructors, enrolling and withdrawing learners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lca.cohorts.field_window import refresh_field_windows
from lca.core.audit import apply_changes, record
from lca.core.collation import thai_order
from lca.core.dates import format_day
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.curriculum.services import current_version
from lca.models import (
    City,
    Cohort,
    CurriculumVersion,
    Enrolment,
    EnrolmentStatus,
    HourLog,
    LogSource,
    LogStatus,
    Role,
    User,
    cohort_instructors,
)
from lca.models.cohorts import MAX_FIELD_WINDOW_MONTHS, cohorts_taught_by


@dataclass
class CohortPlan:
    """What an administrator types about a cohort."""

    code: str
    host_city: City
    starts_on: date
    ends_on: date
    field_starts_on: date
    field_window_months: int
    #: the curriculum a new cohort follows (None: the current one); a cohort moves to another
    #: only with lca.cohorts.curriculum_move
    curriculum_version: CurriculumVersion | None = None


def check_cohort_plan(plan: CohortPlan, cohort: Cohort | None = None) -> None:
    """A cohort's code is unique, it ends on or after its start, and field work starts within it."""
    taken = select(Cohort.id).where(func.upper(Cohort.code) == plan.code.upper())
    if cohort is not None:
        taken = taken.where(Cohort.id != cohort.id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise RuleError(_("Another cohort already has this code."), field="code")
    if plan.ends_on < plan.starts_on:
        raise RuleError(_("The cohort cannot end before it starts."), field="ends_on")
    if plan.field_starts_on < plan.starts_on:
        raise RuleError(
            _(
                "Field practice cannot start before the cohort starts (%(date)s).",
                date=format_day(plan.starts_on),
            ),
            field="field_starts_on",
        )
    if plan.field_starts_on > plan.ends_on:
        raise RuleError(
            _(
                "Field practice must start by the cohort's last day (%(date)s).",
                date=format_day(plan.ends_on),
            ),
            field="field_starts_on",
        )
    if not 1 <= plan.field_window_months <= MAX_FIELD_WINDOW_MONTHS:
        raise RuleError(
            _(
                "The field window is from %(min)d to %(max)d months.",
                min=1,
                max=MAX_FIELD_WINDOW_MONTHS,
            ),
            field="field_window_months",
        )


def create_cohort(plan: CohortPlan, actor: User) -> Cohort:
    """Open a new cohort."""
    check_cohort_plan(plan)
    version = plan.curriculum_version or current_version()
    if version is None:
        raise RuleError(_("There is no curriculum yet: load it with flask lca seed first."))
    cohort = Cohort(
        curriculum_version=version,
        code=plan.code.upper(),
        host_city=plan.host_city,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        field_starts_on=plan.field_starts_on,
        field_window_months=plan.field_window_months,
    )
    db.session.add(cohort)
    db.session.flush()
    record(actor, "cohort.create", cohort, code=cohort.code, curriculum=version.number)
    return cohort


def update_cohort(cohort: Cohort, plan: CohortPlan, actor: User) -> None:
    """Change a cohort's code, host city, dates or field window."""
    check_cohort_plan(plan, cohort)
    wanted = {
        "code": plan.code.upper(),
        "host_city_id": plan.host_city.id,
        "starts_on": plan.starts_on,
        "ends_on": plan.ends_on,
        "field_starts_on": plan.field_starts_on,
        "field_window_months": plan.field_window_months,
    }
    changes = apply_changes(cohort, wanted)
    if {"field_starts_on", "field_window_months"} & set(changes):
        refresh_field_windows(cohort)
    if "host_city_id" in changes:
        cohort.host_city = plan.host_city
    if changes:
        record(actor, "cohort.update", cohort, changes=changes)
    db.session.flush()


def assign_instructor(cohort: Cohort, instructor: User, actor: User | None) -> None:
    """Make an active instructor one of the cohort's instructors."""
    if instructor.role is not Role.INSTRUCTOR or not instructor.is_active:
        raise RuleError(_("Choose an active instructor."), field="instructor_id")
    if instructor.id in instructor_ids(cohort):
        raise RuleError(
            _("This instructor is already assigned to the cohort."), field="instructor_id"
        )
    db.session.execute(
        cohort_instructors.insert().values(
            cohort_id=cohort.id, instructor_id=instructor.id, assigned_at=utcnow()
        )
    )
    record(actor, "cohort.assign_instructor", cohort, instructor_id=instructor.id)
    db.session.flush()


def unassign_instructor(cohort: Cohort, instructor: User, actor: User) -> None:
    """Take an instructor off a cohort."""
    if instructor.id not in instructor_ids(cohort):
        raise RuleError(_("This instructor is not assigned to the cohort."))
    db.session.execute(
        cohort_instructors.delete().where(
            cohort_instructors.c.cohort_id == cohort.id,
            cohort_instructors.c.instructor_id == instructor.id,
        )
    )
    record(actor, "cohort.unassign_instructor", cohort, instructor_id=instructor.id)
    db.session.flush()


def instructor_ids(cohort: Cohort) -> set[int]:
    query = select(cohort_instructors.c.instructor_id).where(
        cohort_instructors.c.cohort_id == cohort.id
    )
    return set(db.session.scalars(query))


def find_learner(email: str) -> User:
    """The active learner with this e-mail address, or a message saying what is wrong."""
    learner = db.session.scalar(select(User).where(User.email == email.lower()))
    if learner is None:
        raise RuleError(_("No account has this e-mail address."), field="email")
    if not learner.is_learner:
        raise RuleError(_("This account is not a learner's."), field="email")
    if not learner.is_active:
        raise RuleError(_("This account is inactive."), field="email")
    return learner


def enrol_learner(cohort: Cohort, learner: User, actor: User | None) -> Enrolment:
    """Enrol a learner once per cohort; enrolling a withdrawn learner again re-activates them."""
    if not learner.is_learner or not learner.is_active:
        raise RuleError(_("Only an active learner can be enrolled."), field="email")
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.cohort_id == cohort.id, Enrolment.learner_id == learner.id
        )
    )
    if enrolment is not None and enrolment.status is not EnrolmentStatus.WITHDRAWN:
        raise RuleError(_("This learner is already enrolled in the cohort."), field="email")
    if enrolment is None:
        # by ids, in a savepoint: after a clash the session still works (for the message),
        # and no collection of the cohort holds the enrolment that was not saved
        enrolment = Enrolment(cohort_id=cohort.id, learner_id=learner.id)
        try:
            with db.session.begin_nested():
                db.session.add(enrolment)
        except IntegrityError as error:  # another administrator enrolled them a moment ago
            raise RuleError(
                _("This learner is already enrolled in the cohort."), field="email"
            ) from error
        record(actor, "enrolment.create", enrolment, cohort_id=cohort.id, learner_id=learner.id)
    else:
        enrolment.status = EnrolmentStatus.ACTIVE
        enrolment.withdrawn_at = None
        enrolment.withdrawal_reason = None
        record(actor, "enrolment.reinstate", enrolment)
    db.session.flush()
    return enrolment


def withdraw_enrolment(enrolment: Enrolment, reason: str, actor: User) -> None:
    """Withdraw an active learner from a cohort, keeping the reason."""
    if enrolment.status is not EnrolmentStatus.ACTIVE:
        raise RuleError(_("Only an active enrolment can be withdrawn."))
    if not reason:
        raise RuleError(_("Give the reason for the withdrawal."), field="reason")
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.withdrawn_at = utcnow()
    enrolment.withdrawal_reason = reason
    record(actor, "enrolment.withdraw", enrolment, reason=reason)
    db.session.flush()


def list_cohorts(user: User) -> list[tuple[Cohort, int, int]]:
    """Cohorts with their number of active learners and of logs waiting for review: all for
    admins, an instructor's own."""
    active = (
        select(Enrolment.cohort_id, func.count().label("learners"))
        .where(Enrolment.status == EnrolmentStatus.ACTIVE)
        .group_by(Enrolment.cohort_id)
        .subquery()
    )
    waiting = (
        select(Enrolment.cohort_id, func.count().label("logs"))
        .join(HourLog, HourLog.enrolment_id == Enrolment.id)
        .where(HourLog.status == LogStatus.PENDING, HourLog.source == LogSource.LEARNER)
        .group_by(Enrolment.cohort_id)
        .subquery()
    )
    query = (
        select(Cohort, func.coalesce(active.c.learners, 0), func.coalesce(waiting.c.logs, 0))
        .outerjoin(active, active.c.cohort_id == Cohort.id)
        .outerjoin(waiting, waiting.c.cohort_id == Cohort.id)
        .options(joinedload(Cohort.host_city), joinedload(Cohort.curriculum_version))
        .order_by(Cohort.starts_on.desc(), thai_order(Cohort.code))
    )
    if not user.is_admin:
        query = query.where(Cohort.id.in_(cohorts_taught_by(user.id)))
    return [tuple(row) for row in db.session.execute(query)]


def cohort_roster(cohort: Cohort) -> list[Enrolment]:
    """The cohort's enrolments with their learners and cities, active first, by Thai name."""
    query = (
        select(Enrolment)
        .join(Enrolment.learner)
        .where(Enrolment.cohort_id == cohort.id)
        .options(joinedload(Enrolment.learner).joinedload(User.city), joinedload(Enrolment.cohort))
        .order_by(Enrolment.status, thai_order(User.full_name_th))
    )
    return list(db.session.scalars(query))


def cohort_instructors_of(cohort: Cohort) -> list[User]:
    """The instructors assigned to a cohort, by Thai name."""
    query = (
        select(User)
        .join(cohort_instructors, cohort_instructors.c.instructor_id == User.id)
        .where(cohort_instructors.c.cohort_id == cohort.id)
        .order_by(thai_order(User.full_name_th))
    )
    return list(db.session.scalars(query))


def assignable_instructors(cohort: Cohort) -> list[User]:
    """Active instructors not yet assigned to the cohort."""
    assigned = select(cohort_instructors.c.instructor_id).where(
        cohort_instructors.c.cohort_id == cohort.id
    )
    query = (
        select(User)
        .where(User.role == Role.INSTRUCTOR, User.is_active.is_(True), User.id.not_in(assigned))
        .order_by(thai_order(User.full_name_th))
    )
    return list(db.session.scalars(query))


#: built once, with a parameter (each learner's pages ask): a statement keeps its cache key
_ENROLMENTS_OF_LEARNER = (
    select(Enrolment)
    .join(Enrolment.cohort)
    .where(Enrolment.learner_id == bindparam("learner_id"))
    .options(
        joinedload(Enrolment.cohort).joinedload(Cohort.host_city),
        joinedload(Enrolment.cohort).joinedload(Cohort.curriculum_version),
    )
    .order_by(Cohort.starts_on.desc())
)


def learner_enrolments(learner: User) -> list[Enrolment]:
    """A learner's enrolments with their cohorts, newest cohort first."""
    return list(db.session.scalars(_ENROLMENTS_OF_LEARNER, {"learner_id": learner.id}))
