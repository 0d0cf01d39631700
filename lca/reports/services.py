"""Reports for funders, by city and by cohort: people, completion, hours by module, field
hours by mechanism and tool. Aggregate queries only: the number of statements does not grow
with the number of learners.

Cohorts may follow different curriculum versions: hours by module are grouped by version (module
5 of a 9-hour field practice is not module 5 of a 12-hour one), and the report names the versions
its totals include."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute, joinedload

from lca.certificates.eligibility import field_passed, hours_complete
from lca.core.db import db
from lca.curriculum.services import field_catalogues_of, modules_by_version
from lca.hours.progress import (
    minutes_by_module,
    minutes_statement,
    module_progress,
    report_statement,
    report_statuses,
)
from lca.models import (
    Certificate,
    CertificateStatus,
    Cohort,
    CurriculumVersion,
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
class VersionHours:
    """Approved hours by module of the cohorts that follow one curriculum version."""

    version: CurriculumVersion
    cohorts: int = 0
    enrolled: int = 0
    hours_by_module: list[tuple[Module, int]] = field(default_factory=list)  #: approved minutes

    @property
    def approved_minutes(self) -> int:
        return sum(minutes for _module, minutes in self.hours_by_module)


@dataclass
class Report:
    enrolled: int = 0
    active: int = 0
    withdrawn: int = 0
    completed: int = 0  #: every module's hours and a passed field report
    certificates: int = 0  #: valid certificates
    #: one entry per curriculum version of the cohorts in the report, the first version first
    by_version: list[VersionHours] = field(default_factory=list)
    field_by_mechanism: list[tuple[FieldMechanism, int]] = field(default_factory=list)
    field_by_tool: list[tuple[FieldTool, int]] = field(default_factory=list)
    funnels: list[Funnel] = field(default_factory=list)

    @property
    def versions(self) -> list[CurriculumVersion]:
        """The curriculum versions whose cohorts the totals include."""
        return [group.version for group in self.by_version]


@dataclass(frozen=True)
class Scope:
    """The statements of the reports of one kind (a cohort's, a city's), built once with a
    parameter for the cohort or city: SQLAlchemy keeps a statement's cache key with it, and
    building these anew for each report took longer than the database took to run them."""

    enrolments: Select[Any]
    minutes: Select[Any]
    reports: Select[Any]
    certified: Select[Any]
    by_mechanism: Select[Any]
    by_tool: Select[Any]


def _scope(enrolment_filter: ColumnElement[bool]) -> Scope:
    """``enrolment_filter``: a filter on Enrolment, or on the learner's city through User."""
    enrolments = (
        select(Enrolment.id, Enrolment.cohort_id, Enrolment.status)
        .join(User, User.id == Enrolment.learner_id)
        .where(enrolment_filter)
    )
    scoped_ids = select(enrolments.subquery().c.id)
    in_scope = Enrolment.id.in_(scoped_ids)
    return Scope(
        enrolments=enrolments,
        minutes=minutes_statement(in_scope),
        reports=report_statement(in_scope),
        certified=select(Certificate.enrolment_id).where(
            Certificate.enrolment_id.in_(scoped_ids),
            Certificate.status == CertificateStatus.VALID,
        ),
        by_mechanism=_field_hours_statement(HourLog.mechanism_id, in_scope),
        by_tool=_field_hours_statement(hour_log_tools.c.tool_id, in_scope, join=hour_log_tools),
    )


def _field_hours_statement(
    key: ColumnElement[Any] | InstrumentedAttribute[Any],
    in_scope: ColumnElement[bool],
    join: Table | None = None,
) -> Select[Any]:
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
    return query


#: a cohort's report: ``{"cohort_id": …}``; a city's: ``{"city_id": …}``
OF_COHORT = _scope(Enrolment.cohort_id == bindparam("cohort_id"))
OF_CITY = _scope(User.city_id == bindparam("city_id"))
_COHORTS = (
    select(Cohort)
    .options(joinedload(Cohort.curriculum_version))
    .where(Cohort.id.in_(bindparam("cohort_ids", expanding=True)))
    .order_by(Cohort.starts_on)
)
_MECHANISMS = select(FieldMechanism).order_by(FieldMechanism.number)
_TOOLS = select(FieldTool).order_by(FieldTool.number)


def build_report(scope: Scope, params: dict[str, Any], cohort: Cohort | None = None) -> Report:
    """The report of the enrolments of ``scope`` (``OF_COHORT`` or ``OF_CITY``, with its
    ``params``); a ``cohort`` given is in it even before anyone enrols."""
    rows = db.session.execute(scope.enrolments, params).all()
    report = Report()
    cohort_ids = {row.cohort_id for row in rows} | ({cohort.id} if cohort else set())
    cohorts = {c.id: c for c in db.session.scalars(_COHORTS, {"cohort_ids": list(cohort_ids)})}
    funnels = {cohort_id: Funnel(cohort) for cohort_id, cohort in cohorts.items()}
    modules_of_version = modules_by_version({c.curriculum_version_id for c in cohorts.values()})
    minutes = minutes_by_module(scope.minutes, params)
    reports = report_statuses(scope.reports, params)
    certified = set(db.session.scalars(scope.certified, params))
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
    report.by_version = _hours_by_version(rows, cohorts, modules_of_version, minutes)
    mechanisms, tools = field_catalogues_of(*modules_of_version)
    report.field_by_mechanism = _field_hours(scope.by_mechanism, params, _MECHANISMS, mechanisms)
    report.field_by_tool = _field_hours(scope.by_tool, params, _TOOLS, tools)
    return report


def _hours_by_version(
    rows: Sequence[Row[Any]],
    cohorts: dict[int, Cohort],
    modules_of_version: dict[int, list[Module]],
    minutes: dict[int, dict[int, list[int]]],
) -> list[VersionHours]:
    """Each learner's approved minutes added to the modules of their cohort's version; minutes
    of a module of another version (carried over by a move) are not counted."""
    groups: dict[int, VersionHours] = {}
    totals: dict[int, dict[int, int]] = {}
    for cohort in cohorts.values():
        version_id = cohort.curriculum_version_id
        if version_id not in groups:
            groups[version_id] = VersionHours(cohort.curriculum_version)
            totals[version_id] = {m.id: 0 for m in modules_of_version[version_id]}
        groups[version_id].cohorts += 1
    for row in rows:
        version_id = cohorts[row.cohort_id].curriculum_version_id
        groups[version_id].enrolled += 1
        counted = totals[version_id]
        for module_id, (approved, _pending, _outside) in minutes.get(row.id, {}).items():
            if module_id in counted:
                counted[module_id] += approved
    for version_id, group in groups.items():
        group.hours_by_module = [
            (m, totals[version_id][m.id]) for m in modules_of_version[version_id]
        ]
    return sorted(groups.values(), key=lambda group: group.version.number)


Entry = TypeVar("Entry", FieldMechanism, FieldTool)


def _field_hours(
    sums_query: Select[Any],
    params: dict[str, Any],
    entries: Select[Any],
    catalogue: list[Entry],
) -> list[tuple[Entry, int]]:
    """The minutes of ``sums_query`` for the entries of the versions' catalogue and any other
    entry that has minutes (a log carried over from a version whose catalogue listed it)."""
    sums = dict(db.session.execute(sums_query, params).tuples().all())
    listed = {item.id for item in catalogue}
    return [
        (item, int(sums.get(item.id) or 0))
        for item in db.session.scalars(entries)
        if item.id in listed or sums.get(item.id)
    ]
