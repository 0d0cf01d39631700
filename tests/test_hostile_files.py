"""Hostile spreadsheets in the learner import (issue 17, found by the outside test): a workbook
made by Excel (here openpyxl) and then edited inside its zip the way a broken or malicious tool
would. Each answers 422 with a clear message in the user's language and writes nothing."""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile

import pytest
from openpyxl import Workbook

from lca.admin.import_views import PENDING
from lca.models import AuditEvent, Enrolment, User
from tests.factories import CohortFactory, count_rows, multipart, stored_files

SHEET = "xl/worksheets/sheet1.xml"
#: the second row's name cell as openpyxl writes it (an inline string)
NAME_CELL = re.compile(rb'<c r="B2" t="inlineStr"><is><t>[^<]*</t></is></c>')
SHARED_STRINGS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
    b'uniqueCount="1"><si><t>Somsri</t></si></sst>'
)


def workbook(*rows) -> bytes:
    """A real workbook: the header and two learners (or ``rows``)."""
    book = Workbook()
    sheet = book.active
    sheet.append(["email", "full_name_th", "full_name_en"])
    for row in rows or (
        ["somsri@example.org", "สมศรี ใจดี", "Somsri Jaidee"],
        ["namfon@example.org", "น้ำฝน ปู่ทอง", "Namfon Puthong"],
    ):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def edited(data: bytes, change, add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with each member passed through ``change(name, body)`` (None drops it)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            body = change(member.filename, source.read(member.filename))
            if body is not None:
                target.writestr(member.filename, body)
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def in_sheet(edit):
    return lambda name, body: edit(body) if name == SHEET else body


def name_cell(xml: bytes):
    return in_sheet(lambda body: NAME_CELL.sub(xml, body, count=1))


def shared_string_index(index: bytes):
    """The name cell pointing at shared string ``index`` of a real shared-strings part."""

    def change(name, body):
        if name == "[Content_Types].xml":
            return body.replace(
                b"</Types>",
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
            )
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(
                b"</Relationships>",
                b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                b"</Relationships>",
            )
        if name == SHEET:
            return NAME_CELL.sub(b'<c r="B2" t="s"><v>' + index + b"</v></c>", body, count=1)
        return body

    return change


def lying_sizes(data: bytes, member: str, size: int) -> bytes:
    """The zip with ``member``'s uncompressed size written as ``size`` in both its headers
    (a bomb that says it is small)."""
    raw = bytearray(data)
    name = member.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            name_length = struct.unpack_from("<H", raw, start + 28)[0]
            if raw[start + name_at : start + name_at + name_length] == name:
                struct.pack_into("<I", raw, start + size_at, size)
            start += 4
    return bytes(raw)


def bomb() -> bytes:
    sheet_xml = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>" + b" " * (20 * 1024 * 1024) + b"</sheetData></worksheet>"
    )
    packed = edited(workbook(), lambda name, body: sheet_xml if name == SHEET else body)
    return lying_sizes(packed, SHEET, 1000)


DAMAGED = "ไฟล์ XLSX เสียหายบริเวณแถวที่ 2 โปรดเปิดไฟล์ใน Excel บันทึกใหม่ แล้วอัปโหลดอีกครั้ง"

REFUSED_FILES = {
    "shared-string-out-of-range": (shared_string_index(b"999"), DAMAGED),
    "shared-string-negative": (shared_string_index(b"-1"), DAMAGED),
    "shared-string-not-a-number": (shared_string_index(b"abc"), DAMAGED),
    "shared-string-part-missing": (name_cell(b'<c r="B2" t="s"><v>0</v></c>'), DAMAGED),
    "row-zero": (in_sheet(lambda b: b.replace(b'<row r="2"', b'<row r="0"')), DAMAGED),
    "row-negative": (in_sheet(lambda b: b.replace(b'<row r="2"', b'<row r="-5"')), DAMAGED),
    "row-beyond-excel": (
        in_sheet(lambda b: b.replace(b'<row r="3"', b'<row r="99999999"')),
        "ไฟล์ XLSX เสียหายบริเวณแถวที่ 3",
    ),
    "row-not-a-number": (in_sheet(lambda b: b.replace(b'<row r="2"', b'<row r="x"')), DAMAGED),
    "rows-out-of-order": (
        in_sheet(lambda b: b.replace(b'<row r="2"', b'<row r="7"')),
        "ไฟล์ XLSX เสียหายบริเวณแถวที่ 8",
    ),
    "cell-reference-beyond-excel": (
        in_sheet(lambda b: b.replace(b'r="A2"', b'r="ZZZZZ99999999"')),
        DAMAGED,
    ),
    "cell-reference-junk": (in_sheet(lambda b: b.replace(b'r="A2"', b'r="!!"')), DAMAGED),
    "date-that-is-not-a-date": (name_cell(b'<c r="B2" t="d"><v>not-a-date</v></c>'), DAMAGED),
    "number-that-is-not-a-number": (name_cell(b'<c r="B2" t="n"><v>abc</v></c>'), DAMAGED),
    "formula-without-type": (
        name_cell(b'<c r="B2"><f>HYPERLINK("https://evil.example","x")</f><v>x</v></c>'),
        DAMAGED,
    ),
    "sheet-xml-cut-short": (in_sheet(lambda b: b[:-40]), "ไฟล์ XLSX เสียหายบริเวณแถวที่"),
    "sheet-with-entities": (
        in_sheet(
            lambda b: (
                b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>'
                + b[b.index(b"<worksheet") :].replace(b"<t>Somsri Jaidee", b"<t>&a;")
            )
        ),
        "เปิดไฟล์ XLSX ไม่ได้",
    ),
    "sheet-missing": (lambda name, body: None if name == SHEET else body, "ไฟล์ XLSX ไม่มีแผ่นงาน"),
    "workbook-part-missing": (
        lambda name, body: None if name == "xl/workbook.xml" else body,
        "เปิดไฟล์ XLSX ไม่ได้",
    ),
}


@pytest.fixture
def cohort(admin, db):
    return CohortFactory()


def upload(client, cohort, data: bytes, name="learners.xlsx"):
    return client.post(
        f"/admin/cohorts/{cohort.id}/import", **multipart({"file": (io.BytesIO(data), name)})
    )


def row_problems(page: str) -> list[str]:
    lists = re.findall(r'<ul class="compact error-message">(.*?)</ul>', page, re.S)
    return [html.unescape(p) for p in re.findall(r"<li>(.*?)</li>", "".join(lists))]


def nothing_written(client, before) -> None:
    assert (count_rows(User), count_rows(Enrolment), count_rows(AuditEvent)) == before[:3]
    assert stored_files() == before[3]  # nothing waits for a confirmation
    with client.session_transaction() as session:
        assert PENDING not in session


def counts():
    return count_rows(User), count_rows(Enrolment), count_rows(AuditEvent), stored_files()


@pytest.mark.parametrize("case", list(REFUSED_FILES))
def test_a_damaged_workbook_is_refused_whole(client, cohort, db, case, field_error):
    change, message = REFUSED_FILES[case]
    shared = {"xl/sharedStrings.xml": SHARED_STRINGS} if case.startswith("shared-string-") else {}
    if case == "shared-string-part-missing":
        shared = {}
    data = edited(workbook(), change, shared)
    before = counts()
    response = upload(client, cohort, data)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), "file")
    nothing_written(client, before)


@pytest.mark.parametrize("shared", [False, True])
def test_the_unedited_workbook_imports(client, cohort, db, shared):
    """The workbook the hostile ones are made from is fine as it is, and so is its name cell
    read from a shared string that is there (so each refusal above is the edit's doing)."""
    change = shared_string_index(b"0") if shared else (lambda name, body: body)
    added = {"xl/sharedStrings.xml": SHARED_STRINGS} if shared else {}
    response = upload(client, cohort, edited(workbook(), change, added))
    assert response.status_code == 200
    assert "import/confirm" in response.get_data(as_text=True)


def test_a_zip_that_is_not_a_workbook_is_refused(client, cohort, db, field_error):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("learners.txt", "somsri@example.org,สมศรี ใจดี")
    before = counts()
    response = upload(client, cohort, out.getvalue())
    assert response.status_code == 422
    assert "ไฟล์นี้ไม่ใช่ CSV หรือ XLSX" in field_error(response.get_data(as_text=True), "file")
    nothing_written(client, before)


def test_a_bomb_that_lies_about_its_size_is_refused(client, cohort, db, field_error):
    data = bomb()
    assert len(data) < 1024 * 1024  # small on the wire, 20 MB inside
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo(SHEET).file_size == 1000  # and says it is 1 kB
    before = counts()
    response = upload(client, cohort, data)
    assert response.status_code == 422
    assert "เปิดไฟล์ XLSX ไม่ได้" in field_error(response.get_data(as_text=True), "file")
    nothing_written(client, before)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        (b'<c r="B2" t="e"><v>#REF!</v></c>', "ช่อง full_name_th มีค่าผิดพลาดของตารางคำนวณ (#REF!)"),
        (b'<c r="B2" t="e"><v>#N/A</v></c>', "ช่อง full_name_th มีค่าผิดพลาดของตารางคำนวณ (#N/A)"),
        (
            b'<c r="B2" t="d"><v>2024-01-02T00:00:00</v></c>',
            "ช่อง full_name_th เป็นวันที่ (2024-01-02 00:00:00) ไม่ใช่ข้อความ",
        ),
        (
            b'<c r="B2" t="str"><f>HYPERLINK("https://evil.example","x")</f>'
            b'<v>=HYPERLINK("https://evil.example","x")</v></c>',
            "ดูเหมือนสูตรในตารางคำนวณ",
        ),
        (b'<c r="B2" t="str"><f>A1&amp;"x"</f></c>', "ไม่มีชื่อภาษาไทย"),  # no value computed
    ],
)
def test_cells_that_are_not_names_are_row_problems(client, cohort, db, cell, problem):
    before = counts()
    response = upload(client, cohort, edited(workbook(), name_cell(cell)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert any(problem in found for found in row_problems(page)), row_problems(page)
    assert "import/confirm" not in page
    nothing_written(client, before)


def test_a_huge_cell_is_a_problem_quoted_in_a_few_words(client, cohort, db):
    huge = "ก" * 2_000_000
    before = counts()
    response = upload(
        client,
        cohort,
        workbook(["x" * 1_000_000 + "@example.org", huge, "Somsri"], ["a@example.org", "ข", "B"]),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    found = row_problems(page)
    assert any("ใช้ไม่เกิน 200 ตัวอักษร" in p for p in found), found
    assert any("ไม่ใช่อีเมลที่ถูกต้อง" in p and len(p) < 200 for p in found), found
    assert len(page) < 50_000  # every long cell is quoted in a few words, never whole
    nothing_written(client, before)


def test_a_refused_file_replaces_the_one_waiting(client, cohort, db, flashes):
    assert upload(client, cohort, workbook()).status_code == 200  # waits for confirmation
    refused = upload(client, cohort, edited(workbook(), *REFUSED_FILES["row-zero"][:1]))
    assert refused.status_code == 422
    before = counts()
    confirm = client.post(f"/admin/cohorts/{cohort.id}/import/confirm", follow_redirects=True)
    assert "อัปโหลดไฟล์อีกครั้ง" in "".join(flashes(confirm.get_data(as_text=True)))
    nothing_written(client, before)
