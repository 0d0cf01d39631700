"""Reports for funders, by city and by cohort: people, completion, hours by module, field
hours by mechanism and tool. Aggregate queries only: the number of statements does not grow
with the number of learners."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.orm import InstrumentedAttribute

from lca.certificates.eligibility import field_passed, hours_complete
from lca.core.db import db
from lca.curriculum.services import modules_by_version
from lca.hours.progress import minutes_by_module, module_progress, report_statuses
from lca.models import (
    Certificate,
    CertificateStatus,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    FieldMechanism,
    FieldTool,
    HourLog,
    LogStatus,
    Module,
    ModuleKind,
    User,
    hour_log_tools,
)


@dataclass
class Funnel:
    """How many of a cohort's learners have reached each step, each step counted on its own
    (not only those who reached the steps before it)."""

    cohort: Cohort
    enrolled: int = 0
    active: int = 0
    hours_complete: int = 0
    field_passed: int = 0
    certified: int = 0

    @property
    def steps(self) -> list[tuple[str, int]]:
        return [
            ("enrolled", self.enrolled),
            ("active", self.active),
            ("hours_complete", self.hours_complete),
            ("field_passed", self.field_passed),
            ("certified", self.certified),
        ]


@dataclass
class Report:
    enrolled: int = 0
    active: int = 0
    withdrawn: int = 0
    completed: int = 0  #: every module's hours and a passed field report
    certificates: int = 0  #: valid certificates
    hours_by_module: list[tuple[Module, int]] = field(default_factory=list)  #: approved minutes
    field_by_mechanism: list[tuple[FieldMechanism, int]] = field(default_factory=list)
    field_by_tool: list[tuple[FieldTool, int]] = field(default_factory=list)
    funnels: list[Funnel] = field(default_factory=list)


def build_report(scope: ColumnElement[bool]) -> Report:
    """The report of the enrolments matching ``scope`` (a filter on Enrolment, or on the
    learner's city through User)."""
    enrolments = (
        select(Enrolment.id, Enrolment.cohort_id, Enrolment.status)
        .join(User, User.id == Enrolment.learner_id)
        .where(scope)
    )
    rows = db.session.execute(enrolments).all()
    report = Report()
    cohorts = {
        c.id: c
        for c in db.session.scalars(
            select(Cohort)
            .where(Cohort.id.in_({row.cohort_id for row in rows}))
            .order_by(Cohort.starts_on)
        )
    }
    funnels = {cohort_id: Funnel(cohort) for cohort_id, cohort in cohorts.items()}
    modules_of_version = modules_by_version({c.curriculum_version_id for c in cohorts.values()})
    scoped_ids = select(enrolments.subquery().c.id)
    in_scope = Enrolment.id.in_(scoped_ids)
    minutes = minutes_by_module(in_scope)
    reports = report_statuses(in_scope)
    certified = set(
        db.session.scalars(
            select(Certificate.enrolment_id).where(
                Certificate.enrolment_id.in_(scoped_ids),
                Certificate.status == CertificateStatus.VALID,
            )
        )
    )
    for row in rows:
        funnel = funnels[row.cohort_id]
        report.enrolled += 1
        funnel.enrolled += 1
        # each step of the funnel is counted on its own: a learner whose field report passed
        # counts there even while some hours still wait for approval, or after withdrawing
        modules = modules_of_version[cohorts[row.cohort_id].curriculum_version_id]
        hours_done = hours_complete(module_progress(modules, minutes.get(row.id, {})))
        passed = field_passed(reports.get(row.id))
        funnel.hours_complete += hours_done
        funnel.field_passed += passed
        funnel.certified += row.id in certified
        if row.status is EnrolmentStatus.WITHDRAWN:
            report.withdrawn += 1
            continue
        report.active += 1
        funnel.active += 1
        report.completed += hours_done and passed
        report.certificates += row.id in certified
    report.funnels = list(funnels.values())
    every_module = [m for modules in modules_of_version.values() for m in modules]
    totals = {m: 0 for m in every_module}
    by_id = {m.id: m for m in every_module}
    for per_module in minutes.values():
        for module_id, (approved, _pending, _outside) in per_module.items():
            if module_id in by_id:  # carried over from another version: not counted
                totals[by_id[module_id]] += approved
    report.hours_by_module = list(totals.items())
    report.field_by_mechanism = _field_hours(FieldMechanism, HourLog.mechanism_id, in_scope)
    report.field_by_tool = _field_hours(
        FieldTool, hour_log_tools.c.tool_id, in_scope, join=hour_log_tools
    )
    return report


Entry = TypeVar("Entry", FieldMechanism, FieldTool)


def _field_hours(
    model: type[Entry],
    key: ColumnElement[Any] | InstrumentedAttribute[Any],
    in_scope: ColumnElement[bool],
    join: Table | None = None,
) -> list[tuple[Entry, int]]:
    """Approved field-practice minutes per mechanism (or per tool: a log naming two tools
    counts for each)."""
    query = (
        select(key, func.sum(HourLog.minutes))
        .select_from(HourLog)
        .join(Module, Module.id == HourLog.module_id)
        .join(Enrolment, Enrolment.id == HourLog.enrolment_id)
        .where(Module.kind == ModuleKind.FIELD, HourLog.status == LogStatus.APPROVED, in_scope)
        .group_by(key)
    )
    if join is not None:
        query = query.join(join, join.c.hour_log_id == HourLog.id)
    sums = dict(db.session.execute(query).tuples().all())
    return [
        (item, int(sums.get(item.id) or 0))
        for item in db.session.scalars(select(model).order_by(model.number))
    ]
