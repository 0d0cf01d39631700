"""Uploaded files (hour-log evidence, report attachments): photos and PDFs judged by their
content, then rewritten before they are stored by random keys, with a thumbnail for photos.

Nothing is stored as it came. A photo is decoded and written again as a fresh image (EXIF
metadata, GPS position, comments and anything after the picture are gone); a PDF is opened
with pikepdf, its active content (JavaScript, actions, embedded files, forms' XFA) removed,
and saved as a fresh file (nothing before ``%PDF`` or after ``%%EOF``, no incremental
updates): lca/core/rewriting.py. What cannot be decoded or cleaned is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.storage import delete_file_after_commit, save_file
from lca.models.hours import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_PER_LOG, StoredFile

HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
#: how far into a file a PDF may start: PDF readers accept a little junk before ``%PDF-``;
#: the clean copy begins with ``%PDF-`` itself
PDF_HEADER_WINDOW = 1024
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
    # Pillow, its HEIF plug-in and pikepdf (13 MB) are loaded by the first upload, not by
    # every worker
    from lca.core.rewriting import PdfRefused, clean_pdf, open_image, photo_place, rewrite_photo

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
        image = open_image(upload.data)
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
            from lca.core.rewriting import thumbnail

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
