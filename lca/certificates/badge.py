"""The programme's badge image, and a learner's badge baked with their credential as Open
Badges 3.0 (§5.3, "Baked Badge") describes it:

- PNG: one ``iTXt`` chunk with the keyword ``openbadgecredential``, uncompressed, whose text
  is the credential's JSON;
- SVG: ``xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`` on the ``<svg>`` element and,
  directly after it, one ``<openbadges:credential>`` element holding the JSON in CDATA.

The same module reads a baked credential back out of an uploaded image, without trusting it:
the PNG's chunks are walked without decoding a pixel, the SVG is parsed with DTDs (and so
entity expansion) forbidden.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr  # writes XML, parses none  # nosec B406

import fontpkg
from defusedxml import ElementTree as SafeElementTree

# Pillow is imported where a PNG is drawn: the verify page and most others draw none
if TYPE_CHECKING:
    from PIL import ImageFont

PNG_KEYWORD = "openbadgecredential"
SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG = "http://www.w3.org/2000/svg"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE = 600  #: the badge is SIZE × SIZE pixels (drawn at twice that, then scaled down)
#: the programme's colours (lca/static/css/app.css)
BRAND, BRAND_DARK, ACCENT, INK, MUTED, SOFT = (
    "#0b5d4b",
    "#07473a",
    "#b35900",
    "#1f2328",
    "#57606a",
    "#f3f6f5",
)
FONT_FAMILY = "Sarabun, 'Noto Sans Thai', 'Leelawadee UI', Tahoma, sans-serif"
MAX_BAKED_TEXT = 5 * 1024 * 1024  #: the longest credential text read back out of a PNG


def thai_in_png() -> bool:
    """Whether Thai can be drawn in the PNG: it needs complex text layout (libraqm); without
    it the marks would be misplaced, so the PNG then carries the English lines only."""
    from PIL import features

    return bool(features.check("raqm"))


class Lines:
    """What a badge says, line by line (the SVG and the PNG draw the same lines)."""

    def __init__(
        self, course: dict, issuer: dict, name_th: str = "", name_en: str = "", serial: str = ""
    ) -> None:
        self.title_en = course.get("short_en") or course["title_en"]
        self.title_th = course.get("short_th") or course["title_th"]
        self.issuer_en = issuer["name_en"]
        self.issuer_th = issuer["name_th"]
        self.name_th, self.name_en, self.serial = name_th, name_en, serial

    def drawn(self, thai: bool) -> list[tuple[str, int, int, str, bool]]:
        """(text, centre y, font size, colour, bold) of each line, on a SIZE-pixel badge."""
        lines: list[tuple[str, int, int, str, bool]] = [
            (self.title_en, 196, 38, BRAND_DARK, True),
        ]
        if thai:
            lines.append((self.title_th, 244, 30, INK, False))
        lines.append(("CERTIFICATE", 315, 28, "#ffffff", True))
        if self.name_th or self.name_en:
            if thai and self.name_th:
                lines.append((self.name_th, 392, 32, INK, True))
            if self.name_en:
                lines.append((self.name_en, 432 if thai else 392, 24, INK, not thai))
            lines.append((self.serial, 470, 20, MUTED, False))
        else:
            if thai:
                lines.append((self.issuer_th, 392, 26, INK, False))
            lines.append((self.issuer_en, 432 if thai else 392, 22, MUTED, False))
        return lines


def _fit(text: str, size: int, width: int = 430) -> int:
    """A font size at which ``text`` fits the badge's width (about half an em a letter)."""
    return max(12, min(size, int(width / max(1, len(text) * 0.52))))


def badge_svg(lines: Lines, credential: str | None = None) -> str:
    """The badge as SVG (Thai included, in Sarabun where it is installed); with
    ``credential``, baked: the credential's JSON in CDATA, as the first child of <svg>."""
    head = f'<svg xmlns="{SVG}" viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" height="{SIZE}"'
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        head + (f' xmlns:openbadges="{SVG_NAMESPACE}"' if credential is not None else ""),
        ' role="img">',
    ]
    if credential is not None:
        # "]]>" cannot stand inside a CDATA section: split it across two sections
        body = credential.replace("]]>", "]]]]><![CDATA[>")
        parts.append(f"<openbadges:credential><![CDATA[{body}]]></openbadges:credential>")
    label = " · ".join(t for t in (lines.title_en, lines.name_en or lines.name_th) if t)
    parts += [
        f"<title>{escape(label)}</title>",
        f'<circle cx="300" cy="300" r="296" fill="{BRAND}"/>',
        f'<circle cx="300" cy="300" r="262" fill="{SOFT}" stroke="{ACCENT}" stroke-width="8"/>',
        f'<path d="M36 282 H564 L548 315 L564 348 H36 L52 315 Z" fill="{ACCENT}"/>',
    ]
    for text, y, size, colour, bold in lines.drawn(thai=True):
        parts.append(
            f'<text x="300" y="{y}" text-anchor="middle" dominant-baseline="middle"'
            f' font-family={quoteattr(FONT_FAMILY)} font-size="{_fit(text, size)}"'
            f' font-weight="{700 if bold else 400}" fill="{colour}">{escape(text)}</text>'
        )
    parts.append("</svg>\n")
    return "".join(parts)


@lru_cache(maxsize=8)
def _font(size: int, bold: bool, raqm: bool) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    layout = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    return ImageFont.truetype(
        str(fontpkg.path("Sarabun", 700 if bold else 400)), size, layout_engine=layout
    )


def badge_png(lines: Lines, credential: str | None = None) -> bytes:
    """The badge as PNG; with ``credential``, baked in one uncompressed iTXt chunk."""
    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    thai = thai_in_png()
    scale = 2
    image = Image.new("RGBA", (SIZE * scale, SIZE * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def box(radius: int) -> tuple[int, int, int, int]:
        low, high = (300 - radius) * scale, (300 + radius) * scale
        return (low, low, high, high)

    draw.ellipse(box(296), fill=BRAND)
    draw.ellipse(box(262), fill=SOFT, outline=ACCENT, width=8 * scale)
    ribbon = [(36, 282), (564, 282), (548, 315), (564, 348), (36, 348), (52, 315)]
    draw.polygon([(x * scale, y * scale) for x, y in ribbon], fill=ACCENT)
    for text, y, size, colour, bold in lines.drawn(thai=thai):
        font = _font(_fit(text, size) * scale, bold, thai)
        draw.text((300 * scale, y * scale), text, font=font, fill=colour, anchor="mm")
    image = image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    info = PngInfo()
    if credential is not None:
        info.add_itxt(PNG_KEYWORD, credential, lang="", tkey="", zip=False)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=True)
    return out.getvalue()


@lru_cache(maxsize=4)
def _achievement_images(key: tuple[tuple[str, str], ...]) -> tuple[bytes, str]:
    data = dict(key)
    lines = Lines(
        {k[7:]: v for k, v in data.items() if k.startswith("course.")},
        {k[7:]: v for k, v in data.items() if k.startswith("issuer.")},
    )
    return badge_png(lines), badge_svg(lines)


def achievement_images(course: dict, issuer: dict) -> tuple[bytes, str]:
    """The programme's badge, unbaked (the achievement's own image): PNG and SVG."""
    key = tuple(
        sorted(
            [(f"course.{k}", str(v)) for k, v in course.items()]
            + [(f"issuer.{k}", str(v)) for k, v in issuer.items()]
        )
    )
    return _achievement_images(key)


# -- reading a baked credential back -------------------------------------------------------


class NotAnImage(ValueError):
    """The bytes are not a PNG (or an SVG) that can be read at all."""


def png_credential(data: bytes) -> str | None:
    """The text of the first ``openbadgecredential`` iTXt chunk of a PNG, or None if it has
    none; NotAnImage if the bytes are not a readable PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise NotAnImage("not a PNG")
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        start, end = position + 8, position + 8 + length
        if end + 4 > len(data):
            raise NotAnImage("a chunk runs past the end of the file")
        if kind == b"iTXt":
            text = _itxt_text(data[start:end])
            if text is not None:
                return text
        if kind == b"IEND":
            return None
        position = end + 4  # the chunk's CRC
    raise NotAnImage("the PNG has no end")


def _itxt_text(chunk: bytes) -> str | None:
    keyword, _, rest = chunk.partition(b"\0")
    if keyword != PNG_KEYWORD.encode() or len(rest) < 2:
        return None
    compressed, rest = rest[0], rest[2:]
    _language, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    if compressed:  # the specification forbids it; read it anyway, within bounds
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, MAX_BAKED_TEXT)
        except zlib.error as error:
            raise NotAnImage("the compressed text is damaged") from error
        if inflater.unconsumed_tail:
            raise NotAnImage("the compressed text is too long")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotAnImage("the text is not UTF-8") from error


def svg_credential(data: bytes) -> str | None:
    """The text of the first ``<openbadges:credential>`` element of an SVG (its ``verify``
    attribute if it holds a JWT), or None if it has none; NotAnImage if the bytes are not
    an SVG document that parses without a DTD."""
    try:  # defusedxml refuses entities and DTDs with ValueErrors
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except (SafeElementTree.ParseError, ValueError) as error:
        raise NotAnImage("not a well-formed SVG document") from error
    if root.tag != f"{{{SVG}}}svg":
        raise NotAnImage("not an SVG document")
    for element in root.iter(f"{{{SVG_NAMESPACE}}}credential"):
        return element.get("verify") or (element.text or "").strip()
    return None
