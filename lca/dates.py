"""Calendar helpers: the programme's today and whole-month arithmetic."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Bangkok"


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
