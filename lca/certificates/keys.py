"""The issuer's keys, kept in LCA_KEYS_DIR (by default LCA_DATA_DIR/keys; never in the file
store, never in the database):

- the **proof key** (Ed25519): it makes the Data Integrity proof (eddsa-rdfc-2022) embedded in
  every credential and in the status lists; the DID document publishes it as a Multikey;
- the **JWT key** (ES256, P-256): it signs the credential's JWT form, as Open Badges 3.0 §8.2
  asks (RS256 or ES256); each key is published on its own at the URL its ``kid`` names;
- the **PDF signing certificate** (lca.certificates.pdf_signing), unless the operator configures
  an organisation's certificate.

A rotation makes new keys and keeps the public half of the old ones (``retired-…``) published,
so that every credential issued before stays verifiable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from lca.core.config import keys_folder_of

# joserfc and cryptography (9 MB with its Rust core) are imported by the functions that read,
# make or check a key: the pages that show a certificate use none
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from joserfc.jwk import ECKey, OKPKey

PROOF_KEY_FILE = "issuer-ed25519.jwk.json"  #: the name the first round gave the key, kept
JWT_KEY_FILE = "jwt-es256.jwk.json"
RETIRED = "retired-{kind}{thumbprint}.public.json"
JWT_ALGORITHM = "ES256"


class SigningKeyMissing(RuntimeError):
    """No issuer key yet: `flask --app wsgi lca keys generate` makes them."""


def keys_dir() -> Path:
    """LCA_KEYS_DIR: LCA_DATA_DIR/keys unless the operator keeps the keys with the secrets."""
    return keys_folder_of(current_app.config)


def _write_private(path: Path, key: OKPKey | ECKey) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(key.as_dict(private=True), file)


def _read(path: Path) -> OKPKey | ECKey:
    from joserfc.jwk import ECKey, OKPKey

    data = json.loads(path.read_text())
    return OKPKey.import_key(data) if data.get("kty") == "OKP" else ECKey.import_key(data)


def _new(kind: str) -> OKPKey | ECKey:
    from joserfc.jwk import ECKey, OKPKey

    return OKPKey.generate_key("Ed25519") if kind == "proof" else ECKey.generate_key("P-256")


_FILES = {"proof": PROOF_KEY_FILE, "jwt": JWT_KEY_FILE}
#: retired proof keys keep the first round's name (retired-<thumbprint>), JWT keys say so
_RETIRED_PREFIX = {"proof": "", "jwt": "jwt-"}


def generate_keys(rotate: bool = False) -> dict[str, str]:
    """Make the proof key, the JWT key and the self-signed PDF signing certificate where they
    are missing (or, with ``rotate``, new ones, the old public keys and certificate kept as
    retired); returns {kind: key id} of the keys now in use ("proof", "jwt", and "pdf": the
    certificate's file), and {"retired-proof": …, "retired-jwt": …} for those a rotation
    retired."""
    from lca.certificates.issuer import load_issuer
    from lca.certificates.pdf_signing import ensure_self_signed

    folder = keys_dir()
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    for kind, name in _FILES.items():
        path = folder / name
        if path.exists():
            if not rotate:
                made[kind] = _read(path).thumbprint()
                continue
            old = _read(path)
            retired = RETIRED.format(kind=_RETIRED_PREFIX[kind], thumbprint=old.thumbprint())
            (folder / retired).write_text(json.dumps(old.as_dict(private=False)))
            made[f"retired-{kind}"] = old.thumbprint()
        key = _new(kind)
        _write_private(path, key)
        made[kind] = key.thumbprint()
    made["pdf"] = ensure_self_signed(folder, load_issuer()["issuer"], force=rotate).name
    return made


def _current(kind: str) -> OKPKey | ECKey:
    path = keys_dir() / _FILES[kind]
    if not path.exists():
        raise SigningKeyMissing("No issuer signing key. Run: flask --app wsgi lca keys generate")
    return _read(path)


def proof_key() -> OKPKey:
    """The Ed25519 key that signs credentials and status lists now."""
    from joserfc.jwk import OKPKey

    key = _current("proof")
    if not isinstance(key, OKPKey):
        raise SigningKeyMissing(f"{PROOF_KEY_FILE} does not hold an Ed25519 key.")
    return key


def jwt_key() -> ECKey:
    """The P-256 key that signs credentials' JWT form now."""
    from joserfc.jwk import ECKey

    key = _current("jwt")
    if not isinstance(key, ECKey):
        raise SigningKeyMissing(f"{JWT_KEY_FILE} does not hold a P-256 key.")
    return key


def _published(kind: str) -> list[OKPKey | ECKey]:
    """The public keys of one kind: the current one first, then those retired."""
    folder = keys_dir()
    if not folder.exists():
        return []
    keys = [_read(folder / _FILES[kind])] if (folder / _FILES[kind]).exists() else []
    kty = "OKP" if kind == "proof" else "EC"
    for path in sorted(folder.glob("retired-*.public.json")):
        key = _read(path)
        if key.as_dict()["kty"] == kty:
            keys.append(key)
    return keys


def proof_keys() -> list[OKPKey]:
    from joserfc.jwk import OKPKey

    return [key for key in _published("proof") if isinstance(key, OKPKey)]


def jwt_keys() -> list[ECKey]:
    from joserfc.jwk import ECKey

    return [key for key in _published("jwt") if isinstance(key, ECKey)]


def ed25519_private(key: OKPKey) -> Ed25519PrivateKey:
    """The proof key's private half, as `cryptography` signs with it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = key.private_key
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyMissing(f"{PROOF_KEY_FILE} does not hold an Ed25519 private key.")
    return private


def ed25519_public(key: OKPKey) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = key.public_key
    if not isinstance(public, Ed25519PublicKey):
        raise SigningKeyMissing("A published proof key is not an Ed25519 key.")
    return public
