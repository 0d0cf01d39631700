"""Revocation as a W3C Bitstring Status List (v1.0): each certificate holds a place in a list of
131,072 bits, chosen at random when it is issued (so a place says nothing about when, or in
what order, certificates were issued); its bit is set once the certificate is revoked or
superseded. The list is published as a signed BitstringStatusListCredential.

The bits are read from the certificates' own status when the list is served, so revoking and
superseding set the bit in the same transaction that changes the status: the two cannot
disagree. A list is signed once per content (and per key and address), not on every fetch.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import func, select

from lca.certificates.data_integrity import add_proof
from lca.certificates.did import did_for, method_id
from lca.certificates.keys import ed25519_private, proof_key
from lca.core.db import db
from lca.models import Certificate, CertificateStatus

LIST_SIZE = 131_072  #: the specification's minimum: 16 KB, herd privacy for every holder
#: a list takes new certificates until it is this full, so a random free place is found at
#: once (one more certificate in 16,000 or so needs a second draw)
FILL_LIMIT = LIST_SIZE // 2
PURPOSE = "revocation"
CONTEXTS = ["https://www.w3.org/ns/credentials/v2"]


def list_url(address: str, number: int) -> str:
    return f"{address}/credentials/status/{number}"


def status_entry(address: str, number: int, index: int) -> dict:
    """A credential's credentialStatus: its place in list ``number`` at ``address``."""
    url = list_url(address, number)
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def allocate_place() -> tuple[int, int]:
    """A free place for a new certificate: (list number, index), the index drawn at random
    among the list's free ones. (Two issued at the same moment may draw the same place; the
    database's uniqueness then refuses the second, which draws again.)"""
    number = 1
    while True:
        used = db.session.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.status_list == number)
        )
        if (used or 0) < FILL_LIMIT:
            break
        number += 1
    while True:
        index = secrets.randbelow(LIST_SIZE)
        taken = db.session.scalar(
            select(Certificate.id).where(
                Certificate.status_list == number, Certificate.status_index == index
            )
        )
        if taken is None:
            return number, index


def revoked_places(number: int) -> list[int]:
    """The indices of list ``number`` whose certificate is no longer valid."""
    return list(
        db.session.scalars(
            select(Certificate.status_index).where(
                Certificate.status_list == number, Certificate.status != CertificateStatus.VALID
            )
        )
    )


def encoded_list(indices: list[int]) -> str:
    """The bitstring with these bits set (bit 0 the leftmost of the first byte), GZIP-compressed
    and written as multibase base64url without padding ("u…"), as the specification says."""
    bits = bytearray(LIST_SIZE // 8)
    for index in indices:
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime 0: the same bits give the same bytes (the list is signed once per content)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decoded_list(encoded: str) -> bytes:
    """The bitstring of an encodedList (for checks and tests)."""
    data = encoded.removeprefix("u")
    return gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))


def bit_is_set(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def list_exists(number: int) -> bool:
    return (
        db.session.scalar(select(Certificate.id).where(Certificate.status_list == number).limit(1))
        is not None
    )


_signed: dict[str, dict] = {}


def status_list_credential(address: str, number: int) -> dict:
    """The signed BitstringStatusListCredential of list ``number`` as served at ``address``.
    Signed again only when a bit (or the key, or the address) changes; ``validFrom`` is the
    moment it was signed."""
    encoded = encoded_list(revoked_places(number))
    key = proof_key()
    cache_key = hashlib.sha256(f"{address}|{number}|{key.thumbprint()}|{encoded}".encode())
    digest = cache_key.hexdigest()
    if digest not in _signed:
        did = did_for(address)
        url = list_url(address, number)
        now = datetime.now(UTC).replace(microsecond=0)
        document = {
            "@context": CONTEXTS,
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": did,
            "validFrom": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": PURPOSE,
                "encodedList": encoded,
            },
        }
        signed = add_proof(document, ed25519_private(key), method_id(did, key.thumbprint()), now)
        if len(_signed) > 64:
            _signed.clear()
        _signed[digest] = signed
    return _signed[digest]
