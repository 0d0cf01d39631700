"""The issuer as a did:web at LCA's public address: the identifier every credential names as its
issuer, and the DID document (/.well-known/did.json) that lists the issuer's proof keys, the
current one and those retired, so a credential signed before a rotation still verifies.

did:web turns an address into an identifier: https://lca.example.org is did:web:lca.example.org,
a port is written %3A (did:web:localhost%3A8443) and a path adds segments
(https://example.org/lca is did:web:example.org:lca, its document at /lca/did.json).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app, has_request_context, request

from lca.certificates.data_integrity import multikey_from_public
from lca.certificates.keys import ed25519_public, proof_keys
from lca.web.addresses import public_url

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def did_for(address: str) -> str:
    """The did:web of a public address (scheme, host, port and path; no trailing slash)."""
    parts = urlsplit(address)
    host = (parts.hostname or "").lower()
    if parts.port:
        host += f"%3A{parts.port}"
    segments = [quote(segment, safe="") for segment in parts.path.split("/") if segment]
    return ":".join(["did", "web", host, *segments])


def former_addresses() -> list[str]:
    """Addresses LCA was reached at before (LCA_FORMER_PUBLIC_URLS) that still reach it:
    the credentials issued there name that address's DID as their issuer."""
    value = current_app.config.get("LCA_FORMER_PUBLIC_URLS") or ""
    return [address.rstrip("/") for address in value.replace(",", " ").split() if address]


def serving_address() -> str:
    """The address a document about the issuer is served for: the one the request came to if
    credentials were issued there (a former address), else today's public address."""
    current = public_url()
    if has_request_context():
        asked = request.host_url.rstrip("/")
        script = request.script_root.rstrip("/")
        for address in former_addresses():
            if address in (asked, asked + script):
                return address
    return current


def method_id(did: str, thumbprint: str) -> str:
    """The verification method of one proof key: the DID and the key's JWK thumbprint."""
    return f"{did}#{thumbprint}"


def did_document(address: str) -> dict:
    """The DID document of the issuer at ``address``: every proof key (current first) as a
    Multikey that may make assertions (the credentials' proofs)."""
    did = did_for(address)
    methods = [
        {
            "id": method_id(did, key.thumbprint()),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey_from_public(ed25519_public(key)),
        }
        for key in proof_keys()
    ]
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
