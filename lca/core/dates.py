"""The calendar: the programme's today, whole-month arithmetic and the Buddhist era."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from flask_babel import get_locale

DEFAULT_TIMEZONE = "Asia/Bangkok"
#: the Buddhist era (พ.ศ.) counts from 543 years before the common era
BUDDHIST_ERA_OFFSET = 543
#: the months as Thai and English name them, in full and short: the Unicode CLDR's names, as
#: Babel formats them (tests/test_typed_dates.py compares them). Babel reads its whole Thai
#: locale (4 MB, with every language, country and time zone named in Thai) for these 48.
MONTH_NAMES = {
    ("th", "long"): (
        "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
        "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
    ),
    ("th", "short"): (
        "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
        "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
    ),
    ("en", "long"): (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    ("en", "short"): (
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ),
}  # fmt: skip


def programme_timezone() -> ZoneInfo:
    """The timezone dates are judged in (LCA_TIMEZONE, Bangkok by default)."""
    name = current_app.config["LCA_TIMEZONE"] if has_app_context() else DEFAULT_TIMEZONE
    return ZoneInfo(name)


def local_today() -> date:
    """Today's date where the programme runs, not on the server's clock zone."""
    return datetime.now(programme_timezone()).date()


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Aug + 6 → 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def buddhist_year(value: date | int) -> int:
    """The Buddhist-era year (พ.ศ.) of a date or of a Gregorian year: 2026 → 2569."""
    year = value if isinstance(value, int) else value.year
    return year + BUDDHIST_ERA_OFFSET


def gregorian_year(year_be: int) -> int:
    """The Gregorian year of a Buddhist-era year: 2569 → 2026."""
    return year_be - BUDDHIST_ERA_OFFSET


#: where ``current_language`` keeps the language of the request (or of the command) in ``g``
LANGUAGE_KEY = "_lca_language"


def current_language() -> str:
    """The language of what is being written now: the visitor's, or the command line's.

    Found once per request (or app context) and kept in ``g``: Flask-Babel's ``get_locale``
    goes through several context lookups each time, and a page of dates asks hundreds of
    times. ``lca.web.i18n.in_language`` forgets it when a message is written in another."""
    if not has_app_context():
        return str(get_locale() or "th")
    found: str | None = g.get(LANGUAGE_KEY)
    if found is None:
        found = g._lca_language = str(get_locale() or "th")
    return found


def format_day(
    value: date | datetime | None, style: str = "long", language: str | None = None
) -> str:
    """A date in the Buddhist era in Thai (22 พฤศจิกายน 2569), Gregorian in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(programme_timezone()).date()
    language = language or current_language()
    month = MONTH_NAMES[language, "long" if style == "long" else "short"][value.month - 1]
    year = buddhist_year(value) if language == "th" else value.year
    return f"{value.day} {month} {year}"


def format_moment(value: datetime | None, language: str | None = None) -> str:
    """A timestamp in the programme's timezone: 22 พ.ย. 2569 เวลา 14:05 น. / 22 Nov 2026, 14:05."""
    if value is None:
        return ""
    language = language or current_language()
    local = value.astimezone(programme_timezone())
    clock = f"{local.hour:02d}:{local.minute:02d}"
    day = format_day(local.date(), "short", language)
    return f"{day} เวลา {clock} น." if language == "th" else f"{day}, {clock}"


def format_clock(value: datetime | None) -> str:
    """The time of day of a timestamp in the programme's timezone, 24-hour: 09:02."""
    if value is None:
        return ""
    return value.astimezone(programme_timezone()).strftime("%H:%M")


def format_buddhist_year(year_be: int | None, language: str | None = None) -> str:
    """A year kept in the Buddhist era, shown as พ.ศ. 2567 in Thai and 2024 in English."""
    if year_be is None:
        return ""
    language = language or current_language()
    return f"พ.ศ. {year_be}" if language == "th" else str(gregorian_year(year_be))


#: a typed year from here on is a Buddhist-era year (2400 BE is 1857, before any day LCA keeps)
FIRST_BUDDHIST_YEAR = 2400
#: a Christian-era year LCA takes as typed; between this and FIRST_BUDDHIST_YEAR is a mistyped
#: year that could be either, refused with a message rather than guessed
CHRISTIAN_YEARS = range(1900, 2201)
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{1,5})")
_NAMED_MONTH = re.compile(
    r"(\d{1,2})\s*([^\d\s]+?)\s*(พ\.ศ\.|ค\.ศ\.|b\.?e\.?|a\.?d\.?|c\.?e\.?)?\s*(\d{1,5})"
)


class UnclearYear(ValueError):
    """A typed year that is neither a Christian-era nor a Buddhist-era year LCA can read."""


def _month_numbers() -> dict[str, int]:
    names: dict[str, int] = {}
    for months in MONTH_NAMES.values():
        for number, name in enumerate(months, start=1):
            names[name.lower().rstrip(".")] = number
            names[name.lower()] = number
    return names


def _christian_year(year: int, era: str | None = None) -> int:
    """The Christian-era year of a typed year: 2569 (or พ.ศ. 2569) → 2026; 2026 stays."""
    if era == "พ.ศ." or (era or "").replace(".", "") == "be":
        return gregorian_year(year)
    if era:  # ค.ศ., AD, CE: the year as typed
        return year
    if FIRST_BUDDHIST_YEAR <= year <= date.max.year + BUDDHIST_ERA_OFFSET:
        return gregorian_year(year)
    if year in CHRISTIAN_YEARS:
        return year
    raise UnclearYear(year)


def read_day(text: str) -> date:
    """A day as a browser's date input sends it (2026-07-05) or as a person types it, day
    first (5/7/2026, 5.7.2569, 5 ก.ค. 2569, 5 July 2026, Thai or Arabic digits). A Buddhist-era
    year (2400 or later, or marked พ.ศ.) is converted; a two-digit or unlikely year raises
    ``UnclearYear``, anything else that is not a real day ``ValueError``."""
    text = " ".join(text.translate(_THAI_DIGITS).split()).lower().rstrip(".")
    era = None
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DAY_FIRST.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _NAMED_MONTH.fullmatch(text.replace(",", " ")):
        day, year, era = int(match[1]), int(match[4]), match[3]
        month_number = _month_numbers().get(match[2].rstrip("."))
        if month_number is None:
            raise ValueError(text)
        month = month_number
    else:
        raise ValueError(text)
    return date(_christian_year(year, era), month, day)
