"""Importing learners into a cohort from the spreadsheets cities send: CSV (UTF-8, with or
without BOM, or the Thai Windows encoding cp874/TIS-620) or XLSX. Every row is checked and
shown before anything is written; then all rows go in, or none.

New accounts get a one-time set-password link by e-mail (hashing 5,000 passwords would take
minutes); people who already have a learner account are enrolled as they are.
"""

from __future__ import annotations

import csv
import difflib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO, cast

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lca.auth.services import UNUSABLE_PASSWORD, new_setup_token, send_invitation
from lca.core.audit import record
from lca.core.db import db
from lca.core.errors import RuleError
from lca.models import City, Cohort, Enrolment, EnrolmentStatus, Role, User
from lca.web.downloads import looks_like_formula
from lca.web.forms import clean_text

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 50  #: a sheet is read this wide at most; the columns LCA knows are a few
MAX_XLSX_UNPACKED = 50 * 1024 * 1024  #: a workbook of 10,000 learners unpacks to a few MB
XLSX_LAST_ROW = 1_048_576  #: the last row a sheet can have, in Excel and in the standard
SHOWN_LENGTH = 60  #: how much of a cell a message quotes
COLUMNS = ("email", "full_name_th", "full_name_en", "city", "organisation")
REQUIRED = ("email", "full_name_th")
#: what a column may be called in a city's spreadsheet
ALIASES = {
    "email": {"email", "e-mail", "อีเมล", "อีเมล์"},
    "full_name_th": {
        "full_name_th",
        "name_th",
        "ชื่อ-นามสกุล",
        "ชื่อ-นามสกุล (ไทย)",
        "ชื่อ-สกุล",
        "ชื่อภาษาไทย",
        "ชื่อ นามสกุล",
    },
    "full_name_en": {"full_name_en", "name_en", "ชื่อ-นามสกุล (อังกฤษ)", "ชื่อภาษาอังกฤษ"},
    "city": {"city", "เมือง", "จังหวัด"},
    "organisation": {"organisation", "organization", "หน่วยงาน", "สังกัด"},
}
TEMPLATE_HEADER = ["email", "full_name_th", "full_name_en", "city", "organisation"]
TEMPLATE_EXAMPLE = ["somsri@example.org", "สมศรี ใจดี", "Somsri Jaidee", "พะเยา", "เทศบาลเมืองพะเยา"]


class ImportFileError(RuleError):
    """The file as a whole cannot be read; nothing is imported."""


class NotText(str):
    """A cell of an XLSX file that holds no text where LCA reads text: a date, or a spreadsheet
    error such as #REF!; the text is what Excel shows, ``kind`` says which ("date", "error")."""

    kind: str

    def __new__(cls, shown: str, kind: str) -> NotText:
        cell = super().__new__(cls, shown)
        cell.kind = kind
        return cell


def _shown(text: str) -> str:
    """A cell as a message quotes it: at most a few words of it."""
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 1] + "…"


@dataclass
class ImportRow:
    number: int  #: the row's number in the spreadsheet (the header is row 1)
    email: str
    full_name_th: str
    full_name_en: str
    city_text: str
    organisation: str
    city: City | None = None
    user: User | None = None  #: the existing account, if the e-mail already has one
    problems: list[str] = field(default_factory=list)

    @property
    def creates_account(self) -> bool:
        return self.user is None


@dataclass
class ImportPlan:
    cohort: Cohort
    file_name: str
    rows: list[ImportRow]

    @property
    def problem_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.problems]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.problem_rows


# -- reading the file ---------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp874")  # Excel's "CSV" on Thai Windows (TIS-620 and more)
    except UnicodeDecodeError as error:
        raise ImportFileError(
            _("The file is neither UTF-8 nor Thai Windows (TIS-620) text.")
        ) from error


def _read_csv(data: bytes) -> list[list[str]]:
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_("This is not a CSV or XLSX file."))
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as error:
        raise ImportFileError(_("The CSV cannot be read: %(error)s", error=str(error))) from error


def _damaged(row: int | None = None) -> ImportFileError:
    if row is None:
        return ImportFileError(_("The XLSX file cannot be opened."))
    return ImportFileError(
        _(
            "The XLSX file is damaged near row %(row)s: open it in Excel, save it again and "
            "upload it again.",
            row=row,
        )
    )


def _rows_with_values(sheet: IO[bytes]) -> Iterator[int]:
    """The number of each row of a worksheet's XML that holds a value, checking that every row
    number is a whole number from 1 to 1,048,576, each after the one before (openpyxl would
    skip a row numbered 0 or out of order, and fill in every row up to one numbered 99999999,
    both without a word), and that a cell's shared string is numbered 0 or more."""
    last = 0
    for _event, element in iterparse(sheet, events=("end",)):
        if not element.tag.endswith("}row"):
            continue
        number = element.get("r")
        try:
            row = int(number) if number is not None else last + 1
        except ValueError:
            raise _damaged(last + 1) from None
        if not last < row <= XLSX_LAST_ROW:
            raise _damaged(last + 1)
        last = row
        for cell in element:
            shared = cell.findtext("{*}v") if cell.get("t") == "s" else None
            if shared is not None and not shared.strip().isdigit():
                raise _damaged(row)  # a shared string's number: -1 would read the last one
        if any(cell.find("*") is not None for cell in element):  # a <v> or <is> in a <c>
            yield row
        element.clear()


def _last_row(archive: zipfile.ZipFile, path: str) -> int:
    """The last row of the sheet that holds a value (1 when there is none)."""
    last = 1
    try:
        with archive.open(path.lstrip("/")) as sheet:
            for row in _rows_with_values(sheet):
                last = row
    except (KeyError, ParseError, DefusedXmlException, zipfile.BadZipFile, OSError) as error:
        raise _damaged(last) from error
    return last


def _cell_text(cell: object) -> str:
    """A cell as the text LCA reads; a date or an error is marked as not text."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if getattr(cell, "data_type", None) == "e":
        return NotText(str(value), "error")
    if isinstance(value, (datetime, date, time, timedelta)):
        return NotText(str(value), "date")
    return str(value)


def _read_xlsx(data: bytes) -> list[list[str]]:
    """The rows of the first sheet. A workbook damaged in any way (an unknown shared string,
    a bad row or cell number, a cell value that is not what its type says, a missing part) is
    refused as a whole, with the row it was found near."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # an XLSX file is a zip archive
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise ImportFileError(_("The XLSX file cannot be opened.")) from error
    if unpacked > MAX_XLSX_UNPACKED:  # a "zip bomb", or far more than a list of learners
        raise ImportFileError(_("The XLSX file is too large once unpacked."))
    from openpyxl import load_workbook  # loaded by the imports, not by every worker

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise _damaged() from error
    rows: list[list[str]] = []
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The XLSX file has no sheet."))
        sheet = workbook.worksheets[0]
        path = getattr(sheet, "_worksheet_path", None)  # where a read-only sheet's XML is
        if path is None:
            raise _damaged()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            last = _last_row(archive, path)
        if last - 1 > MAX_ROWS:
            raise ImportFileError(
                _("At most %(count)s learners can be imported at once.", count=f"{MAX_ROWS:,}")
            )
        for row in sheet.iter_rows(max_row=last, max_col=MAX_COLUMNS):
            rows.append([_cell_text(cell) for cell in row])
    except ImportFileError:
        raise
    except Exception as error:  # a shared string that is not there, a cell that is not its type
        raise _damaged(len(rows) + 1) from error
    finally:
        workbook.close()
    return rows


def read_table(file_name: str, data: bytes) -> list[list[str]]:
    """The rows of a CSV or XLSX file, judged by its content rather than its name."""
    if not data or not data.strip():
        raise ImportFileError(_("The file is empty."))
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFileError(
            _("The file is larger than %(size)s MB.", size=MAX_IMPORT_BYTES // (1024 * 1024))
        )
    if data.startswith(b"PK\x03\x04"):
        with io.BytesIO(data) as buffer:
            is_xlsx = (
                zipfile.is_zipfile(buffer)
                and "[Content_Types].xml" in zipfile.ZipFile(buffer).namelist()
            )
        if not is_xlsx:
            raise ImportFileError(_("This is not a CSV or XLSX file."))
        rows = _read_xlsx(data)
    elif data[:8].startswith(
        (b"%PDF", b"\x89PNG", b"\xff\xd8", b"\xd0\xcf\x11\xe0", b"MZ", b"\x7fELF", b"GIF8")
    ):
        raise ImportFileError(_("This is not a CSV or XLSX file."))
    else:
        rows = _read_csv(data)
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ImportFileError(_("The file is empty."))
    if len(rows) - 1 > MAX_ROWS:
        raise ImportFileError(
            _("At most %(count)s learners can be imported at once.", count=f"{MAX_ROWS:,}")
        )
    return rows


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        name = " ".join(title.replace("\ufeff", "").split()).lower()
        for column, aliases in ALIASES.items():
            if name in {alias.lower() for alias in aliases} and column not in found:
                found[column] = index
    missing = [column for column in REQUIRED if column not in found]
    if missing:
        raise ImportFileError(
            _("The header row has no %(columns)s column.", columns=", ".join(missing))
        )
    return found


# -- checking the rows --------------------------------------------------------------------


def _city_matcher():
    cities = list(db.session.scalars(select(City)))
    names = {}
    for city in cities:
        for name in (city.name_th, city.name_en, city.code):
            names[name.lower()] = city

    def match(text: str) -> tuple[City | None, str | None]:
        if not text:
            return None, None
        found = names.get(text.lower())
        if found is not None:
            return found, None
        nearest = difflib.get_close_matches(text.lower(), list(names), n=1, cutoff=0.5)
        return None, names[nearest[0]].name_th if nearest else None

    return match


def _check_email(value: str) -> tuple[str, str | None]:
    if not value:
        return "", _("The e-mail address is missing.")
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return value.lower(), _("%(email)s is not a valid e-mail address.", email=_shown(value))
    return checked.normalized.lower(), None


def plan_import(cohort: Cohort, file_name: str, data: bytes) -> ImportPlan:
    """Read the file and check every row, writing nothing."""
    table = read_table(file_name, data)
    columns = _columns(table[0])
    width = len(table[0])
    match_city = _city_matcher()
    rows: list[ImportRow] = []
    for number, cells in enumerate(table[1:], start=2):
        value = {
            c: (clean_text(cells[i]) or "") if i < len(cells) else "" for c, i in columns.items()
        }
        not_text = []
        for i in columns.values():
            cell = cells[i] if i < len(cells) else ""
            if isinstance(cell, NotText):
                not_text.append(_not_text_problem(table[0][i], cell))
        email, email_problem = _check_email(value.get("email", ""))
        row = ImportRow(
            number,
            email,
            value.get("full_name_th", ""),
            value.get("full_name_en", ""),
            value.get("city", ""),
            value.get("organisation", ""),
        )
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            row.problems.append(
                _(
                    "The row has %(cells)s cells but the header has %(columns)s: "
                    "a stray comma or delimiter?",
                    cells=len(cells),
                    columns=width,
                )
            )
        row.problems += not_text
        if email_problem:
            row.problems.append(email_problem)
        if not row.full_name_th:
            row.problems.append(_("The name in Thai is missing."))
        for text in (row.full_name_th, row.full_name_en, row.organisation, row.city_text):
            if looks_like_formula(text):
                row.problems.append(
                    _(
                        "%(value)s looks like a spreadsheet formula, not a name.",
                        value=_shown(text),
                    )
                )
        for text in (row.full_name_th, row.full_name_en, row.organisation):
            if len(text) > 200:
                row.problems.append(_("Use at most %(count)d characters.", count=200))
        if row.city_text:
            row.city, nearest = match_city(row.city_text)
            if row.city is None:
                row.problems.append(
                    _(
                        "No city is called %(city)s; did you mean %(nearest)s?",
                        city=_shown(row.city_text),
                        nearest=nearest,
                    )
                    if nearest
                    else _("No city is called %(city)s.", city=_shown(row.city_text))
                )
        rows.append(row)
    _check_against_database(cohort, rows)
    return ImportPlan(cohort, file_name, rows)


def _not_text_problem(column: str, cell: NotText) -> str:
    if cell.kind == "date":
        return _(
            "The %(column)s cell holds a date (%(value)s), not text.",
            column=_shown(column),
            value=_shown(cell),
        )
    return _(
        "The %(column)s cell holds a spreadsheet error (%(value)s) instead of a value.",
        column=_shown(column),
        value=_shown(cell),
    )


def _check_against_database(cohort: Cohort, rows: list[ImportRow]) -> None:
    """Duplicates in the file, existing accounts, enrolments already there (a few queries)."""
    by_email: dict[str, list[int]] = {}
    for row in rows:
        if row.email:
            by_email.setdefault(row.email, []).append(row.number)
    for row in rows:
        others = [n for n in by_email.get(row.email, []) if n != row.number]
        if others:
            row.problems.append(
                _("The e-mail address is also on row %(row)s.", row=", ".join(map(str, others)))
            )
    emails = [row.email for row in rows if row.email]
    existing = {}
    for start in range(0, len(emails), 900):
        chunk = emails[start : start + 900]
        for found in db.session.scalars(select(User).where(func.lower(User.email).in_(chunk))):
            existing[found.email.lower()] = found
    enrolled = set(
        db.session.scalars(
            select(Enrolment.learner_id).where(
                Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE
            )
        )
    )
    for row in rows:
        user = existing.get(row.email)
        if user is None:
            continue
        row.user = user
        if not user.is_learner:
            row.problems.append(
                _("%(email)s belongs to an account that is not a learner's.", email=row.email)
            )
        elif not user.is_active:
            row.problems.append(_("The account of %(email)s is inactive.", email=row.email))
        elif user.id in enrolled:
            row.problems.append(_("%(email)s is already enrolled in this cohort.", email=row.email))
        elif " ".join(user.full_name_th.split()) != row.full_name_th:
            row.problems.append(
                _(
                    "%(email)s already belongs to %(name)s: check the e-mail or the name.",
                    email=row.email,
                    name=user.full_name_th,
                )
            )


# -- importing ----------------------------------------------------------------------------


@dataclass
class Imported:
    row: ImportRow
    user: User
    setup_token: str | None  #: for a new account: the token of its set-password link


def apply_import(plan: ImportPlan, actor: User | None) -> list[Imported]:
    """Create the new accounts and enrol everyone, all or nothing (the caller commits)."""
    if not plan.ok:
        raise RuleError(_("The file has problems; nothing was imported."))
    cohort = plan.cohort
    withdrawn = {
        e.learner_id: e
        for e in db.session.scalars(
            select(Enrolment).where(
                Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.WITHDRAWN
            )
        )
    }
    done = []
    for row in plan.rows:
        token = None
        user = row.user
        if user is None:
            user = User(
                email=row.email,
                full_name_th=row.full_name_th,
                full_name_en=row.full_name_en or None,
                role=Role.LEARNER,
                city=row.city,
                organisation=row.organisation or None,
                password_hash=UNUSABLE_PASSWORD,
            )
            token = new_setup_token(user)
            db.session.add(user)
        enrolment = withdrawn.get(user.id) if user.id else None
        if enrolment is not None:
            enrolment.status, enrolment.withdrawn_at = EnrolmentStatus.ACTIVE, None
            enrolment.withdrawal_reason = None
        else:
            db.session.add(Enrolment(cohort=cohort, learner=user))
        done.append(Imported(row, user, token))
    try:  # in a savepoint: after a clash the session still works (for the message)
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:  # someone enrolled or created one of them a moment ago
        raise RuleError(
            _(
                "Some of these learners were enrolled, or their e-mail addresses used, while "
                "you were checking the file. Nothing was imported; check the file again."
            )
        ) from error
    for item in done:
        if item.setup_token:
            record(
                actor, "user.create", item.user, email=item.user.email, role="learner", via="import"
            )
            send_invitation(item.user, actor, item.setup_token)  # the same link, by e-mail
    record(
        actor,
        "cohort.import",
        cohort,
        file=plan.file_name,
        rows=len(done),
        new_accounts=sum(1 for item in done if item.setup_token),
    )
    db.session.flush()
    return done


def template_xlsx() -> bytes:
    """The import template as an Excel workbook."""
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook()
    sheet = cast(Worksheet, workbook.active)  # a new workbook has one sheet, and it is active
    sheet.title = "learners"
    sheet.append(TEMPLATE_HEADER)
    sheet.append(TEMPLATE_EXAMPLE)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    """The import template: UTF-8 with BOM so that Excel shows the Thai example right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([TEMPLATE_HEADER, TEMPLATE_EXAMPLE])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
