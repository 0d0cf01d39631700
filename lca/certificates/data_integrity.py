"""W3C Data Integrity proofs with the EdDSA cryptosuite ``eddsa-rdfc-2022``
(https://www.w3.org/TR/vc-di-eddsa/ §3.3): the document and the proof configuration are
canonicalised with RDFC-1.0 (PyLD's "URDNA2015", N-Quads), each is hashed with SHA-256, and the
proof configuration's hash followed by the document's is signed with Ed25519; the signature is
the proof's ``proofValue`` in multibase base58btc ("z…").

JSON-LD contexts come only from the copies pinned beside this module (contexts/, see
SOURCE.md): nothing is fetched from the network, and a document naming any other context is
refused. Every term must be defined by those contexts; a term that only the VC 2.0 context's
catch-all ``@vocab`` (…/issuer-dependent#) would map, or one that JSON-LD would silently drop,
is refused as :class:`UndefinedTerm`, as jsonld.js refuses it in safe mode.

Pure functions, no Flask: the credential module decides what to sign and with which key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import base58

# cryptography (9 MB with its Rust core) is imported where a proof is made or checked, or a
# key encoded: the pages that show a certificate do none of it
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ISSUER_DEPENDENT_VOCAB = "https://www.w3.org/ns/credentials/issuer-dependent#"
# the multicodec "ed25519-pub" (0xed) as an unsigned varint, before the 32 bytes of a key
ED25519_PUB_PREFIX = b"\xed\x01"

CONTEXTS_DIR = Path(__file__).with_name("contexts")
# each pinned context: its canonical URL and the file here that holds it verbatim
PINNED_CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
}

DocumentLoader = Callable[[str, Any], dict[str, Any]]
# "scheme:" (RFC 3986) or a blank node "_:"; what JSON-LD keeps when it makes RDF
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*|_):\S*$")


class ContextNotPinned(ValueError):
    """A document named a JSON-LD context that is not pinned here."""

    def __init__(self, url: object) -> None:
        super().__init__(f"JSON-LD context not pinned in LCA (never fetched): {url!r}")
        self.url = url


class UndefinedTerm(ValueError):
    """A term (or IRI) in the document that the contexts do not define."""

    def __init__(self, term: str, why: str) -> None:
        super().__init__(f"term not defined by the document's contexts: {term!r} ({why})")
        self.term = term


@dataclass(frozen=True)
class ProofResult:
    """What checking a document's proof found: ``verified``, or the ``problem``:
    "not_an_object", "no_proof", "malformed_proof", "wrong_suite", "wrong_purpose",
    "context_mismatch", "unknown_key", "undefined_term", "unpinned_context",
    "invalid_jsonld", "bad_signature"; ``verification_method`` as the proof names it."""

    verified: bool
    problem: str | None = None
    verification_method: str | None = None


_pinned: dict[str, dict[str, Any]] = {}
# PyLD's shared cache of processed contexts is a plain LRU cache, not safe for threads that
# change it at once; one canonicalisation at a time in a process (each takes milliseconds)
_pyld_lock = threading.RLock()


def _pinned_document(url: str) -> dict[str, Any] | None:
    name = PINNED_CONTEXTS.get(url)
    if name is None:
        return None
    if url not in _pinned:
        _pinned[url] = json.loads((CONTEXTS_DIR / name).read_text(encoding="utf-8"))
    return _pinned[url]


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """The JSON-LD document loader (PyLD's interface): a pinned context by its URL (with or
    without a fragment); any other URL raises :class:`ContextNotPinned`."""
    document = _pinned_document(url.split("#", 1)[0]) if isinstance(url, str) else None
    if document is None:
        raise ContextNotPinned(url)
    # "static": PyLD keeps the processed context in its shared cache only for a document so
    # tagged (as jsonld.js does); without it every canonicalisation re-processes the contexts
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(document),
        "tag": "static",
    }


def _check_iri(value: object, why: str) -> None:
    if not isinstance(value, str) or not _ABSOLUTE_IRI.match(value):
        raise UndefinedTerm(str(value), why)
    if value.startswith(ISSUER_DEPENDENT_VOCAB):
        raise UndefinedTerm(
            value.removeprefix(ISSUER_DEPENDENT_VOCAB),
            "only the VC 2.0 issuer-dependent @vocab maps it",
        )


def _check_expanded(node: object) -> None:
    """Every property, type and identifier of an expanded document is an absolute IRI that a
    context defines (not the issuer-dependent catch-all)."""
    if isinstance(node, list):
        for item in node:
            _check_expanded(item)
        return
    if not isinstance(node, dict):
        return
    is_value = "@value" in node
    for key, value in node.items():
        if key == "@type":
            for kind in value if isinstance(value, list) else [value]:
                if not (is_value and kind == "@json"):
                    _check_iri(kind, "a type that is not an absolute IRI")
        elif key == "@id":
            _check_iri(value, "an identifier that is not an absolute IRI")
        elif key in ("@value", "@language", "@direction", "@index", "@context"):
            continue
        elif key == "@reverse":
            for prop, items in value.items():
                _check_iri(prop, "a reverse property that is not an absolute IRI")
                _check_expanded(items)
        elif key.startswith("@"):
            _check_expanded(value)
        else:
            if key.startswith("_:"):
                raise UndefinedTerm(key, "a blank-node property, which RDF cannot hold")
            _check_iri(key, "a property that is not an absolute IRI")
            _check_expanded(value)


def expand_strictly(document: dict[str, Any], loader: DocumentLoader = document_loader) -> Any:
    """The document in expanded JSON-LD, refusing any term the contexts do not define."""
    # PyLD (with lxml, 10 MB) is imported by the signing and checking of credentials alone
    from pyld import jsonld  # type: ignore[import-untyped]

    dropped: list[str | None] = []
    expanded = jsonld.expand(
        document,
        {"documentLoader": loader, "base": None},
        on_property_dropped=dropped.append,
    )
    if dropped:
        raise UndefinedTerm(str(dropped[0]), "no context defines it and JSON-LD drops it")
    _check_expanded(expanded)
    return expanded


def canonical_nquads(document: dict[str, Any], loader: DocumentLoader = document_loader) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (every term defined, every context
    pinned; raises :class:`UndefinedTerm` or :class:`ContextNotPinned` otherwise)."""
    from pyld import jsonld

    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader,
        "base": None,
    }
    with _pyld_lock:
        try:
            expanded = expand_strictly(document, loader)
        except jsonld.JsonLdError as error:
            _raise_cause(error)
            raise
        nquads: str = jsonld.normalize(expanded, options)
    return nquads


def _raise_cause(error: BaseException) -> None:
    """PyLD wraps the loader's error (several times); raise ours if it is one of them."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ContextNotPinned | UndefinedTerm):
            raise seen
        details = getattr(seen, "details", None)
        cause = details.get("cause") if isinstance(details, dict) else None
        seen = seen.__cause__ or (cause if isinstance(cause, BaseException) else None)


# --- multibase keys and signatures ----------------------------------------------------------


def multibase_encode(data: bytes) -> str:
    """Multibase base58btc: "z" followed by the bytes in base58 (Bitcoin alphabet)."""
    return "z" + base58.b58encode(data).decode("ascii")


def multibase_decode(text: str) -> bytes:
    """The bytes of a multibase base58btc string; ValueError if it is not one."""
    if not isinstance(text, str) or not text.startswith("z") or len(text) < 2:
        raise ValueError("not a multibase base58btc value (it must start with 'z')")
    return base58.b58decode(text[1:])


def multikey_from_public(key: Ed25519PublicKey) -> str:
    """The Multikey ``publicKeyMultibase`` of an Ed25519 public key ("z6Mk…")."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return multibase_encode(ED25519_PUB_PREFIX + raw)


def public_from_multikey(text: str) -> Ed25519PublicKey:
    """The Ed25519 public key of a Multikey ``publicKeyMultibase``; ValueError otherwise."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = multibase_decode(text)
    if len(data) != 34 or not data.startswith(ED25519_PUB_PREFIX):
        raise ValueError("not an Ed25519 Multikey (multicodec 0xed01 and 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def proof_value(signature: bytes) -> str:
    """A signature as a proof's ``proofValue``."""
    return multibase_encode(signature)


def signature_from_proof_value(text: str) -> bytes:
    """The 64-byte Ed25519 signature of a ``proofValue``; ValueError otherwise."""
    signature = multibase_decode(text)
    if len(signature) != 64:
        raise ValueError("an Ed25519 signature has 64 bytes")
    return signature


# --- the cryptosuite ------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the proof's creation time needs a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(
    unsecured: dict[str, Any], proof_config: dict[str, Any], loader: DocumentLoader
) -> bytes:
    """§3.3.4/§3.3.5: SHA-256 of the canonical proof configuration, then of the document."""
    config_hash = hashlib.sha256(canonical_nquads(proof_config, loader).encode()).digest()
    document_hash = hashlib.sha256(canonical_nquads(unsecured, loader).encode()).digest()
    return config_hash + document_hash


def add_proof(
    document: dict[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    proof_purpose: str = "assertionMethod",
    loader: DocumentLoader = document_loader,
    as_list: bool = False,
) -> dict[str, Any]:
    """A copy of ``document`` with an embedded ``eddsa-rdfc-2022`` DataIntegrityProof
    (vc-di-eddsa §3.3.1): the proof configuration carries the document's ``@context``.
    With ``as_list`` the proof is a one-element array (a proof set of one), as the Open Badges
    3.0 JSON schema requires of a credential's ``proof``; the signature is the same."""
    if "proof" in document:
        raise ValueError("the document already has a proof (proof sets are not made here)")
    if "@context" not in document:
        raise ValueError("a Data Integrity proof needs the document's @context")
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _timestamp(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    config = dict(options, **{"@context": document["@context"]})
    signature = private_key.sign(_hash_data(document, config, loader))
    proof = dict(options, proofValue=proof_value(signature))
    return dict(document, proof=[proof] if as_list else proof)


def verify_proof(
    document: object,
    public_key_for: Callable[[str], Ed25519PublicKey | None],
    expected_purpose: str = "assertionMethod",
    loader: DocumentLoader = document_loader,
) -> ProofResult:
    """Check a document's embedded ``eddsa-rdfc-2022`` proof (vc-di-eddsa §3.3.2). Takes any
    JSON value and never raises on what it is given; ``proof`` may be one proof or a list of
    exactly one (a larger proof set is "malformed_proof"); ``public_key_for`` is called with the
    proof's verification method (a string) and returns its key, or None if it is not one of
    the issuer's."""
    if not isinstance(document, dict):
        return ProofResult(False, "not_an_object")
    proof = document.get("proof")
    if proof is None or proof == []:
        return ProofResult(False, "no_proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]  # a proof set of one (how Open Badges 3.0 writes it)
    if not isinstance(proof, dict):
        return ProofResult(False, "malformed_proof")
    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) else None
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return ProofResult(False, "wrong_suite", method)
    if method is None or not isinstance(proof.get("proofValue"), str):
        return ProofResult(False, "malformed_proof")
    created = proof.get("created")
    if created is not None and not _is_timestamp(created):
        return ProofResult(False, "malformed_proof", method)
    if proof.get("proofPurpose") != expected_purpose:
        return ProofResult(False, "wrong_purpose", method)
    try:
        signature = signature_from_proof_value(proof["proofValue"])
    except ValueError:
        return ProofResult(False, "malformed_proof", method)

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in options:
        # the document's contexts must begin with the proof's, in the same order
        wanted = _as_list(options["@context"])
        if _as_list(unsecured.get("@context"))[: len(wanted)] != wanted:
            return ProofResult(False, "context_mismatch", method)
        unsecured["@context"] = options["@context"]
    options["@context"] = unsecured.get("@context")

    key = public_key_for(method)
    if key is None:
        return ProofResult(False, "unknown_key", method)
    try:
        data = _hash_data(unsecured, options, loader)
    except UndefinedTerm:
        return ProofResult(False, "undefined_term", method)
    except ContextNotPinned:
        return ProofResult(False, "unpinned_context", method)
    except Exception:  # hostile JSON-LD: PyLD raises errors of many kinds
        return ProofResult(False, "invalid_jsonld", method)
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, data)
    except InvalidSignature:
        return ProofResult(False, "bad_signature", method)
    return ProofResult(True, None, method)


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


_DATE_TIME_STAMP = re.compile(
    r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def _is_timestamp(value: object) -> bool:
    """An XML Schema dateTimeStamp (a date-time with its time zone), as the proof's
    ``created`` must be."""
    if not isinstance(value, str) or not _DATE_TIME_STAMP.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
