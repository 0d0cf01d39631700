"""Uploaded files are passed on clean (issue 17, found by the outside test): a download is named
by the type its content was found to be, never by the uploaded name; a photo is rewritten
without its metadata (the place kept only as a field, when the learner chooses); a PDF is saved
again without active content, or refused."""

from __future__ import annotations

import hashlib
import io
import re

import pikepdf
import pytest
from fpdf import FPDF
from PIL import ExifTags, Image, PngImagePlugin
from sqlalchemy import select

from lca.core.storage import storage
from lca.models import DraftFile, EvidenceFile, HourLog, ReportFile
from tests.factories import HourLogFactory, count_rows, field_form, module, multipart, stored_files

SCRIPT = b"<script>alert('lca-hostile')</script>"
#: 13°45'22.68" N, 100°30'6.48" E (Sanam Luang, Bangkok), as a phone writes it
GPS = {1: "N", 2: (13.0, 45.0, 22.68), 3: "E", 4: (100.0, 30.0, 6.48)}
PLACE = "13.756300,100.501800"


def phone_exif(orientation: int = 1) -> bytes:
    """EXIF as a phone writes it: the camera, the orientation, and the GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "LCA-Phone"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    return exif.tobytes()


def phone_photo(kind: str = "JPEG", size=(40, 20), orientation: int = 1, trailer=SCRIPT) -> bytes:
    """A real photo with EXIF (GPS included), a comment or text holding script, and script
    appended after the picture (a polyglot)."""
    image = Image.new("RGB", size, "orange")
    out = io.BytesIO()
    extra: dict = {"exif": phone_exif(orientation)}
    if kind == "JPEG":
        extra |= {"comment": SCRIPT, "xmp": b"<x:xmpmeta>" + SCRIPT + b"</x:xmpmeta>"}
    if kind == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", SCRIPT.decode())
        extra["pnginfo"] = text
    if kind == "WEBP":
        extra["xmp"] = b"<x:xmpmeta>" + SCRIPT + b"</x:xmpmeta>"
    image.save(out, kind, **extra)
    return out.getvalue() + trailer


def stored_bytes(item) -> bytes:
    with storage().open(item.storage_key) as file:
        return file.read()


def send_log(client, enrolment, files, **form):
    response = client.post("/hours/new", **field_form(enrolment, files=files, **form))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client.get(response.headers["Location"]).get_data(as_text=True)


# -- downloads named by what they are -------------------------------------------------------


def test_a_photo_named_html_is_served_as_a_photo(learner_client, learner_enrolment, db):
    photo = phone_photo("JPEG")
    assert Image.open(io.BytesIO(photo)).format == "JPEG" and SCRIPT in photo
    page = send_log(learner_client, learner_enrolment, [(io.BytesIO(photo), "site-photo.html")])
    item = db.session.scalar(select(EvidenceFile))
    assert item.original_name == "site-photo.html"

    download = learner_client.get(f"/hours/{item.hour_log_id}/evidence/{item.id}")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.headers["Content-Disposition"] == (f"attachment; filename=photo-{item.id}.jpg")
    assert "html" not in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert b"<script" not in download.data and Image.open(io.BytesIO(download.data)).size == (
        40,
        20,
    )
    thumbnail = learner_client.get(f"/hours/{item.hour_log_id}/evidence/{item.id}/thumbnail")
    assert thumbnail.headers["Content-Disposition"].endswith(f"photo-{item.id}-small.jpg")
    assert thumbnail.headers["Content-Type"] == "image/jpeg"
    assert "site-photo.html" in page  # the name it came with, as text on the page


def test_the_uploaded_name_is_only_text_on_the_page(learner_client, learner_enrolment, db):
    name = "<img src=x onerror=alert(1)>report.pdf"
    page = send_log(learner_client, learner_enrolment, [(io.BytesIO(text_pdf()), name)])
    item = db.session.scalar(select(EvidenceFile))
    assert "<img src=x onerror=alert(1)>" not in page
    assert "&lt;img src=x onerror=" in page and "report.pdf" in page
    download = learner_client.get(f"/hours/{item.hour_log_id}/evidence/{item.id}")
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == (
        f"attachment; filename=document-{item.id}.pdf"
    )
    edit = learner_client.get(f"/hours/{item.hour_log_id}/edit").get_data(as_text=True)
    assert "<img src=x onerror=alert(1)>" not in edit and "&lt;img src=x" in edit


def test_a_report_attachment_is_named_by_its_type(client, learner_enrolment, db):
    log = HourLogFactory(
        enrolment=learner_enrolment,
        module=module(5),
        worked_on=learner_enrolment.field_window_starts_on,
    )
    files = [(io.BytesIO(phone_photo("PNG")), "แผนที่ชุมชน.svg")]
    data = {"summary": "ชวนชุมชนทำแผนที่", "log_ids": [str(log.id)], "files": files}
    response = client.post("/field-report", **multipart(data | {"keep_place": "y"}))
    assert response.status_code == 302
    item = db.session.scalar(select(ReportFile))
    download = client.get(f"/field-reports/{item.field_report_id}/files/{item.id}")
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"] == f"attachment; filename=photo-{item.id}.png"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    clean = Image.open(io.BytesIO(download.data))
    assert not clean.getexif() and "Comment" not in clean.info
    assert item.place == PLACE
    page = client.get(f"/field-reports/{item.field_report_id}").get_data(as_text=True)
    assert "แผนที่ชุมชน.svg" in page and "ถ่ายที่พิกัด 13.756300, 100.501800" in page


# -- photos rewritten -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "stored_as"),
    [("JPEG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WEBP"), ("HEIF", "JPEG")],
)
def test_photos_are_stored_without_metadata(learner_client, learner_enrolment, db, kind, stored_as):
    photo = phone_photo(kind, orientation=6)
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    send_log(learner_client, learner_enrolment, [(io.BytesIO(photo), f"IMG_0001.{kind}")])
    item = db.session.scalar(select(EvidenceFile))
    data = stored_bytes(item)
    assert item.size_bytes == len(data) and item.sha256 == hashlib.sha256(data).hexdigest()
    assert item.place is None  # not asked for
    with Image.open(io.BytesIO(data)) as clean:
        assert clean.format == stored_as
        assert clean.size == (20, 40)  # turned upright (orientation 6: a quarter turn)
        assert not clean.getexif()  # no EXIF at all: no GPS, no camera, no orientation
        assert not {"exif", "comment", "xmp", "XML:com.adobe.xmp", "icc_profile", "Comment"} & set(
            clean.info
        )
    assert SCRIPT not in data and b"lca-hostile" not in data and b"LCA-Phone" not in data
    end = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}.get(stored_as)
    if end:
        assert data.endswith(end)  # nothing after the picture
    with storage().open(item.thumbnail_key) as file, Image.open(file) as small:
        assert small.format == "JPEG" and not small.getexif() and small.size == (20, 40)


def test_the_place_is_kept_only_when_the_learner_chooses(learner_client, learner_enrolment, db):
    page = send_log(
        learner_client,
        learner_enrolment,
        [(io.BytesIO(phone_photo("JPEG")), "ตลาด.jpg"), (io.BytesIO(text_pdf()), "แผน.pdf")],
        keep_place="y",
    )
    photo, document = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id))
    assert (photo.place, document.place) == (PLACE, None)
    assert "ถ่ายที่พิกัด 13.756300, 100.501800" in page
    with Image.open(io.BytesIO(stored_bytes(photo))) as clean:
        assert not clean.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the file carries none
    assert page.count("ถ่ายที่พิกัด") == 1  # the photo's place; a PDF has none

    send_log(learner_client, learner_enrolment, [(io.BytesIO(phone_photo()), "ไม่เก็บ.jpg")])
    unticked = db.session.scalar(
        select(EvidenceFile).where(EvidenceFile.original_name == "ไม่เก็บ.jpg")
    )
    assert unticked.place is None


def test_a_kept_draft_keeps_its_place_only_while_the_box_is_ticked(
    learner_client, learner_enrolment, db
):
    photo = [(io.BytesIO(phone_photo("JPEG")), "เวที.jpg")]
    page = learner_client.post(
        "/hours/new", **field_form(learner_enrolment, place="", files=photo, keep_place="y")
    ).get_data(as_text=True)
    draft = db.session.scalar(select(DraftFile))
    assert draft.place == PLACE
    assert not Image.open(io.BytesIO(stored_bytes(draft))).getexif()
    ids = re.findall(r'name="draft_ids" value="(\d+)"', page)
    (box,) = re.findall(r'<input[^>]*name="keep_place"[^>]*>', page)
    assert "checked" in box  # the form comes back with the box as the learner left it

    response = learner_client.post(
        "/hours/new", **field_form(learner_enrolment, files=[], draft_ids=ids)
    )  # the box no longer ticked
    assert response.status_code == 302
    assert db.session.scalar(select(EvidenceFile)).place is None


# -- PDFs cleaned ---------------------------------------------------------------------------

JS = "app.alert('lca-hostile')"


def text_pdf(text: str = "LCA field report 2569") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=text)
    return bytes(pdf.output())


def _javascript(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(JS)))


def _hostile(change) -> bytes:
    pdf = pikepdf.open(io.BytesIO(text_pdf()))
    change(pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _open_action(pdf):
    pdf.Root.OpenAction = _javascript(pdf)
    pdf.Root.AA = pikepdf.Dictionary(WC=_javascript(pdf))


def _names(pdf):
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("x"), _javascript(pdf)]))
    )


def _attachment(pdf):
    pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ lca-hostile payload")


def _page_actions(pdf):
    page = pdf.pages[0]
    page.AA = pikepdf.Dictionary(O=_javascript(pdf))
    box = pikepdf.Array([10, 10, 200, 40])

    def link(action):
        return pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=box, A=action
            )
        )

    page.Annots = pikepdf.Array(
        [
            link(pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("lca-hostile.exe"))),
            link(
                pikepdf.Dictionary(
                    S=pikepdf.Name.URI, URI=pikepdf.String("https://lca-hostile.example")
                )
            ),
            link(_javascript(pdf)),
            link(
                pikepdf.Dictionary(
                    S=pikepdf.Name.GoTo,
                    D=pikepdf.Array([page.obj, pikepdf.Name.Fit]),
                    Next=_javascript(pdf),
                )
            ),
            pdf.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot,
                    Subtype=pikepdf.Name.FileAttachment,
                    Rect=box,
                    FS=pikepdf.AttachedFileSpec(pdf, b"lca-hostile attachment").obj,
                )
            ),
        ]
    )


def _form(pdf):
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            FT=pikepdf.Name.Btn,
            T=pikepdf.String("send"),
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            Rect=pikepdf.Array([0, 0, 50, 20]),
            A=pikepdf.Dictionary(
                S=pikepdf.Name.SubmitForm, F=pikepdf.String("https://lca-hostile.example")
            ),
            AA=pikepdf.Dictionary(K=_javascript(pdf)),
        )
    )
    pdf.pages[0].Annots = pikepdf.Array([field])
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=pikepdf.Array([field]),
        XFA=pdf.make_stream(b"<xdp:xdp><script>lca-hostile</script></xdp:xdp>"),
    )


HOSTILE_PDFS = {
    "javascript-on-opening": _hostile(_open_action),
    "document-javascript": _hostile(_names),
    "embedded-file": _hostile(_attachment),
    "page-and-link-actions": _hostile(_page_actions),
    "form-submission-and-xfa": _hostile(_form),
    "junk-after-eof": text_pdf() + b"\n<html>" + SCRIPT + b"lca-hostile</html>\n",
    "junk-before-header": b"<html>lca-hostile" + SCRIPT + b"</html>\n" + text_pdf(),
    "incremental-update": (
        _hostile(lambda pdf: None)
        + b"\n99 0 obj\n<< /S /JavaScript /JS (lca-hostile) >>\nendobj\n%%EOF\n"
    ),
}


def plain(data: bytes) -> bytes:
    """The PDF written out uncompressed, to search its every object as text."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.save(
            out,
            qdf=True,
            compress_streams=False,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            stream_decode_level=pikepdf.StreamDecodeLevel.all,
        )
    return out.getvalue()


@pytest.mark.parametrize("name", list(HOSTILE_PDFS))
def test_active_content_is_removed_from_pdfs(
    learner_client, learner_enrolment, db, name, pdf_text, tmp_path
):
    hostile = HOSTILE_PDFS[name]
    assert b"lca-hostile" in plain(hostile) or b"lca-hostile" in hostile
    send_log(learner_client, learner_enrolment, [(io.BytesIO(hostile), f"{name}.pdf")])
    item = db.session.scalar(select(EvidenceFile))
    data = stored_bytes(item)
    assert item.content_type == "application/pdf" and item.thumbnail_key is None
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert data.count(b"%%EOF") == 1  # one revision: no incremental update
    text = plain(data)
    assert b"lca-hostile" not in text and b"<script" not in text
    for key in (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/EmbeddedFile", b"/EF", b"/XFA"):
        assert key not in text, key
    for action in (b"/Launch", b"/URI", b"/SubmitForm", b"/FileAttachment"):
        assert action not in text, action
    with pikepdf.open(io.BytesIO(data)) as clean:
        assert len(clean.pages) == 1 and not clean.attachments
    assert "LCA field report 2569" in pdf_text(data, tmp_path)  # still readable


def test_a_plain_pdf_stays_readable_and_keeps_its_page_links(
    learner_client, learner_enrolment, db, pdf_text, tmp_path
):
    def inner_link(pdf):
        page = pdf.pages[0]
        target = pikepdf.Array([page.obj, pikepdf.Name.Fit])
        page.Annots = pikepdf.Array(
            [
                pdf.make_indirect(
                    pikepdf.Dictionary(
                        Type=pikepdf.Name.Annot,
                        Subtype=pikepdf.Name.Link,
                        Rect=pikepdf.Array([10, 10, 100, 30]),
                        A=pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=target),
                    )
                )
            ]
        )

    upload = _hostile(inner_link)
    send_log(learner_client, learner_enrolment, [(io.BytesIO(upload), "a.pdf")])
    data = stored_bytes(db.session.scalar(select(EvidenceFile)))
    assert data != upload  # written again by pikepdf, and still the same document
    assert "LCA field report 2569" in pdf_text(data, tmp_path)
    with pikepdf.open(io.BytesIO(data)) as clean:
        (annotation,) = clean.pages[0].Annots
        assert pikepdf.Name.GoTo == annotation.A.S  # a jump within the document is harmless


def test_a_pdf_that_only_restricts_printing_is_kept_unencrypted(
    learner_client, learner_enrolment, db, pdf_text, tmp_path
):
    """Official PDFs often forbid editing or printing with an owner password only: any reader
    opens them, so LCA keeps them, cleaned and without the encryption."""
    pdf = pikepdf.open(io.BytesIO(text_pdf()))
    out = io.BytesIO()
    restricted = pikepdf.Permissions(print_lowres=False, print_highres=False, modify_other=False)
    pdf.save(out, encryption=pikepdf.Encryption(user="", owner="owner-secret", allow=restricted))
    upload = out.getvalue()
    with pikepdf.open(io.BytesIO(upload)) as check:
        assert check.is_encrypted
    send_log(learner_client, learner_enrolment, [(io.BytesIO(upload), "คำสั่ง.pdf")])
    data = stored_bytes(db.session.scalar(select(EvidenceFile)))
    with pikepdf.open(io.BytesIO(data)) as clean:
        assert not clean.is_encrypted
    assert "LCA field report 2569" in pdf_text(data, tmp_path)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("user-password", "งาน.pdf ถูกป้องกันด้วยรหัสผ่านหรือการเข้ารหัส"),
        ("html-with-a-pdf-header", "อ่าน งาน.pdf เป็นไฟล์ PDF ไม่ได้"),
        ("no-page", "อ่าน งาน.pdf เป็นไฟล์ PDF ไม่ได้"),
        ("javascript-nested-too-deep", "อ่าน งาน.pdf เป็นไฟล์ PDF ไม่ได้"),
    ],
)
def test_pdfs_that_cannot_be_cleaned_are_refused(
    learner_client, learner_enrolment, db, kind, message, field_error
):
    if kind == "html-with-a-pdf-header":
        upload = b"<html><!-- %PDF-1.7 -->" + SCRIPT + b"</html>"
    elif kind == "javascript-nested-too-deep":

        def deep(pdf):
            nested = pikepdf.Dictionary(A=_javascript(pdf))
            for _ in range(150):
                nested = pikepdf.Dictionary(X=nested)
            pdf.Root.Deep = nested

        upload = _hostile(deep)
    elif kind == "no-page":
        empty = pikepdf.new()
        out = io.BytesIO()
        empty.save(out)
        upload = out.getvalue()
    else:
        encryption = pikepdf.Encryption(user="secret", owner="owner-secret")
        pdf = pikepdf.open(io.BytesIO(text_pdf()))
        out = io.BytesIO()
        pdf.save(out, encryption=encryption)
        upload = out.getvalue()
    before = stored_files()
    page = learner_client.post(
        "/hours/new", **field_form(learner_enrolment, files=[(io.BytesIO(upload), "งาน.pdf")])
    ).get_data(as_text=True)
    assert message in field_error(page, "files")
    assert (count_rows(HourLog), count_rows(EvidenceFile), count_rows(DraftFile)) == (0, 0, 0)
    assert stored_files() == before
