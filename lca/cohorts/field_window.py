"""Each learner's field window: the cohort's by default, or the learner's own start, moved by
an administrator's extensions (each with its reason kept; a later one may correct an earlier
one)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lca.core.audit import record
from lca.core.dates import add_months, format_day
from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.outbox import record_message
from lca.curriculum.services import field_module, modules_of
from lca.models import (
    Cohort,
    Enrolment,
    FieldWindowExtension,
    HourLog,
    LogStatus,
    MessageKind,
    Module,
    ModuleKind,
    User,
)
from lca.models.cohorts import field_window_end


def set_field_start(enrolment: Enrolment, starts_on: date | None, actor: User) -> None:
    """Give one learner a field window of their own start (None: back to the cohort's)."""
    cohort = enrolment.cohort
    if starts_on is not None and starts_on < cohort.starts_on:
        raise RuleError(
            _(
                "Field practice cannot start before the cohort starts (%(date)s).",
                date=format_day(cohort.starts_on),
            ),
            field="field_starts_on",
        )
    old_start, old_end = enrolment.field_window_starts_on, enrolment.field_window_ends_on
    # Both at once: the schema holds an own start only together with its own last day.
    enrolment.field_starts_on, enrolment.field_ends_on = (
        starts_on,
        _own_field_end(enrolment, starts_on),
    )
    record(
        actor,
        "enrolment.field_start",
        enrolment,
        starts=[str(old_start), str(enrolment.field_window_starts_on)],
        ends=[str(old_end), str(enrolment.field_window_ends_on)],
    )
    db.session.flush()


#: an extension more than this many months past the cohort's last day asks for confirmation
#: (a mistyped year, 2030 for 2027, is the usual cause)
FAR_EXTENSION_MONTHS = 6


def original_field_end(enrolment: Enrolment) -> date:
    """The learner's last field day before any extension: from their own start or the cohort's."""
    cohort = enrolment.cohort
    start = enrolment.field_starts_on or cohort.field_starts_on
    return field_window_end(start, cohort.field_window_months)


def latest_approved_field_day(enrolment: Enrolment) -> date | None:
    """The last day on which the learner has approved field hours, if any."""
    return db.session.scalar(
        select(func.max(HourLog.worked_on))
        .join(HourLog.module)
        .where(
            HourLog.enrolment_id == enrolment.id,
            HourLog.status == LogStatus.APPROVED,
            Module.kind == ModuleKind.FIELD,
        )
    )


def far_extension_limit(enrolment: Enrolment) -> date:
    """The last day an extension may reach without the administrator confirming it."""
    return add_months(enrolment.cohort.ends_on, FAR_EXTENSION_MONTHS)


def _check_new_end(enrolment: Enrolment, extended_to: date, confirmed: bool) -> None:
    current = enrolment.field_window_ends_on
    if extended_to == current:
        raise RuleError(
            _("The field window already ends on %(date)s.", date=format_day(current)),
            field="extended_to",
        )
    if extended_to < current:
        original = original_field_end(enrolment)
        if extended_to < original:
            raise RuleError(
                _(
                    "The field window cannot end before its original last day (%(date)s).",
                    date=format_day(original),
                ),
                field="extended_to",
            )
        approved = latest_approved_field_day(enrolment)
        if approved is not None and extended_to < approved:
            raise RuleError(
                _(
                    "The learner has approved field hours on %(date)s: the field window "
                    "cannot end before that day.",
                    date=format_day(approved),
                ),
                field="extended_to",
            )
    limit = far_extension_limit(enrolment)
    if extended_to > limit and not confirmed:
        raise RuleError(
            _(
                "%(date)s is more than %(months)d months after the cohort's last day "
                "(%(end)s). Check the year; if the date is right, tick the box to confirm it.",
                date=format_day(extended_to),
                months=FAR_EXTENSION_MONTHS,
                end=format_day(enrolment.cohort.ends_on),
            ),
            field="confirm",
        )


def extend_field_window(
    enrolment: Enrolment,
    extended_to: date,
    reason: str,
    actor: User,
    *,
    confirmed: bool = False,
) -> FieldWindowExtension:
    """Move one learner's last field day, keeping the reason: later, or earlier again to
    correct a mistake (never before the original last day nor before the learner's approved
    field hours). A day more than six months past the cohort's end must be confirmed."""
    current = enrolment.field_window_ends_on
    reason = (reason or "").strip()
    _check_new_end(enrolment, extended_to, confirmed)
    if not reason:
        raise RuleError(_("Give the reason for the extension."), field="reason")
    extension = FieldWindowExtension(
        enrolment_id=enrolment.id,
        previous_ends_on=current,
        extended_to=extended_to,
        reason=reason,
        granted_by=actor,
    )
    db.session.add(extension)
    enrolment.field_ends_on = extended_to
    db.session.flush()
    record(
        actor,
        "enrolment.extend_field_window",
        enrolment,
        previous=str(current),
        extended_to=str(extended_to),
        reason=reason,
        confirmed_far=extended_to > far_extension_limit(enrolment),
    )
    module = field_module(modules_of(enrolment.cohort.curriculum_version_id))
    record_message(
        enrolment.learner,
        MessageKind.WINDOW_EXTENDED,
        about=enrolment,
        link="home.learner",
        cohort=enrolment.cohort.code,
        previous_ends_on=current.isoformat(),
        extended_to=extended_to.isoformat(),
        earlier=extended_to < current,
        reason=reason,
        module_number=module.number if module else None,
        module_th=module.title_th if module else "",
        module_en=module.title_en if module else "",
    )
    return extension


def _own_field_end(
    enrolment: Enrolment, own_start: date | None, months: int | None = None
) -> date | None:
    """The learner's own last field day: from their own start, pushed out by any extension
    (``months``: were the cohort's window that long instead)."""
    # The latest extension decides: a later one may have corrected an earlier mistake.
    extended = db.session.scalar(
        select(FieldWindowExtension.extended_to)
        .where(FieldWindowExtension.enrolment_id == enrolment.id)
        .order_by(FieldWindowExtension.id.desc())
        .limit(1)
    )
    if own_start is None and extended is None:
        return None
    cohort = enrolment.cohort
    start = own_start or cohort.field_starts_on
    base = field_window_end(start, cohort.field_window_months if months is None else months)
    return max(base, extended) if extended else base


def field_window_after(enrolment: Enrolment, months: int) -> tuple[date, date]:
    """The learner's field window (first and last day) were the cohort's window ``months``
    long, as refresh_field_windows would make it; nothing is written."""
    start = enrolment.field_window_starts_on
    if enrolment.field_starts_on is None and enrolment.field_ends_on is None:
        return start, field_window_end(enrolment.cohort.field_starts_on, months)
    own_end = _own_field_end(enrolment, enrolment.field_starts_on, months)
    return start, own_end or field_window_end(enrolment.cohort.field_starts_on, months)


def refresh_field_windows(cohort: Cohort) -> None:
    """After a cohort's field start or length changes, recompute learners' own windows."""
    own = db.session.scalars(
        select(Enrolment).where(
            Enrolment.cohort_id == cohort.id,
            (Enrolment.field_starts_on.is_not(None)) | (Enrolment.field_ends_on.is_not(None)),
        )
    )
    for enrolment in own:
        enrolment.field_ends_on = _own_field_end(enrolment, enrolment.field_starts_on)


def field_window_history(enrolment: Enrolment) -> list[FieldWindowExtension]:
    """The extensions granted to a learner, oldest first, with who granted them."""
    return list(
        db.session.scalars(
            select(FieldWindowExtension)
            .where(FieldWindowExtension.enrolment_id == enrolment.id)
            .options(joinedload(FieldWindowExtension.granted_by))
            .order_by(FieldWindowExtension.granted_at)
        )
    )
