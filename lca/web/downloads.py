"""Downloads: stored files sent as attachments, and spreadsheets that open right in Excel (Thai
intact) and cannot run formulas: CSV in UTF-8 with a byte-order mark, streamed row by row, or
XLSX written with XlsxWriter's constant-memory mode (a row at a time, so memory stays flat;
openpyxl, which reads the imports, would load lxml and Pillow into a worker for an export)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from flask import Response, send_file, stream_with_context

from lca.core.dates import format_day, format_moment
from lca.core.storage import storage
from lca.core.uploads import download_name

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def looks_like_formula(text: str) -> bool:
    """A spreadsheet would read this text as a formula: it starts with =, +, -, @, a tab or a
    carriage return, and is not a plain number."""
    return text.startswith(FORMULA_START) and not _is_number(text)


def as_shown(value: object) -> object:
    """A day or a moment as the screen shows it in the visitor's language (22 พ.ย. 2569 เวลา
    14:05 น., in the programme's timezone, to the minute), never UTC with microseconds."""
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, date):
        return format_day(value)
    return value


def safe_cell(value: object) -> str:
    """A CSV cell as text; text that a spreadsheet would read as a formula is quoted with '."""
    if value is None:
        return ""
    text = str(as_shown(value))
    return "'" + text if looks_like_formula(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def hours_value(minutes: int | None) -> int | float | None:
    """Minutes as a number of hours for a spreadsheet: 6, not 6.0; 1.5 stays 1.5."""
    if minutes is None:
        return None
    return minutes // 60 if minutes % 60 == 0 else minutes / 60


def _disposition(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """A CSV download in UTF-8 with a byte-order mark, so that Excel shows Thai; streamed."""

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([safe_cell(cell) for cell in header])
        yield "\ufeff" + buffer.getvalue()
        for row in rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([safe_cell(cell) for cell in row])
            yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = _disposition(filename)
    return response


def _xlsx_value(value: object) -> object:
    """Numbers stay numbers; days and moments read as on the screen; the rest is text."""
    if value is None:
        return None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    return str(as_shown(value))


def xlsx_response(
    header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str, sheet_name: str = "LCA"
) -> Response:
    """An XLSX download: rows written one at a time to a temporary file, then streamed. Text
    is always written as text: a name like "=SUM(…)" is never a formula."""
    import xlsxwriter  # loaded by the first XLSX download

    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by generate(), after the download
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    with xlsxwriter.Workbook(spool, options) as workbook:
        sheet = workbook.add_worksheet(sheet_name[:31])
        sheet.write_row(0, 0, [str(title) for title in header])
        for number, row in enumerate(rows, start=1):
            for column, cell in enumerate(_xlsx_value(value) for value in row):
                if isinstance(cell, str):
                    sheet.write_string(number, column, cell)
                elif cell is not None:
                    sheet.write_number(number, column, cell)
    spool.seek(0)

    def generate() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(64 * 1024):
                yield chunk

    response = Response(generate(), mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = _disposition(filename)
    return response


def spreadsheet(
    kind: str, header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str
) -> Response:
    """CSV or XLSX of the same rows; ``filename`` without its extension."""
    if kind == "xlsx":
        return xlsx_response(header, rows, f"{filename}.xlsx")
    return csv_response(header, rows, f"{filename}.csv")


#: a stored file opened on its own in the browser runs nothing, loads nothing and is no
#: origin of its own (``sandbox``); a photo in a page's <img> is not affected
STORED_FILE_POLICY = "default-src 'none'; sandbox"


def send_stored(key: str, name: str, mimetype: str) -> Response:
    """A stored file as a download, never rendered by the browser as a page, never cached;
    sent as the type LCA decided (``mimetype``), which the browser may not second-guess."""
    file = storage().open(key)  # streamed in chunks (werkzeug's FileWrapper), then closed
    response = send_file(file, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    size = getattr(file, "size", None)  # an S3 object's length, known before it is read
    if isinstance(size, int):
        response.content_length = size
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = STORED_FILE_POLICY
    return response


def send_upload(key: str, number: int, content_type: str, thumbnail: bool = False) -> Response:
    """An uploaded file (evidence, a draft, a report's attachment), named by the type its
    content was found to be and its number (``photo-12.jpg``, ``document-7.pdf``): never by
    the name or extension it was uploaded with, which the page shows only as text."""
    name = download_name(number, content_type)
    if thumbnail:
        name = name.replace(".", "-small.", 1)
    return send_stored(key, name, content_type)
