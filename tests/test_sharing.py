"""A valid certificate goes where the learner takes it: LinkedIn's "add certification" form,
a wallet (the credential as a file and as a link), a badge baked with the credential (Open
Badges 3.0, PNG and SVG); and anyone can check a file against what LCA issued, without LCA
keeping it. Hostile files get a clear answer, never an error page."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from datetime import date
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml import ElementTree as ET
from PIL import Image, features
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from lca.certificates.badge import Lines, thai_in_png
from lca.certificates.credential import credential_text
from lca.core.storage import storage
from lca.models import Certificate

SVG = "{http://www.w3.org/2000/svg}"
OB = "{https://purl.imsglobal.org/ob/v3p0}"
COURSE_EN = "City Administrator (Learning City Management) Course"
COURSE_TH = "หลักสูตรนักจัดการเมืองแห่งการเรียนรู้"


@pytest.fixture
def issue(issue_certificate):
    """``issue(language)``: the administrator issues Fasai's certificate (the session's keys)."""

    def make(language: str = "both", **learner) -> Certificate:
        names = {"full_name_th": "ฟ้าใส ญาติดี", "full_name_en": "Fasai Yatdee", **learner}
        return issue_certificate(language, **names)

    return make


@pytest.fixture
def visitor(app):
    """Someone with no account."""
    return app.test_client()


def _pdf(certificate: Certificate) -> bytes:
    with storage().open(certificate.pdf_key) as file:
        return file.read()


def _hrefs(page: str, text: str) -> list[str]:
    """The href of each link whose text is ``text``."""
    return [
        unescape(href)
        for href, label in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', page)
        if label.strip() == text
    ]


def _replace(client, db, certificate: Certificate) -> None:
    """The learner's name is corrected and the certificate re-issued."""
    certificate.enrolment.learner.full_name_th = "ฟ้าใส ญาติดีมาก"
    db.session.flush()
    response = client.post(f"/certificates/{certificate.id}/reissue", data={"reason": "ชื่อผิด"})
    assert response.status_code == 302
    db.session.expire_all()
    assert certificate.status.value == "superseded"


def _revoke(client, certificate: Certificate) -> None:
    response = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ผิดพลาด"})
    assert response.status_code == 302


# -- LinkedIn ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "name", "organisation"),
    [
        ("both", COURSE_EN, "University of Phayao"),
        ("en", COURSE_EN, "University of Phayao"),
        ("th", COURSE_TH, "มหาวิทยาลัยพะเยา"),
    ],
)
def test_add_to_linkedin_fills_in_the_certification_form(
    client, visitor, issue, language, name, organisation
):
    certificate = issue(language)
    issued = date.fromisoformat(certificate.snapshot["issued_on"])
    expected = {
        "startTask": ["CERTIFICATION_NAME"],
        "name": [name],
        "organizationName": [organisation],
        "issueYear": [str(issued.year)],  # Gregorian, as LinkedIn's form is
        "issueMonth": [str(issued.month)],
        "certUrl": [certificate.snapshot["verify_url"]],
        "certId": [certificate.serial],
    }
    pages = {
        "learner's page": client.get(
            f"/certificates/{certificate.id}?lang=en", follow_redirects=True
        ),
        "verify page": visitor.get(f"/verify/{certificate.code}?lang=en", follow_redirects=True),
    }
    for where, response in pages.items():
        [link] = _hrefs(response.get_data(as_text=True), "Add to LinkedIn")
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "www.linkedin.com",
            "/profile/add",
        ), where
        assert parse_qs(parts.query, strict_parsing=True) == expected, where
    assert issued.year < 2400  # not the Buddhist era


def test_a_revoked_or_replaced_certificate_offers_nothing_to_share(client, db, visitor, issue):
    revoked, replaced = issue(), issue()
    _revoke(client, revoked)
    _replace(client, db, replaced)
    for certificate in (revoked, replaced):
        for response in (
            client.get(f"/certificates/{certificate.id}?lang=en", follow_redirects=True),
            visitor.get(f"/verify/{certificate.code}?lang=en", follow_redirects=True),
        ):
            page = response.get_data(as_text=True)
            assert response.status_code == 200
            assert "linkedin.com" not in page
            assert "wallet.json" not in page and "badge.png" not in page
        for suffix in ("wallet.json", "badge.png", "badge.svg"):
            assert visitor.get(f"/verify/{certificate.code}/{suffix}").status_code == 410
    assert visitor.get("/verify/" + "C" * 32 + "/badge.png").status_code == 404


# -- wallets -------------------------------------------------------------------------------


def test_the_wallet_file_is_the_credential_exactly(app, client, visitor, issue):
    certificate = issue()
    page = client.get(f"/certificates/{certificate.id}?lang=en", follow_redirects=True).get_data(
        as_text=True
    )
    [download] = _hrefs(page, "Download the credential (.json)")
    response = visitor.get(download)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename={certificate.serial}.json"
    )
    with app.test_request_context():
        assert response.get_data() == credential_text(certificate).encode("utf-8")
    # the link a wallet fetches: the credential on the address frozen at issue
    link = f"{certificate.public_url}/verify/{certificate.code}/credential.json"
    assert f'value="{link}"' in page and 'data-copy="wallet-link"' in page
    assert "Paste JSON or URL" in page
    assert json.loads(response.get_data())["id"] == link


# -- badges --------------------------------------------------------------------------------


def _itxt_chunks(png: bytes) -> list[tuple[bytes, int]]:
    """(keyword, compression flag) of every iTXt chunk."""
    chunks, position = [], 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        body = png[position + 8 : position + 8 + length]
        if kind == b"iTXt":
            keyword, _, rest = body.partition(b"\0")
            chunks.append((keyword, rest[0]))
        position += 12 + length
    return chunks


def test_the_png_badge_carries_the_credential_in_an_itxt_chunk(app, client, visitor, issue):
    certificate = issue()
    page = client.get(f"/certificates/{certificate.id}?lang=en", follow_redirects=True).get_data(
        as_text=True
    )
    [download] = _hrefs(page, "Download the badge (PNG)")
    response = visitor.get(download)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename={certificate.serial}-badge.png"
    )
    png = response.get_data()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (600, 600)
    with app.test_request_context():
        assert image.text["openbadgecredential"] == credential_text(certificate)
    assert _itxt_chunks(png) == [(b"openbadgecredential", 0)]  # once, uncompressed
    shown = visitor.get(f"/verify/{certificate.code}/badge.png")
    assert shown.headers["Content-Disposition"].startswith("inline;")


def test_the_png_draws_thai_only_with_complex_text_layout(app, issue):
    """Without libraqm, Thai marks would land in the wrong places: the PNG then has only its
    English lines (the SVG, drawn by the viewer's browser, always has both)."""
    certificate = issue()
    snapshot = certificate.snapshot
    lines = Lines(snapshot["course"], snapshot["issuer"], "ฟ้าใส ญาติดี", "Fasai Yatdee", "X")
    thai = re.compile("[\u0e00-\u0e7f]")
    without = [text for text, *_ in lines.drawn(thai=False)]
    assert "Fasai Yatdee" in without and not any(thai.search(text) for text in without)
    assert "ฟ้าใส ญาติดี" in [text for text, *_ in lines.drawn(thai=True)]
    assert thai_in_png() == features.check("raqm")


def test_the_svg_badge_carries_the_credential_in_cdata(app, client, visitor, issue):
    certificate = issue(full_name_th="ฟ้า]]>ใส <b>&amp;")
    page = client.get(f"/certificates/{certificate.id}?lang=en", follow_redirects=True).get_data(
        as_text=True
    )
    [download] = _hrefs(page, "Download the badge (SVG)")
    response = visitor.get(download)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename={certificate.serial}-badge.svg"
    )
    svg = response.get_data()
    assert b'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in svg
    assert b"<openbadges:credential><![CDATA[" in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    first = root[0]
    assert first.tag == f"{OB}credential" and "verify" not in first.attrib
    assert len(root.findall(f".//{OB}credential")) == 1
    with app.test_request_context():
        assert first.text == credential_text(certificate)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "ฟ้า]]>ใส <b>&amp;" in texts and COURSE_TH.removeprefix("หลักสูตร") in texts
    assert all("Sarabun" in t.get("font-family") for t in root.iter(f"{SVG}text"))


def test_the_achievement_image_is_public_and_unbaked(visitor):
    png = visitor.get("/achievements/city-administrator/image.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.get_data()))
    assert image.size == (600, 600) and "openbadgecredential" not in image.text
    svg = visitor.get("/achievements/city-administrator/image.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    root = ET.fromstring(svg.get_data())
    assert root.find(f"{OB}credential") is None
    assert "University of Phayao" in [t.text for t in root.iter(f"{SVG}text")]


# -- checking a file -----------------------------------------------------------------------


def _multipart(data: bytes, name: str) -> dict:
    """A file field as a browser sends it, encoded in memory (Werkzeug's test client would
    spool a large body to a temporary file and leave it to the garbage collector)."""
    body, _length, boundary = stream_encode_multipart(
        {"file": FileStorage(io.BytesIO(data), filename=name)}, use_tempfile=False
    )
    return {"data": body.getvalue(), "content_type": f"multipart/form-data; boundary={boundary}"}


def _check(client, data: bytes, name: str, language: str = "en", **options):
    return client.post(f"/verify/check?lang={language}", **_multipart(data, name), **options)


def _verdict(response) -> str:
    page = response.get_data(as_text=True)
    heading = re.search(r'<h1 id="verdict">(.*?)</h1>', page, re.S)
    assert heading, page
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", heading.group(1))).split())


def test_checking_the_files_lca_issued(app, client, visitor, issue):
    certificate = issue()
    with app.test_request_context():
        credential = credential_text(certificate).encode("utf-8")
    png = visitor.get(f"/verify/{certificate.code}/badge.png").get_data()
    svg = visitor.get(f"/verify/{certificate.code}/badge.svg").get_data()
    for data, name, verdict in (
        (_pdf(certificate), "certificate.pdf", "✓ This PDF is exactly the one LCA issued"),
        (credential, "c.json", "✓ This credential is exactly the one LCA issued"),
        (png, "b.png", "✓ This badge carries exactly the credential LCA issued"),
        (svg, "b.svg", "✓ This badge carries exactly the credential LCA issued"),
    ):
        response = _check(visitor, data, name)
        assert response.status_code == 200, name
        assert _verdict(response) == verdict, name
        page = response.get_data(as_text=True)
        assert certificate.serial in page and "ฟ้าใส ญาติดี" in page and "Fasai Yatdee" in page
        assert "This certificate is valid" in page
    thai = _check(visitor, _pdf(certificate), "certificate.pdf", "th")
    assert _verdict(thai) == "✓ ไฟล์ PDF นี้ตรงกับฉบับที่ LCA ออกให้ทุกประการ"
    assert "วุฒิบัตรนี้ถูกต้องและใช้ได้" in thai.get_data(as_text=True)


def test_a_genuine_file_of_a_revoked_or_replaced_certificate_says_so(client, db, visitor, issue):
    revoked, replaced = issue(), issue()
    _revoke(client, revoked)
    _replace(client, db, replaced)
    page = _check(visitor, _pdf(revoked), "a.pdf").get_data(as_text=True)
    assert "This PDF is exactly the one LCA issued" in page
    assert "This certificate was revoked on" in page and revoked.serial in page
    page = _check(visitor, _pdf(replaced), "b.pdf").get_data(as_text=True)
    assert "This certificate has been replaced" in page and replaced.serial in page


def test_a_changed_file_is_told_apart(app, visitor, issue):
    certificate = issue()
    pdf = bytearray(_pdf(certificate))
    pdf[len(pdf) // 2] ^= 0x01
    response = _check(visitor, bytes(pdf), "certificate.pdf")
    assert response.status_code == 200
    assert _verdict(response) == "✕ This PDF is not exactly one LCA issued"
    with app.test_request_context():
        text = credential_text(certificate)
    changed = text.replace('"creditsEarned":45', '"creditsEarned":46')
    assert changed != text
    response = _check(visitor, changed.encode(), "c.json")
    assert _verdict(response) == "✕ This file was changed after LCA issued it"
    assert certificate.serial in response.get_data(as_text=True)
    foreign = json.loads(text)
    foreign["id"] = "https://elsewhere.example/verify/ABC/credential.json"
    response = _check(visitor, json.dumps(foreign).encode(), "c.json")
    assert _verdict(response) == "✕ This credential was not issued by LCA"


def _png_without_chunk() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, format="PNG")
    return out.getvalue()


def _png_with_compressed_bomb() -> bytes:
    """A PNG whose openbadgecredential chunk inflates to 50 MB."""
    png = _png_without_chunk()
    text = zlib.compress(b"{" * (50 * 1024 * 1024), 9)
    body = b"openbadgecredential\0\x01\x00\0\0" + text
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
    b"<openbadges:credential>&x;</openbadges:credential></svg>"
)


@pytest.mark.parametrize(
    ("data", "name", "status", "verdict"),
    [
        (b"", "empty.pdf", 200, "✕ The file is empty"),
        (b"\x00" * (5 * 1024 * 1024 + 1), "huge.pdf", 413, "✕ The file is larger than 5 MB"),
        (_png_without_chunk(), "plain.png", 200, "✕ This image carries no credential"),
        (
            _png_without_chunk()[:40],
            "cut.png",
            200,
            "✕ This is not a certificate PDF, a credential or a badge",
        ),
        (
            _png_with_compressed_bomb(),
            "bomb.png",
            200,
            "✕ This is not a certificate PDF, a credential or a badge",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>",
            "bad.svg",
            200,
            "✕ This is not a certificate PDF, a credential or a badge",
        ),
        (LAUGHS, "laughs.svg", 200, "✕ This is not a certificate PDF, a credential or a badge"),
        (EXTERNAL, "external.svg", 200, "✕ This is not a certificate PDF, a credential or a badge"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "plain.svg",
            200,
            "✕ This image carries no credential",
        ),
        (
            bytes(range(256)) * 40,
            "random.pdf",
            200,
            "✕ This is not a certificate PDF, a credential or a badge",
        ),
        (
            b"%PDF-1.7\n" + bytes(range(256)),
            "random.pdf",
            200,
            "✕ This PDF is not exactly one LCA issued",
        ),
        (b'[{"id": "x"}]', "list.json", 200, "✕ This credential was not issued by LCA"),
        (
            b"{not json",
            "broken.json",
            200,
            "✕ This is not a certificate PDF, a credential or a badge",
        ),
        (
            b"[" * 200_000,
            "deep.json",
            200,
            "✕ This is not a certificate PDF, a credential or a badge",
        ),
        (
            b'{"id": "\xff\xfe"}',
            "latin.json",
            200,
            "✕ This is not a certificate PDF, a credential or a badge",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_hostile_files_get_a_clear_answer(visitor, data, name, status, verdict):
    response = _check(visitor, data, name)
    assert response.status_code == status
    assert _verdict(response) == verdict
    assert 'enctype="multipart/form-data"' in response.get_data(as_text=True)  # try again


def test_no_file_is_a_form_error_and_the_form_posts_with_a_token(app, visitor, monkeypatch):
    response = visitor.post("/verify/check?lang=en", data={})
    assert response.status_code == 200
    assert "Choose the file to check." in response.get_data(as_text=True)
    page = visitor.get("/verify?lang=en", follow_redirects=True).get_data(as_text=True)
    assert 'action="/verify/check"' in page and 'enctype="multipart/form-data"' in page
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    refused = _check(app.test_client(), b"%PDF-1.7", "a.pdf")
    assert refused.status_code == 400  # no CSRF token: refused before anything is read


def test_a_body_past_the_limit_is_refused_before_it_is_read(visitor):
    response = _check(visitor, b"%PDF-" + b"0" * (6 * 1024 * 1024), "big.pdf")
    assert response.status_code == 413
    assert _verdict(response) == "✕ The file is larger than 5 MB"


def _state(app, db) -> tuple[dict[str, int], set[tuple[str, int]]]:
    rows = {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }
    folder = Path(app.config["LCA_DATA_DIR"])
    files = {
        (str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*") if p.is_file()
    }
    return rows, files


def test_checking_stores_nothing_and_records_nothing(app, db, visitor, issue):
    certificate = issue()
    with app.test_request_context():
        credential = credential_text(certificate).encode()
    png = visitor.get(f"/verify/{certificate.code}/badge.png").get_data()
    db.session.commit()
    before = _state(app, db)
    for data, name in (
        (_pdf(certificate), "c.pdf"),
        (credential, "c.json"),
        (png, "b.png"),
        (b"%PDF-1.7 nothing", "x.pdf"),
        (b"", "e.pdf"),
        (b"\0" * (5 * 1024 * 1024 + 10), "big.pdf"),
    ):
        assert _check(visitor, data, name).status_code in (200, 413)
    db.session.rollback()
    assert _state(app, db) == before  # no row (no audit entry either), no file


def test_checking_is_rate_limited_like_verifying(app, db, visitor, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_VERIFY_RATE_LIMIT", "2 per minute")
    statuses = [
        _check(visitor, b"x", "x.pdf", environ_base={"REMOTE_ADDR": "198.51.100.20"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    badges = [
        visitor.get("/verify/CCCC/badge.png", environ_base={"REMOTE_ADDR": "198.51.100.21"})
        for _ in range(3)
    ]
    assert [b.status_code for b in badges] == [404, 404, 429]


@pytest.mark.parametrize(
    "change",
    [
        {"proof": 5},
        {"proof": []},
        {"proof": {"type": "DataIntegrityProof", "proofValue": "z!!!not-base58"}},
        {"proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}},
        {"@context": "https://evil.example/context.json"},
        {"credentialSubject": None},
    ],
    ids=["number", "list", "bad-value", "no-value", "foreign-context", "no-subject"],
)
def test_a_tampered_credential_naming_a_real_certificate_is_refused(app, visitor, issue, change):
    """Odd shapes in a credential that names a real certificate: an answer, never an error."""
    certificate = issue()
    with app.test_request_context():
        document = json.loads(credential_text(certificate))
    document.update(change)
    response = _check(visitor, json.dumps(document).encode(), "c.json")
    assert response.status_code == 200
    assert _verdict(response) in (
        "✕ This file was changed after LCA issued it",
        "✕ This credential was not issued by LCA",
    )
