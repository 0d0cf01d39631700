"""Uploaded files (hour-log evidence, report attachments): photos and PDFs judged by their
content, stored by random keys, with a thumbnail for photos."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.storage import delete_file_after_commit, save_file
from lca.models.hours import MAX_EVIDENCE_BYTES, MAX_EVIDENCE_PER_LOG, StoredFile

register_heif_opener()

THUMBNAIL_SIZE = (320, 320)
MAX_PIXELS = 60_000_000  #: larger than any phone photo; refuses decompression bombs
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name the person's device gave it, and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    name: str
    data: bytes
    content_type: str
    suffix: str


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
    if data.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    return None


def _readable_image(data: bytes) -> bool:
    """The image decodes, and is not absurdly large once decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return False
                image.verify()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return False
    return True


def check_upload(upload: Upload) -> CheckedFile:
    """A photo (JPEG, PNG, WebP, HEIC) or PDF of at most 10 MB, whatever its name says."""
    name = upload.name or "file"
    if not upload.data:
        raise RuleError(_("%(name)s is empty.", name=name), field="files")
    if len(upload.data) > MAX_EVIDENCE_BYTES:
        raise RuleError(
            _(
                "%(name)s is larger than %(size)s MB.",
                name=name,
                size=MAX_EVIDENCE_BYTES // (1024 * 1024),
            ),
            field="files",
        )
    kind = sniff(upload.data)
    readable = kind is not None and (
        _readable_image(upload.data)
        if kind[0].startswith("image/")
        else b"%%EOF" in upload.data[-2048:]
    )
    if kind is None or not readable:
        raise RuleError(
            _("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or a PDF.", name=name),
            field="files",
        )
    return CheckedFile(name=name, data=upload.data, content_type=kind[0], suffix=kind[1])


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of a photo, turned upright, without the photo's metadata."""
    with Image.open(io.BytesIO(data)) as image:
        small = ImageOps.exif_transpose(image)
        small.thumbnail(THUMBNAIL_SIZE)
        if small.mode not in ("RGB", "L"):
            small = small.convert("RGB")
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
    """Store checked files (undone if the transaction rolls back); the columns of each."""
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
