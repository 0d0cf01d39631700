"""Check a file someone holds against what LCA issued, without keeping it: a certificate PDF
by its SHA-256 (the frozen file's), a credential or a badge's baked credential by
``check_credential`` (its proof and its content). What the file is decides, not its name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lca.certificates.badge import NotAnImage, png_credential, svg_credential
from lca.certificates.credential import check_credential
from lca.core.db import db
from lca.models import Certificate

MAX_CHECK_BYTES = 5 * 1024 * 1024  #: the largest file the check accepts

#: what a file can be: a certificate PDF, a credential (.json), a badge image (.png/.svg)
PDF, CREDENTIAL, BADGE = "pdf", "credential", "badge"


@dataclass(frozen=True)
class FileCheck:
    """What the check found: the kind of file, the certificate it is (if any), whether it is
    exactly what LCA issued, and if not why: "empty", "unknown" (not a PDF, a credential or a
    badge), "pdf_unknown" (a PDF LCA did not issue, or one changed since), "no_credential" (an
    image without a baked credential), or one of check_credential's problems ("not_json",
    "not_ours", "no_proof", "bad_signature", "altered")."""

    kind: str | None
    certificate: Certificate | None = None
    genuine: bool = False
    problem: str | None = None


def _kind(data: bytes) -> str | None:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"<"):
        return BADGE
    if head.startswith((b"{", b"[")):
        return CREDENTIAL
    return None


def check_file(data: bytes) -> FileCheck:
    """Check an uploaded file (at most MAX_CHECK_BYTES, which the caller enforces)."""
    if not data:
        return FileCheck(None, problem="empty")
    kind = _kind(data)
    if kind == PDF:
        digest = hashlib.sha256(data).hexdigest()
        certificate = db.session.scalar(
            select(Certificate)
            .where(Certificate.pdf_sha256 == digest)
            .options(joinedload(Certificate.superseded_by))
        )
        if certificate is None:
            return FileCheck(PDF, problem="pdf_unknown")
        return FileCheck(PDF, certificate, genuine=True)
    if kind == BADGE:
        try:
            text = png_credential(data) if data.startswith(b"\x89PNG") else svg_credential(data)
        except NotAnImage:
            return FileCheck(None, problem="unknown")
        if text is None:
            return FileCheck(BADGE, problem="no_credential")
        return _credential(BADGE, text)
    if kind == CREDENTIAL:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return FileCheck(CREDENTIAL, problem="not_json")
        return _credential(CREDENTIAL, text)
    return FileCheck(None, problem="unknown")


def _credential(kind: str, text: str) -> FileCheck:
    try:
        found = check_credential(text)
    except RecursionError:  # JSON nested deeper than a parser goes: not a credential
        return FileCheck(kind, problem="not_json")
    return FileCheck(kind, found.certificate, found.genuine, found.problem)
