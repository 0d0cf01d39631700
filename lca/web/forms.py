"""The base form (WTForms messages through our catalogue) and shared field filters."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined] # WTForms 3.2, newer than its stubs
from wtforms.validators import Length

from lca.core.dates import UnclearYear, buddhist_year, local_today, read_day

CONTROL_CHARACTERS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)

# WTForms' own messages, listed so that they are extracted and translated with ours.
WTFORMS_MESSAGES = (
    _l("Not a valid date value."),
    _l("Not a valid time value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("This field is required."),
)


class DayField(DateField):
    """Every date of LCA's forms and filters: what a browser's date input sends (ISO) or what a
    person or another client types (5/7/2569, 5 ก.ค. 2569); a Buddhist-era year is converted
    to the Christian era, a year that cannot be read surely is refused with a message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        self.data = None
        text = " ".join(str(value) for value in valuelist)
        try:
            self.data = read_day(text)
        except UnclearYear as error:
            raise ValueError(
                _(
                    "Write the year in full, in the Christian era (%(year)s) or the "
                    "Buddhist era (%(year_be)s).",
                    year=local_today().year,
                    year_be=buddhist_year(local_today()),
                )
            ) from error
        except ValueError as error:
            raise ValueError(self.gettext("Not a valid date value.")) from error

    def _value(self) -> str:
        """The day as the date input shows it (ISO, the converted year), or what was typed."""
        if self.data is not None:
            return self.data.isoformat()
        return " ".join(self.raw_data) if self.raw_data else ""


class UnvalidatedForm(RuntimeError):
    """A view read a required field that validation had not checked: a bug, never the input."""


class _CatalogueTranslations:
    """WTForms formats its messages itself, so these only translate."""

    def gettext(self, string: str) -> str:
        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(get_translations().ungettext(singular, plural, n))


class BaseForm(FlaskForm):
    """Every LCA form: CSRF from Flask-WTF, messages in the visitor's language."""

    class Meta:
        def get_translations(self, form: FlaskForm) -> _CatalogueTranslations:
            return _CatalogueTranslations()


def clean_text(value: str | None) -> str | None:
    """Normalise typed text: NFC, no control or invisible characters, single spaces, trimmed."""
    if value is None:
        return None
    value = CONTROL_CHARACTERS.sub("", unicodedata.normalize("NFC", value))
    return " ".join(value.split())


def multiline(value: str | None) -> str | None:
    """Typed paragraphs: NFC, no control or invisible characters, each line trimmed at its
    end, the line breaks kept."""
    if value is None:
        return None
    value = CONTROL_CHARACTERS.sub("", unicodedata.normalize("NFC", value.replace("\r\n", "\n")))
    return "\n".join(line.rstrip() for line in value.replace("\r", "\n").strip().split("\n"))


def clean_email(value: str | None) -> str | None:
    """E-mail addresses are compared and stored in lower case."""
    cleaned = clean_text(value)
    return cleaned.lower() if cleaned else cleaned


def max_length(limit: int) -> Length:
    """A length limit with its message in the visitor's language."""
    return Length(max=limit, message=_l("Use at most %(max)d characters."))


def options(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """(value, label) pairs as select options."""
    return [SelectChoice(value, label) for value, label in pairs]


def read_filters(form: FlaskForm) -> None:
    """Validate a form of list filters (a GET query): a value that fails, too long or not
    one of the choices, is shown with its message and not applied."""
    form.validate()
    for field in form:
        if field.errors:
            field.data = field.default
