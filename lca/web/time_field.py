"""A time of day typed on a 24-hour clock: 09:30, 9.30, 9:30 น., or in Thai digits (๐๙:๓๐)."""

from __future__ import annotations

import re
from datetime import time

from flask_babel import lazy_gettext as _l
from wtforms import TimeField

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
#: hours and minutes, as a browser's time box sends them (seconds at :00 allowed), or typed
CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})(?::00)?")
NOT_A_TIME = _l("Enter the time on a 24-hour clock, as hours and minutes: 09:30 or 14:00.")


def parse_clock(text: str) -> time | None:
    """The time ``text`` names, or None when it names none (25:00, 9:75, abc)."""
    text = text.translate(THAI_DIGITS).strip().removesuffix("น.").removesuffix("น").strip()
    match = CLOCK.fullmatch(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


class ClockField(TimeField):
    """A time box; what it receives is read by ``parse_clock``, with a message that says how
    to type a time when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        if not text:
            self.data = None
            return
        self.data = parse_clock(text)
        if self.data is None:
            raise ValueError(str(NOT_A_TIME))
