"""The notices the calendar brings: each instructor's and administrator's daily digest and the
field-window reminders, written once per day per person (a unique key per message), however
many workers run."""

from __future__ import annotations


def record_due_notices() -> int:
    """Write the digests and reminders due today that are not written yet; how many."""
    return 0
