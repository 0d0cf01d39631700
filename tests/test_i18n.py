"""Thai first, English second: dates in the Buddhist era, and a complete Thai catalogue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from lca.core.dates import format_buddhist_year, format_day, format_moment
from lca.web.i18n import format_hours

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "lca/translations/th/LC_MESSAGES/messages.po"


def load(path: Path):
    with path.open("rb") as file:
        return read_po(file)


@pytest.mark.parametrize(
    ("value", "style", "language", "expected"),
    [
        (date(2026, 11, 22), "long", "th", "22 พฤศจิกายน 2569"),
        (date(2026, 11, 22), "short", "th", "22 พ.ย. 2569"),
        (date(2026, 11, 22), "long", "en", "22 November 2026"),
        (date(2027, 1, 1), "long", "th", "1 มกราคม 2570"),
        # 20:00 UTC on 31 December is already 1 January in Bangkok.
        (datetime(2026, 12, 31, 20, 0, tzinfo=UTC), "long", "th", "1 มกราคม 2570"),
    ],
)
def test_dates_are_in_the_buddhist_era_in_thai(app, value, style, language, expected):
    with app.app_context():
        assert format_day(value, style, language) == expected


def test_moments_in_the_programme_timezone(app):
    moment = datetime(2026, 11, 22, 7, 5, tzinfo=UTC)
    with app.app_context():
        assert format_moment(moment, "th") == "22 พ.ย. 2569 เวลา 14:05 น."
        assert format_moment(moment, "en") == "22 Nov 2026, 14:05"


def test_years_and_hours(app):
    with app.test_request_context("/?lang=en"):
        assert format_buddhist_year(2567, "th") == "พ.ศ. 2567"
        assert format_buddhist_year(2567, "en") == "2024"
    assert [format_hours(v) for v in (6, 1.5, 2.25, 9.0)] == ["6", "1.5", "2.25", "9"]


def test_every_message_has_a_thai_translation(tmp_path):
    """Extract the messages from the code now and compare with the Thai catalogue."""
    template = tmp_path / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-o",
            str(template),
            str(ROOT),
        ]
    )
    extracted = {m.id for m in load(template) if m.id}
    translated = {m.id: m for m in load(CATALOGUE) if m.id}
    assert extracted - set(translated) == set(), "run `make i18n-update` and translate"
    untranslated = [m.id for m in translated.values() if not all(strings(m)) or m.fuzzy]
    assert untranslated == []
    obsolete = set(translated) - extracted
    assert obsolete == set(), "messages no longer used: run `make i18n-update`"


def test_placeholders_survive_translation():
    import re

    compared = 0
    for message in load(CATALOGUE):
        for singular, string in zip(ids(message), strings(message), strict=False):
            names = sorted(re.findall(r"%\((\w+)\)", singular))
            assert sorted(re.findall(r"%\((\w+)\)", string)) == names, message.id
            compared += bool(names)
    assert compared >= 20  # the catalogue was read, and its messages with placeholders compared


def ids(message) -> list[str]:
    """A message's source text; a plural message (Thai has one form) by its forms."""
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def strings(message) -> list[str]:
    """A message's translations: one, or one per plural form."""
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def test_no_message_says_1_hours():
    """A number of hours is said with ngettext ("1 hour", "2 hours"), never as a fixed "hours"
    after the number, in the templates and in the code."""
    root = Path(__file__).resolve().parent.parent
    fixed = re.compile(r"""(?<![n\w])_l?\(\s*["'][^"']*%\((?:hours|total)\)s hours""")
    offenders = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for folder in ("templates", "lca")
        for path in (root / folder).rglob("*")
        if path.suffix in {".html", ".txt", ".py"}
        for match in fixed.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
