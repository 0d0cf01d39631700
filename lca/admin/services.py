"""Administration: finding people, and keeping the list of cities."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from lca.core.audit import apply_changes, record
from lca.core.collation import thai_order
from lca.core.dates import buddhist_year, local_today
from lca.core.db import db
from lca.core.errors import RuleError
from lca.models import City, Cohort, Enrolment, EnrolmentStatus, Role, User

FIRST_GNLC_YEAR = 2556  # the network was founded in 2013 (2556 BE)


def users_query(
    search: str = "", role: Role | None = None, active: bool | None = None
) -> Select[tuple[User]]:
    """People matching a search in e-mail or names, by role and status, by Thai name."""
    query = (
        select(User).options(joinedload(User.city)).order_by(thai_order(User.full_name_th), User.id)
    )
    if search:
        pattern = f"%{escape_like(search.lower())}%"
        query = query.where(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.full_name_th).like(pattern, escape="\\"),
                func.lower(User.full_name_en).like(pattern, escape="\\"),
            )
        )
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.is_active.is_(active))
    return query


def escape_like(text: str) -> str:
    """Typed text matched literally by LIKE: its % and _ are not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class CityDetails:
    name_th: str
    name_en: str
    gnlc_joined_year: int | None


def check_city(details: CityDetails, city: City | None = None) -> None:
    """City names are unique in each language; a joining year is a Buddhist-era year so far."""
    for field, column, value in (
        ("name_th", City.name_th, details.name_th),
        ("name_en", City.name_en, details.name_en),
    ):
        query = select(City.id).where(func.lower(column) == value.lower())
        if city is not None:
            query = query.where(City.id != city.id)
        if db.session.scalar(query.limit(1)) is not None:
            raise RuleError(_("Another city already has this name."), field=field)
    this_year = buddhist_year(local_today())
    year = details.gnlc_joined_year
    if year is not None and not FIRST_GNLC_YEAR <= year <= this_year:
        raise RuleError(
            _(
                "Give the Buddhist-era year, from %(first)d to %(last)d.",
                first=FIRST_GNLC_YEAR,
                last=this_year,
            ),
            field="gnlc_joined_year",
        )


def city_code(name_en: str) -> str:
    """A stable, unique key made from the English name: "Hat Yai" → "hat-yai"."""
    ascii_name = unicodedata.normalize("NFKD", name_en).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56] or "city"
    code, number = base, 1
    while db.session.scalar(select(City.id).where(City.code == code)) is not None:
        number += 1
        code = f"{base}-{number}"
    return code


def create_city(details: CityDetails, actor: User) -> City:
    """Add a city that learners and cohorts can belong to."""
    check_city(details)
    city = City(
        code=city_code(details.name_en),
        name_th=details.name_th,
        name_en=details.name_en,
        gnlc_joined_year=details.gnlc_joined_year,
    )
    db.session.add(city)
    db.session.flush()
    record(actor, "city.create", city, name_th=city.name_th)
    return city


def update_city(city: City, details: CityDetails, actor: User) -> None:
    """Correct a city's names or its year of joining the network."""
    check_city(details, city)
    changes = apply_changes(
        city,
        {
            "name_th": details.name_th,
            "name_en": details.name_en,
            "gnlc_joined_year": details.gnlc_joined_year,
        },
    )
    if changes:
        record(actor, "city.update", city, changes=changes)
    db.session.flush()


def city_options() -> list[tuple[int, str]]:
    """Every city as (id, "Thai / English") for a select box, by Thai name."""
    cities = db.session.scalars(select(City).order_by(thai_order(City.name_th)))
    return [(city.id, f"{city.name_th} / {city.name_en}") for city in cities]


def list_cities_with_counts() -> list[tuple[City, int, int]]:
    """Every city with its number of active learners and of cohorts it hosts."""
    learners = (
        select(User.city_id, func.count().label("n"))
        .where(User.role == Role.LEARNER, User.is_active.is_(True))
        .group_by(User.city_id)
        .subquery()
    )
    cohorts = (
        select(Cohort.host_city_id, func.count().label("n"))
        .group_by(Cohort.host_city_id)
        .subquery()
    )
    query = (
        select(City, func.coalesce(learners.c.n, 0), func.coalesce(cohorts.c.n, 0))
        .outerjoin(learners, learners.c.city_id == City.id)
        .outerjoin(cohorts, cohorts.c.host_city_id == City.id)
        .order_by(City.gnlc_joined_year.is_(None), City.gnlc_joined_year, thai_order(City.name_th))
    )
    return [tuple(row) for row in db.session.execute(query)]


def programme_counts() -> dict[str, int]:
    """Headline numbers for the administrator's home."""

    def count(query: Select[tuple[int]]) -> int:
        return db.session.scalar(query) or 0

    return {
        "learners": count(
            select(func.count()).where(User.role == Role.LEARNER, User.is_active.is_(True))
        ),
        "instructors": count(
            select(func.count()).where(User.role == Role.INSTRUCTOR, User.is_active.is_(True))
        ),
        "cohorts": count(select(func.count(Cohort.id))),
        "cities": count(select(func.count(City.id))),
        "active_enrolments": count(
            select(func.count()).where(Enrolment.status == EnrolmentStatus.ACTIVE)
        ),
    }
