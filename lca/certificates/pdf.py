"""The certificate PDF: A4 landscape, Thai first, drawn with fpdf2 and HarfBuzz shaping in
Sarabun (from the fontpkg-sarabun package), with a vector QR code of the verification URL.

Thai has no spaces between words, and fpdf2 breaks lines only at spaces, so every paragraph
is cut into words by PyThaiNLP and laid out here, line by line, breaking between words.

HarfBuzz turns a Thai cluster into several glyphs (SARA AM becomes NIKHAHIT and SARA AA, marks
stack), which text extractors read back with stray spaces or in the wrong order. Every line is
therefore wrapped in a marked-content span whose /ActualText is the line as written, the PDF's
own way of saying what a run of glyphs reads as: copy, search and pdftotext get the exact text.

The file is PDF/A-2b (ISO 19005-2, level B), so that archives keep it readable: PDF 1.7, every
font embedded (Sarabun subsets), an sRGB output intent (the ICC's sRGB2014 v2 profile, the one
fpdf2 ships), XMP metadata with the pdfaid schema saying the same as the Info dictionary, a
file /ID, and nothing PDF/A forbids (no JavaScript, actions, attachments or encryption). The
dates in both are the snapshot's issued_at, so the same snapshot still gives the same bytes.
lca.certificates.pdf_signing then signs it (PAdES B-B) in an incremental update.
"""

from __future__ import annotations

import functools
import io
from datetime import UTC, date, datetime
from html import escape
from importlib import resources
from typing import Any

import fontpkg
import segno
from fpdf import FPDF
from fpdf.enums import OutputIntentSubType
from fpdf.output import OutputProducer, PDFCatalog, PDFICCProfile

from lca.certificates.pdf_signing import PdfSigner
from lca.core.dates import format_day
from lca.core.thai_words import split_words

PAGE_W, PAGE_H = 297, 210
MARGIN = 22
TEXT_W = PAGE_W - 2 * MARGIN
INK = (31, 35, 40)
BRAND = (11, 93, 75)
MUTED = (87, 96, 106)
FONT = "Sarabun"
PRODUCER = "LCA"
#: the ICC's sRGB IEC61966-2.1 profile (version 2, 2014), as fpdf2 ships it for PDF/A
SRGB_ICC = (resources.files("fpdf.data.color_profiles") / "sRGB2014.icc").read_bytes()


def xmp_metadata(title: str, author: str, subject: str, created: datetime) -> str:
    """The XMP packet's body: PDF/A-2b identification and the same facts as the Info
    dictionary (dc:title = Title, dc:creator = Author, dc:description = Subject,
    xmp:CreatorTool = Creator, pdf:Producer = Producer, xmp:CreateDate = CreationDate)."""
    when = created.astimezone(UTC).isoformat(timespec="seconds")

    def alt(text: str) -> str:
        return f'<rdf:Alt><rdf:li xml:lang="x-default">{escape(text)}</rdf:li></rdf:Alt>'

    return "\n".join(
        [
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
            ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
            '  <rdf:Description rdf:about=""',
            '    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"',
            '    xmlns:dc="http://purl.org/dc/elements/1.1/"',
            '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
            '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">',
            "   <pdfaid:part>2</pdfaid:part>",
            "   <pdfaid:conformance>B</pdfaid:conformance>",
            f"   <dc:title>{alt(title)}</dc:title>",
            f"   <dc:creator><rdf:Seq><rdf:li>{escape(author)}</rdf:li></rdf:Seq></dc:creator>",
            f"   <dc:description>{alt(subject)}</dc:description>",
            "   <dc:format>application/pdf</dc:format>",
            f"   <xmp:CreatorTool>{PRODUCER}</xmp:CreatorTool>",
            f"   <xmp:CreateDate>{when}</xmp:CreateDate>",
            f"   <xmp:ModifyDate>{when}</xmp:ModifyDate>",
            f"   <xmp:MetadataDate>{when}</xmp:MetadataDate>",
            f"   <pdf:Producer>{PRODUCER}</pdf:Producer>",
            "  </rdf:Description>",
            " </rdf:RDF>",
            "</x:xmpmeta>",
        ]
    )


@functools.lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    """Where a line may break: Thai words (PyThaiNLP) and the spaces between English words.
    Kept for the process: the course's sentences are the same on every certificate, and
    cutting them was a seventh of a batch's time."""
    return tuple(w for w in split_words(text) if w)


class _WithoutOpenAction(OutputProducer):
    """fpdf2's output, less the /OpenAction it always writes (a "fit the first page" view):
    a certificate runs no action when opened, and archive checks look for none."""

    def _finalize_catalog(self, catalog_obj: PDFCatalog, *args: Any, **kwargs: Any) -> None:
        super()._finalize_catalog(catalog_obj, *args, **kwargs)
        catalog_obj.open_action = None


class CertificateRenderer:
    """Draws certificates; fonts are found, and words measured, once per renderer, that is
    once per batch."""

    def __init__(self) -> None:
        self.fonts = {
            style: str(fontpkg.path(FONT, weight)) for style, weight in (("", 400), ("B", 700))
        }
        #: the width of each word in each font and size, measured once per batch
        self._widths: dict[tuple[str, float, str], float] = {}
        #: what signs the PDFs (lca.certificates.pdf_signing), loaded at the first one
        self._signer: PdfSigner | None = None

    def _document(self, snapshot: dict) -> FPDF:
        pdf = FPDF(orientation="L", unit="mm", format="A4")
        pdf.set_text_shaping(True)
        for style, path in self.fonts.items():
            pdf.add_font(FONT, style, path)
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        issued = datetime.fromisoformat(snapshot["issued_at"])
        # PDF/A-2b by hand rather than fpdf2's enforce_compliance, which leaves the Info
        # dictionary out and stamps the XMP with the time of drawing
        pdf.pdf_version = "1.7"
        created = issued.astimezone(UTC).replace(microsecond=0)
        title = f"{snapshot['course']['title_th']} — {snapshot['serial']}"
        author, subject = snapshot["issuer"]["name_th"], snapshot["learner"]["name_th"]
        pdf.set_creation_date(created)
        pdf.set_lang("en" if snapshot["language"] == "en" else "th")
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_subject(subject)
        pdf.set_creator(PRODUCER)
        pdf.set_producer(PRODUCER)
        pdf.set_xmp_metadata(xmp_metadata(title, author, subject, created))
        pdf.add_output_intent(
            OutputIntentSubType.PDFA,
            output_condition_identifier="sRGB IEC61966-2.1",
            output_condition="IEC 61966-2-1:1999",
            registry_name="http://www.color.org",
            dest_output_profile=PDFICCProfile(contents=SRGB_ICC, n=3, alternate="DeviceRGB"),
            info="sRGB2014 (v2)",
        )
        return pdf

    # -- layout helpers ------------------------------------------------------------------

    @staticmethod
    def _line(pdf: FPDF, width: float, height: float, text: str, align: str, **move) -> None:
        """One line of text that reads back exactly as written (see the module's note)."""
        utf16 = "FEFF" + text.encode("utf-16-be").hex().upper()
        pdf._out(f"/Span <</ActualText <{utf16}>>> BDC")  # fpdf2 has no public API for it
        pdf.cell(width, height, text, align=align, **move)
        pdf._out("EMC")

    def _width(self, pdf: FPDF, word: str) -> float:
        key = (pdf.font_style, pdf.font_size_pt, word)
        if key not in self._widths:
            self._widths[key] = pdf.get_string_width(word)
        return self._widths[key]

    def _lines(self, pdf: FPDF, text: str, width: float) -> list[str]:
        """The text cut into lines no wider than ``width``, breaking only between words."""
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word in words(text):
            size = self._width(pdf, word)
            if current and not word.isspace() and used + size > width:
                lines.append("".join(current).strip())
                current, used = [], 0.0
            if current or not word.isspace():
                current.append(word)
                used += size
        if "".join(current).strip():
            lines.append("".join(current).strip())
        return lines

    def _paragraph(
        self,
        pdf: FPDF,
        text: str,
        size: float,
        style: str = "",
        colour=INK,
        gap: float = 1.5,
        width: float = TEXT_W,
    ) -> None:
        pdf.set_font(FONT, style, size)
        pdf.set_text_color(*colour)
        height = size * 0.5
        for line in self._lines(pdf, text, width):
            pdf.set_x((PAGE_W - width) / 2)
            self._line(pdf, width, height, line, "C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def _frame(self, pdf: FPDF) -> None:
        pdf.set_draw_color(*BRAND)
        pdf.set_line_width(1.2)
        pdf.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
        pdf.set_line_width(0.3)
        pdf.rect(11, 11, PAGE_W - 22, PAGE_H - 22)

    def _qr(self, pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
        svg = io.BytesIO()
        segno.make(url, error="m").save(svg, kind="svg", omitsize=True, border=0, dark="black")
        svg.seek(0)
        pdf.image(svg, x=x, y=y, w=size, h=size)

    # -- the page --------------------------------------------------------------------------

    def render(self, snapshot: dict) -> bytes:
        """The PDF of one certificate, from its snapshot; the same snapshot, the same page."""
        pdf = self._document(snapshot)
        self.draw(pdf, snapshot)
        return bytes(pdf.output(output_producer_class=_WithoutOpenAction))

    def finished(self, snapshot: dict) -> bytes:
        """The certificate as issued: the page, signed (PAdES B-B) with the issuer's signing
        certificate, loaded once per renderer."""
        if self._signer is None:
            self._signer = PdfSigner.from_app()
        return self._signer.sign(self.render(snapshot), snapshot["issuer"])

    def draw(self, pdf: FPDF, snapshot: dict) -> None:
        pdf.add_page()
        self._frame(pdf)
        thai = snapshot["language"] in ("th", "both")
        english = snapshot["language"] in ("en", "both")
        course, issuer, learner = snapshot["course"], snapshot["issuer"], snapshot["learner"]
        issued_on = date.fromisoformat(snapshot["issued_on"])
        if issuer.get("logo"):
            pdf.image(issuer["logo"], x=PAGE_W / 2 - 10, y=16, h=18)
            pdf.set_y(36)
        else:
            pdf.set_y(24)

        organisations = " · ".join(
            o["name_th"] if thai else o["name_en"] for o in snapshot["organisations"]
        )
        self._paragraph(pdf, organisations, 11, colour=MUTED, gap=2)
        if thai:
            self._paragraph(pdf, "วุฒิบัตร", 34, "B", BRAND, gap=0)
        if english:
            self._paragraph(pdf, "Certificate of Completion", 20 if thai else 30, "B", BRAND)
        if thai:
            self._paragraph(pdf, "ให้ไว้เพื่อแสดงว่า", 15, gap=0.5)
            self._paragraph(pdf, learner["name_th"], 26, "B", gap=0.5)
        if english:
            self._paragraph(pdf, "This is to certify that", 12 if thai else 15, "", MUTED, gap=0.5)
            name_en = learner.get("name_en") or learner["name_th"]
            self._paragraph(pdf, name_en, 16 if thai else 26, "B", gap=1)
        hours = snapshot["total_hours"]
        cohort = snapshot["cohort"]
        # The period that happened: from the cohort's start to the day the learner completed
        # the last requirement (or the cohort's end if that came first), as kept at issue.
        started = date.fromisoformat(snapshot["activity_started_on"])
        ended = date.fromisoformat(snapshot["activity_ended_on"])
        if thai:
            self._paragraph(
                pdf,
                f"ได้ผ่านการอบรม{course['title_th']} จำนวน {hours} ชั่วโมง "
                f"รุ่น {cohort['code']} ณ {cohort['host_city_th']} "
                f"ระหว่างวันที่ {format_day(started, language='th')} "
                f"ถึง {format_day(ended, language='th')}",
                15,
                width=TEXT_W - 30,
            )
        if english:
            self._paragraph(
                pdf,
                f"has completed the {course['title_en']}, {hours} hours, cohort "
                f"{cohort['code']} in {cohort['host_city_en']}, "
                f"{format_day(started, language='en')} to "
                f"{format_day(ended, language='en')}.",
                12 if thai else 15,
                "",
                MUTED if thai else INK,
                width=TEXT_W - 30,
            )
        if thai:
            self._paragraph(pdf, f"ให้ไว้ ณ วันที่ {format_day(issued_on, language='th')}", 14, gap=0)
        if english:
            self._paragraph(
                pdf,
                f"Given on {format_day(issued_on, language='en')}",
                11 if thai else 14,
                "",
                MUTED if thai else INK,
            )
        self._signatories(pdf, snapshot["signatories"], thai, english)
        self._footer(pdf, snapshot)

    def _signatories(self, pdf: FPDF, signatories: list[dict], thai: bool, english: bool):
        count = len(signatories)
        column = (TEXT_W - 60) / count
        top = 150
        for index, person in enumerate(signatories):
            x = MARGIN + 30 + index * column
            if person.get("signature"):
                pdf.image(person["signature"], x=x + column / 2 - 20, y=top - 14, w=40, h=12)
            pdf.set_draw_color(*MUTED)
            pdf.set_line_width(0.2)
            pdf.line(x + 10, top, x + column - 10, top)
            pdf.set_xy(x, top + 1)
            for text, size, style, colour in (
                (person["name_th"] if thai else person["name_en"], 11, "B", INK),
                (person["title_th"] if thai else person["title_en"], 9, "", MUTED),
                (person["name_en"] if thai and english else "", 9, "", MUTED),
            ):
                if not text:
                    continue
                pdf.set_font(FONT, style, size)
                pdf.set_text_color(*colour)
                for line in self._lines(pdf, text, column - 4):
                    pdf.set_x(x)
                    self._line(pdf, column, size * 0.45, line, "C", new_x="LEFT", new_y="NEXT")

    def _footer(self, pdf: FPDF, snapshot: dict) -> None:
        size = 24
        x, y = PAGE_W - MARGIN - size, PAGE_H - MARGIN - size + 4
        self._qr(pdf, snapshot["verify_url"], x, y, size)
        pdf.set_font(FONT, "", 8.5)
        pdf.set_text_color(*MUTED)
        curriculum = snapshot.get("curriculum")
        lines = [
            *(
                [f"หลักสูตร {curriculum['name_th']} · Curriculum {curriculum['name_en']}"]
                if curriculum
                else []
            ),
            f"เลขที่ {snapshot['serial']} · Serial {snapshot['serial']}",
            f"รหัสตรวจสอบ / Verification code: {snapshot['code_display']}",
            f"ตรวจสอบได้ที่ / Verify at {snapshot['verify_url']}",
        ]
        pdf.set_xy(MARGIN, y + 6 - 4.5 * (len(lines) - 3))  # the last line by the QR's foot
        for line in lines:
            pdf.set_x(MARGIN)
            self._line(pdf, TEXT_W - size - 6, 4.5, line, "L", new_x="LMARGIN", new_y="NEXT")
