"""Every date field reads a Buddhist-era year (2569) as the year it means, whether it comes from
a browser's date input (ISO) or is typed by a person or sent by another client; a year that
cannot be read surely gets a message that says to write it in full."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from lca.core.dates import UnclearYear, buddhist_year, local_today, read_day
from lca.models import ClassSession, Cohort, HourLog
from tests.factories import EnrolmentFactory, classroom_form, count_rows, instructor_teaching
from tests.test_attendance import session_data
from tests.test_cohorts import cohort_data


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2026-07-05", date(2026, 7, 5)),
        ("2569-07-05", date(2026, 7, 5)),  # what <input type=date> sends when 2569 is typed
        ("5/7/2569", date(2026, 7, 5)),
        ("05.07.2026", date(2026, 7, 5)),
        ("5-7-2569", date(2026, 7, 5)),
        ("๕/๗/๒๕๖๙", date(2026, 7, 5)),  # Thai digits
        ("5 ก.ค. 2569", date(2026, 7, 5)),
        ("5 กรกฎาคม พ.ศ. 2569", date(2026, 7, 5)),
        ("5 July 2026", date(2026, 7, 5)),
        ("5 Jul, 2026", date(2026, 7, 5)),
        ("29/2/2567", date(2024, 2, 29)),  # 2567 BE is the leap year 2024
        ("  2569-07-05  ", date(2026, 7, 5)),
    ],
)
def test_a_typed_day_is_read_in_either_era(typed, day):
    assert read_day(typed) == day


@pytest.mark.parametrize("typed", ["5/7/69", "2300-01-01", "0026-01-01", "1/1/99999"])
def test_a_year_that_could_be_either_era_is_not_guessed(typed):
    with pytest.raises(UnclearYear):
        read_day(typed)


@pytest.mark.parametrize(
    "typed", ["", "abc", "5 foo 2026", "31/2/2569", "2026-13-01", "1/1/" + "9" * 5000]
)
def test_what_is_not_a_day_is_refused(typed):
    with pytest.raises(ValueError):
        read_day(typed)


def be(day: date) -> str:
    """``day`` as a browser's date input sends it when the year was typed in the Buddhist era."""
    return f"{buddhist_year(day)}-{day.month:02d}-{day.day:02d}"


def test_a_log_dated_in_the_buddhist_era_is_accepted_and_converted(
    learner_client, learner_enrolment, db
):
    day = local_today() - timedelta(days=3)
    response = learner_client.post(
        "/hours/new", data=classroom_form(learner_enrolment, worked_on=be(day))
    )
    assert response.status_code == 302
    assert db.session.scalar(select(HourLog.worked_on)) == day


def test_a_log_typed_day_first_in_thai_is_accepted(learner_client, learner_enrolment, db):
    day = local_today() - timedelta(days=3)
    typed = f"{day.day}/{day.month}/{buddhist_year(day)}"
    response = learner_client.post(
        "/hours/new", data=classroom_form(learner_enrolment, worked_on=typed)
    )
    assert response.status_code == 302
    assert db.session.scalar(select(HourLog.worked_on)) == day


def test_a_two_digit_year_asks_for_the_full_year(
    learner_client, learner_enrolment, db, field_error
):
    page = learner_client.post(
        "/hours/new", data=classroom_form(learner_enrolment, worked_on="5/7/69")
    ).get_data(as_text=True)
    message = field_error(page, "worked_on")
    assert "เขียนปีให้ครบ" in message and str(buddhist_year(local_today())) in message
    assert "อนาคต" not in message
    assert count_rows(HourLog) == 0


def test_a_form_shown_again_shows_the_converted_day(learner_client, learner_enrolment, db):
    day = local_today() - timedelta(days=3)
    page = learner_client.post(
        "/hours/new", data=classroom_form(learner_enrolment, worked_on=be(day), hours="")
    ).get_data(as_text=True)
    assert f'value="{day.isoformat()}"' in page  # the date input can show it


def test_a_session_dated_in_the_buddhist_era(client, login, db):
    taught = instructor_teaching(learners=1)
    login(taught.instructor)
    cohort = taught.cohort
    day = cohort.starts_on + timedelta(days=3)
    response = client.post(f"/cohorts/{cohort.id}/sessions/new", data=session_data(held_on=be(day)))
    assert response.status_code == 302
    assert db.session.scalar(select(ClassSession.held_on)) == day


def test_a_cohort_dated_in_the_buddhist_era(client, admin, db):
    response = client.post(
        "/cohorts/new",
        data=cohort_data(
            db, starts_on="1/6/2569", ends_on="2569-12-31", field_starts_on="1 ก.ค. 2569"
        ),
    )
    assert response.status_code == 302
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == "CA-2569-09"))
    assert (cohort.starts_on, cohort.ends_on) == (date(2026, 6, 1), date(2026, 12, 31))


def test_a_field_window_extension_dated_in_the_buddhist_era(client, admin, db):
    enrolment = EnrolmentFactory()
    new_end = enrolment.field_window_ends_on + timedelta(days=30)
    response = client.post(
        f"/cohorts/{enrolment.cohort_id}/enrolments/{enrolment.id}/field-window",
        data={"extended_to": be(new_end), "reason": "ลาป่วย"},
    )
    assert response.status_code == 302
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == new_end


def test_the_audit_filter_reads_a_buddhist_era_year(client, admin, db):
    page = client.get("/admin/audit?since=1/1/2569&until=31/12/2569").get_data(as_text=True)
    assert 'value="2026-01-01"' in page and 'value="2026-12-31"' in page


def test_every_date_field_of_the_app_is_a_day_field():
    """No form keeps WTForms' bare DateField, which reads 2569 as a year of the far future."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "lca"
    bare = [
        str(path)
        for path in root.rglob("*.py")
        if path.name != "forms.py" or path.parent.name != "web"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Name) and node.id in ("DateField", "DateTimeField")
    ]
    assert bare == []


@pytest.mark.parametrize("language", ["th", "en"])
def test_days_and_moments_are_written_as_babel_writes_them(language):
    """LCA's table of month names is the CLDR's: every day of a year and a time of each hour
    come out as Babel formats them (the month names and HH:mm in the language's locale)."""
    from datetime import datetime

    from babel.dates import format_date, format_time, get_month_names

    from lca.core.dates import MONTH_NAMES, format_day, format_moment, programme_timezone

    for style, width in (("long", "wide"), ("short", "abbreviated")):
        babel_names = get_month_names(width, locale=language)
        assert MONTH_NAMES[language, style] == tuple(babel_names[m] for m in range(1, 13))
    day, year = date(2027, 1, 1), 2570 if language == "th" else 2027
    while day.year == 2027:
        for style, pattern in (("long", "d MMMM"), ("short", "d MMM")):
            written = f"{format_date(day, pattern, locale=language)} {year}"
            assert format_day(day, style, language) == written
        day += timedelta(days=1)
    for hour in range(24):
        moment = datetime(2027, 3, 9, hour, 7, tzinfo=programme_timezone())
        clock = format_time(moment, "HH:mm", locale=language)
        assert clock in format_moment(moment, language)
