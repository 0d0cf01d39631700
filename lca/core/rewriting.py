"""Uploaded photos and PDFs written again clean, for lca.core.uploads (which loads this
module, with Pillow, its HEIF plug-in and pikepdf, when a file is first checked).

A photo is decoded and written again as a fresh image (EXIF metadata, GPS position, comments
and anything after the picture are gone), upright and in sRGB; a PDF is opened with pikepdf,
its active content (JavaScript, actions, embedded files, forms' XFA) removed, and saved as a
fresh file (nothing before ``%PDF`` or after ``%%EOF``, no incremental updates).
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Any

import pikepdf
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

THUMBNAIL_SIZE = (320, 320)
MAX_PIXELS = 60_000_000  #: larger than any phone photo; refuses decompression bombs
JPEG_QUALITY = 90
#: the kind each photo is written again as: HEIC (which browsers cannot show) becomes JPEG
REWRITTEN_AS = {
    "image/jpeg": ("JPEG", "image/jpeg", ".jpg"),
    "image/png": ("PNG", "image/png", ".png"),
    "image/webp": ("WEBP", "image/webp", ".webp"),
    "image/heic": ("JPEG", "image/jpeg", ".jpg"),
}


# -- photos -------------------------------------------------------------------------------


def open_image(data: bytes) -> Image.Image | None:
    """The decoded photo (its first frame), or None if it does not decode or is absurdly large
    once decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    return None
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None
    return image


def photo_place(image: Image.Image) -> str | None:
    """Where the photo says it was taken ("13.756300,100.501800"), from its GPS metadata; None
    when it has none or none that makes sense."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        latitude = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
        longitude = _degrees(
            gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)
        )
    except (ValueError, TypeError, ZeroDivisionError, KeyError, OSError, SyntaxError):
        return None
    if latitude is None or longitude is None:
        return None
    if abs(latitude) > 90 or abs(longitude) > 180:
        return None
    return f"{latitude:.6f},{longitude:.6f}"


def _degrees(value: Any, ref: Any) -> float | None:
    """Degrees, minutes and seconds (EXIF rationals) with N/S or E/W as signed degrees."""
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    degrees, minutes, seconds = (float(part) for part in value)
    total = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(total):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -total if str(ref).strip().upper() in ("S", "W") else total


def _in_srgb(image: Image.Image) -> Image.Image:
    """The photo's colours converted to sRGB when it carries a colour profile (a phone's
    Display P3), so that the profile itself need not be kept; without one, as it is."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken profile: the pixels as they are, the profile dropped anyway
    return converted if converted is not None else image


def rewrite_photo(image: Image.Image, content_type: str) -> tuple[bytes, str, str]:
    """The photo written again, upright, as a fresh file with no metadata at all: no EXIF (so
    no GPS position, camera serial or time), no XMP, no comment, no colour profile (converted
    to sRGB first), nothing after the picture. HEIC becomes JPEG."""
    kind, new_type, suffix = REWRITTEN_AS[content_type]
    upright = _in_srgb(ImageOps.exif_transpose(image))
    # a copy of the pixels alone: Pillow writes a JPEG's comment and a PNG's profile from
    # ``info``, so the clean image starts with none
    clean = upright.copy()
    clean.info = {}
    if kind == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
        clean = clean.convert("RGB")
    if kind == "WEBP" and clean.mode not in ("RGB", "RGBA"):
        clean = clean.convert("RGBA" if "A" in clean.getbands() else "RGB")
    out = io.BytesIO()
    if kind in ("JPEG", "WEBP"):
        clean.save(out, kind, quality=JPEG_QUALITY)
    else:
        clean.save(out, kind, optimize=True)
    return out.getvalue(), new_type, suffix


# -- PDFs ---------------------------------------------------------------------------------

#: keys that start something when a PDF opens or is read: additional actions (on opening, on
#: a page, on a field), the opening action, JavaScript, embedded files, rich media
ACTIVE_KEYS = ("/AA", "/OpenAction", "/JS", "/EF", "/RichMediaContent")
#: what goes from the catalogue's name dictionary: document JavaScript, attached files
ACTIVE_NAMES = ("/JavaScript", "/EmbeddedFiles", "/AlternatePresentations")
#: annotations that carry a file, a sound, a film or a 3D model: removed with their content
ACTIVE_ANNOTATIONS = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}


class PdfRefused(Exception):
    """The PDF cannot be cleaned: it does not open, needs a password to open, or has no page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  #: "unreadable", "encrypted" or "empty"


def clean_pdf(data: bytes) -> bytes:
    """The PDF without active content, saved as a fresh file.

    Gone: the opening action and every additional action (document, page, annotation, field),
    document JavaScript, embedded and attached files, the XFA form, and every action of a link
    or field except going to a page of the same document (a web link, a launch, a form
    submission or JavaScript do nothing: the link's box still shows). The text, pictures and
    pages stay, readable as before."""
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as error:
        raise PdfRefused("encrypted") from error
    except (pikepdf.PdfError, ValueError, OSError, RecursionError) as error:
        raise PdfRefused("unreadable") from error
    with pdf:  # a PDF that only restricts printing or editing opens; it is saved unencrypted
        try:
            if len(pdf.pages) == 0:
                raise PdfRefused("empty")
            _clean_catalogue(pdf)
            for obj in pdf.objects:
                _clean_object(obj)
            out = io.BytesIO()
            pdf.save(out, encryption=False, fix_metadata_version=False)
        except (pikepdf.PdfError, ValueError, TypeError, RecursionError) as error:
            raise PdfRefused("unreadable") from error
    return out.getvalue()


def _clean_catalogue(pdf: pikepdf.Pdf) -> None:
    root = pdf.Root
    for key in ("/OpenAction", "/AA", "/Collection", "/NeedsRendering"):
        if key in root:
            del root[key]
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for key in ACTIVE_NAMES:
            if key in names:
                del names[key]
    form = root.get("/AcroForm")
    if isinstance(form, pikepdf.Dictionary) and "/XFA" in form:
        del form["/XFA"]


def _clean_object(obj: Any, depth: int = 0) -> None:
    """Remove active content from one object and the direct objects inside it (indirect ones
    are cleaned in their own turn: ``clean_pdf`` visits every object of the file)."""
    if depth > 100:  # nesting no writer makes: refused rather than cleaned only in part
        raise PdfRefused("unreadable")
    if isinstance(obj, pikepdf.Array):
        for item in obj:
            if isinstance(item, pikepdf.Object) and not item.is_indirect:
                _clean_object(item, depth + 1)
        return
    if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
        return
    for key in ACTIVE_KEYS:
        if key in obj:
            del obj[key]
    action = obj.get("/A")
    if action is not None:
        if isinstance(action, pikepdf.Dictionary) and action.get("/S") == pikepdf.Name.GoTo:
            if "/Next" in action:  # a chain of actions after the jump
                del action["/Next"]
        else:
            del obj["/A"]
    annotations = obj.get("/Annots")
    if isinstance(annotations, pikepdf.Array):
        kept = [a for a in annotations if not _active_annotation(a)]
        if len(kept) != len(annotations):
            obj["/Annots"] = pikepdf.Array(kept)
    for _key, value in list(obj.items()):
        if isinstance(value, pikepdf.Object) and not value.is_indirect:
            _clean_object(value, depth + 1)


def _active_annotation(annotation: Any) -> bool:
    return isinstance(annotation, pikepdf.Dictionary) and (
        str(annotation.get("/Subtype", "")) in ACTIVE_ANNOTATIONS
    )


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of a photo, turned upright, without the photo's metadata."""
    with Image.open(io.BytesIO(data)) as image:
        small = ImageOps.exif_transpose(image)
        small.thumbnail(THUMBNAIL_SIZE)
        if small.mode not in ("RGB", "L"):
            small = small.convert("RGB")
        small.info = {}
        out = io.BytesIO()
        small.save(out, "JPEG", quality=80)
        return out.getvalue()
