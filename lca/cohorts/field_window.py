"""Each learner's field window: the cohort's by default, or the learner's own start, pushed
out by an administrator's extension (with the reason kept)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lca.core.audit import record
from lca.core.dates import format_day
from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.outbox import record_message
from lca.curriculum.services import field_module, list_modules
from lca.models import Cohort, Enrolment, FieldWindowExtension, MessageKind, User
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


def extend_field_window(
    enrolment: Enrolment, extended_to: date, reason: str, actor: User
) -> FieldWindowExtension:
    """Extend one learner's field window to a later last day, keeping the reason."""
    current = enrolment.field_window_ends_on
    if extended_to <= current:
        raise RuleError(
            _(
                "The new last day must be after the current one (%(date)s).",
                date=format_day(current),
            ),
            field="extended_to",
        )
    if not (reason or "").strip():
        raise RuleError(_("Give the reason for the extension."), field="reason")
    extension = FieldWindowExtension(
        enrolment_id=enrolment.id,
        previous_ends_on=current,
        extended_to=extended_to,
        reason=reason.strip(),
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
        reason=reason.strip(),
    )
    module = field_module(list_modules())
    record_message(
        enrolment.learner,
        MessageKind.WINDOW_EXTENDED,
        about=enrolment,
        link="home.learner",
        cohort=enrolment.cohort.code,
        previous_ends_on=current.isoformat(),
        extended_to=extended_to.isoformat(),
        reason=reason.strip(),
        module_number=module.number if module else None,
        module_th=module.title_th if module else "",
        module_en=module.title_en if module else "",
    )
    return extension


def _own_field_end(enrolment: Enrolment, own_start: date | None) -> date | None:
    """The learner's own last field day: from their own start, pushed out by any extension."""
    extended = db.session.scalar(
        select(func.max(FieldWindowExtension.extended_to)).where(
            FieldWindowExtension.enrolment_id == enrolment.id
        )
    )
    if own_start is None and extended is None:
        return None
    cohort = enrolment.cohort
    start = own_start or cohort.field_starts_on
    base = field_window_end(start, cohort.field_window_months)
    return max(base, extended) if extended else base


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
