"""Reports by cohort (admins, the cohort's instructors) and by city (admins)."""

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lca.core.collation import thai_order
from lca.core.db import db
from lca.hours.queue import reviewable_cohorts
from lca.models import City, Role
from lca.reports import bp
from lca.reports.charts import Bar, bar_chart
from lca.reports.services import OF_CITY, OF_COHORT, build_report
from lca.web.i18n import format_hours, localized
from lca.web.permissions import get_cohort_or_403, get_or_404, role_required

STAFF = (Role.ADMIN, Role.INSTRUCTOR)


@bp.get("/")
@role_required(*STAFF)
def index():
    cities = (
        db.session.scalars(select(City).order_by(thai_order(City.name_th))).all()
        if current_user.is_admin
        else []
    )
    return render_template(
        "reports/index.html", cohorts=reviewable_cohorts(current_user), cities=cities
    )


def _charts(report):
    several = len(report.by_version) > 1
    hours = [
        (
            group,
            bar_chart(
                _(
                    "Approved hours by module, %(curriculum)s",
                    curriculum=localized(group.version, "name"),
                )
                if several
                else _("Approved hours by module"),
                [
                    Bar(f"{m.number}. {localized(m, 'title')}", minutes, format_hours(minutes / 60))
                    for m, minutes in group.hours_by_module
                ],
            ),
        )
        for group in report.by_version
    ]
    mechanisms = bar_chart(
        _("Field hours by mechanism"),
        [
            Bar(localized(m, "name"), minutes, format_hours(minutes / 60))
            for m, minutes in report.field_by_mechanism
        ],
        colour="#b35900",
    )
    tools = bar_chart(
        _("Field hours by tool"),
        [
            Bar(localized(t, "name"), minutes, format_hours(minutes / 60))
            for t, minutes in report.field_by_tool
        ],
        colour="#b35900",
    )
    names = _funnel_names()
    funnels = [
        (
            funnel,
            bar_chart(
                _("Completion funnel of %(code)s", code=funnel.cohort.code),
                [Bar(names[step], count, str(count)) for step, count in funnel.steps],
                colour="#57606a",
            ),
        )
        for funnel in report.funnels
    ]
    return {
        "hours": hours,
        "mechanisms": mechanisms,
        "tools": tools,
        "funnels": funnels,
        "step_names": names,
    }


def _funnel_names() -> dict[str, str]:
    return {
        "enrolled": _("Enrolled"),
        "active": _("Studying"),
        "hours_complete": _("All hours approved"),
        "field_passed": _("Field work passed"),
        "certified": _("Certificate issued"),
    }


@bp.get("/cohorts/<int:cohort_id>")
@role_required(*STAFF)
def cohort(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user)
    report = build_report(OF_COHORT, {"cohort_id": cohort.id}, cohort=cohort)
    return render_template(
        "reports/report.html",
        title=_("Report of cohort %(code)s", code=cohort.code),
        report=report,
        charts=_charts(report),
    )


@bp.get("/cities/<int:city_id>")
@role_required(Role.ADMIN)
def city(city_id: int):
    city = get_or_404(City, city_id)
    report = build_report(OF_CITY, {"city_id": city.id})
    return render_template(
        "reports/report.html",
        title=_("Report of %(city)s", city=localized(city, "name")),
        report=report,
        charts=_charts(report),
        city=city,
    )
