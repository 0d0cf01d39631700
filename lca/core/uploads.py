"""Uploaded files (hour-log evidence, report attachments): photos and PDFs judged by their
content, then rewritten before they are stored by random keys, with a thumbnail for photos.

Nothing is stored as it came. A photo is decoded and written again as a fresh image (EXIF
metadata, GPS position, comments and anything after the picture are gone); a PDF is opened
with pikepdf, its active content (JavaScript, actions, embedded files, forms' XFA) removed,
and saved as a fresh file (nothing before ``%PDF`` or after ``%%EOF``, no incremental
updates). What cannot be decoded or cleaned is refused.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

import pikepdf
from flask_babel import gettext as _
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.storage import delete_file_after_commit, save_file
from lca.models.hours import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_PER_LOG, StoredFile

register_heif_opener()

THUMBNAIL_SIZE = (320, 320)
MAX_PIXELS = 60_000_000  #: larger than any phone photo; refuses decompression bombs
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
#: how far into a file a PDF may start: PDF readers accept a little junk before ``%PDF-``;
#: the clean copy begins with ``%PDF-`` itself
PDF_HEADER_WINDOW = 1024
JPEG_QUALITY = 90
#: the kind each photo is written again as: HEIC (which browsers cannot show) becomes JPEG
REWRITTEN_AS = {
    "image/jpeg": ("JPEG", "image/jpeg", ".jpg"),
    "image/png": ("PNG", "image/png", ".png"),
    "image/webp": ("WEBP", "image/webp", ".webp"),
    "image/heic": ("JPEG", "image/jpeg", ".jpg"),
}
#: what a download of each kind is called (downloads name files by kind and number only)
DOWNLOAD_NAMES = {
    "image/jpeg": ("photo", ".jpg"),
    "image/png": ("photo", ".png"),
    "image/webp": ("photo", ".webp"),
    "image/heic": ("photo", ".heic"),  # stored before photos were rewritten
    "application/pdf": ("document", ".pdf"),
}


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name the person's device gave it, and its bytes.

    ``keep_place``: the person chose to keep where a photo was taken as evidence (the log
    and report forms' box); ``place``: a place already read from the photo when it was first
    chosen (a draft kept from an earlier try of the form, whose bytes are clean already)."""

    name: str
    data: bytes
    keep_place: bool = False
    place: str | None = None


@dataclass(frozen=True)
class CheckedFile:
    name: str
    data: bytes  #: the clean bytes: the rewritten photo or PDF, as stored
    content_type: str
    suffix: str
    place: str | None = None  #: "lat,lon" read from the photo, when the person chose to keep it


def sniff(data: bytes) -> tuple[str, str] | None:
    """The content type and file suffix the bytes really are, or None if not an allowed kind."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "image/heic", ".heic"
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return "application/pdf", ".pdf"
    return None


def download_name(number: int, content_type: str) -> str:
    """The name a stored file is downloaded under: its kind and number (``photo-12.jpg``),
    never the name it was uploaded with."""
    stem, suffix = DOWNLOAD_NAMES.get(content_type, ("file", ".bin"))
    return f"{stem}-{number}{suffix}"


# -- photos -------------------------------------------------------------------------------


def _open_image(data: bytes) -> Image.Image | None:
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


# -- checking and storing -----------------------------------------------------------------


def _not_allowed(name: str) -> RuleError:
    return RuleError(
        _("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or a PDF.", name=name), field="files"
    )


def _too_large(name: str) -> RuleError:
    return RuleError(
        _(
            "%(name)s is larger than %(size)s MB.",
            name=name,
            size=MAX_EVIDENCE_BYTES // (1024 * 1024),
        ),
        field="files",
    )


def check_upload(upload: Upload) -> CheckedFile:
    """A photo (JPEG, PNG, WebP, HEIC) or PDF of at most 10 MB, whatever its name says,
    rewritten clean (the photo's place read first, when the person chose to keep it)."""
    name = upload.name or "file"
    if not upload.data:
        raise RuleError(_("%(name)s is empty.", name=name), field="files")
    if len(upload.data) > MAX_EVIDENCE_BYTES:
        raise _too_large(name)
    kind = sniff(upload.data)
    if kind is None:
        raise _not_allowed(name)
    if kind[0] == "application/pdf":
        try:
            data = clean_pdf(upload.data)
        except PdfRefused as refused:
            if refused.reason == "encrypted":
                raise RuleError(
                    _(
                        "%(name)s is protected with a password or encryption: save it "
                        "without protection and choose it again.",
                        name=name,
                    ),
                    field="files",
                ) from refused
            raise RuleError(
                _(
                    "%(name)s cannot be read as a PDF: it may be damaged. Save it again "
                    "as a PDF and choose it again.",
                    name=name,
                ),
                field="files",
            ) from refused
        content_type, suffix, place = "application/pdf", ".pdf", None
    else:
        image = _open_image(upload.data)
        if image is None:
            raise _not_allowed(name)
        with image:
            # The place is kept only as a field the person chose and a reviewer sees on the
            # page, never hidden in the file: the rewritten photo carries no GPS either way.
            place = upload.place or (photo_place(image) if upload.keep_place else None)
            data, content_type, suffix = rewrite_photo(image, kind[0])
    if len(data) > MAX_EVIDENCE_BYTES:
        raise _too_large(name)
    return CheckedFile(name, data, content_type, suffix, place if upload.keep_place else None)


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


def check_uploads(uploads: list[Upload], already: int) -> list[CheckedFile]:
    """Check every file before anything is stored: at most five per log, each allowed."""
    uploads = [upload for upload in uploads if upload.name or upload.data]
    if already + len(uploads) > MAX_EVIDENCE_PER_LOG:
        raise RuleError(
            _("At most %(count)d files can be attached.", count=MAX_EVIDENCE_PER_LOG),
            field="files",
        )
    return [check_upload(upload) for upload in uploads]


def store(files: list[CheckedFile]) -> list[dict[str, Any]]:
    """Store checked (clean) files, undone if the transaction rolls back; the columns of each.
    The size and SHA-256 are those of the stored bytes, so that they check the file kept."""
    stored = []
    for checked in files:
        thumb = None
        if checked.content_type.startswith("image/"):
            thumb = save_file(db.session, thumbnail(checked.data), ".jpg")
        stored.append(
            {
                "storage_key": save_file(db.session, checked.data, checked.suffix),
                "thumbnail_key": thumb,
                "original_name": _safe_name(checked.name),
                "content_type": checked.content_type,
                "size_bytes": len(checked.data),
                "sha256": hashlib.sha256(checked.data).hexdigest(),
                "place": checked.place,
            }
        )
    return stored


def remove(stored: StoredFile) -> None:
    """Detach a file (evidence or attachment); its bytes go once the removal is committed."""
    for key in (stored.storage_key, stored.thumbnail_key):
        if key:
            delete_file_after_commit(db.session, key)
    db.session.delete(stored)
    db.session.flush()


def _safe_name(name: str) -> str:
    """The file name without folders or control characters, at most 255 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or "file"
    return name[-255:]
