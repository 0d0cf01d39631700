"""Each certificate as an Open Badges 3.0 AchievementCredential (VC Data Model 2.0 shape),
signed as a VC-JWT (compact JWS) with an Ed25519 key through joserfc; the issuer's public keys
are published as a JWK set.

The JWS algorithm is named "Ed25519", the fully specified name of EdDSA over Ed25519 that
RFC 9864 (2025) introduced when it deprecated the polymorphic "EdDSA".
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, date, datetime, time
from pathlib import Path

from flask import current_app
from joserfc import jws
from joserfc.jwk import KeySet, KeySetSerialization, OKPKey

from lca.models import Certificate, CertificateLanguage, CertificateStatus
from lca.web.addresses import public_url

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
KEY_FILE = "issuer-ed25519.jwk.json"
JWS_ALGORITHM = "Ed25519"
ACHIEVEMENT_SLUG = "city-administrator"


class SigningKeyMissing(RuntimeError):
    """No issuer key yet: `flask --app wsgi lca keys generate` makes one."""


def _keys_dir() -> Path:
    return Path(current_app.config["LCA_DATA_DIR"]) / "keys"


def generate_key(force: bool = False) -> tuple[Path, str]:
    """Make the issuer's Ed25519 signing key (private, mode 0600); returns its path and key id.
    An existing key is kept unless ``force``; the old public key stays published."""
    folder = _keys_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE
    if path.exists() and not force:
        return path, OKPKey.import_key(json.loads(path.read_text())).thumbprint()
    if path.exists():
        retired = json.loads(path.read_text())
        old = OKPKey.import_key(retired)
        (folder / f"retired-{old.thumbprint()}.public.json").write_text(
            json.dumps(old.as_dict(private=False))
        )
    key = OKPKey.generate_key("Ed25519")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(key.as_dict(private=True), file)
    return path, key.thumbprint()


def signing_key() -> OKPKey:
    path = _keys_dir() / KEY_FILE
    if not path.exists():
        raise SigningKeyMissing("No issuer signing key. Run: flask --app wsgi lca keys generate")
    return OKPKey.import_key(json.loads(path.read_text()))


def public_keys() -> KeySetSerialization:
    """The JWK set of the current and retired public keys, each with its key id."""
    keys = []
    folder = _keys_dir()
    if (folder / KEY_FILE).exists():
        keys.append(signing_key())
    for retired in sorted(folder.glob("retired-*.public.json")) if folder.exists() else []:
        keys.append(OKPKey.import_key(json.loads(retired.read_text())))
    return {
        "keys": [
            dict(k.as_dict(private=False), kid=k.thumbprint(), use="sig", alg=JWS_ALGORITHM)
            for k in keys
        ]
    }


def _stamp(value: str) -> str:
    """A date or timestamp from the snapshot as an ISO 8601 UTC date-time ("…Z")."""
    if "T" in value:
        moment = datetime.fromisoformat(value)
    else:
        moment = datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer_profile(snapshot: dict, public_url: str, language: str = "en") -> dict:
    issuer = snapshot["issuer"]
    profile = {
        "id": f"{public_url}/issuer",
        "type": ["Profile"],
        "name": issuer[f"name_{language}"],
        "url": issuer["url"],
    }
    if issuer.get("email"):
        profile["email"] = issuer["email"]
    return profile


def issuer_profile() -> dict:
    """The issuer's Profile as published at /issuer (from seed/issuer.yaml)."""
    from lca.certificates.issuer import load_issuer

    profile = _issuer_profile(load_issuer(), public_url())
    profile["@context"] = CONTEXTS
    return profile


def credential_id(certificate: Certificate) -> str:
    """The credential's identifier, on the address frozen at issue (never today's setting)."""
    return f"{certificate.public_url}/verify/{certificate.code}/credential.json"


def achievement_id(public: str, language: str) -> str:
    """The achievement in one language: the English one at the plain address, the Thai one
    beside it (each names the other as its related achievement in the other language)."""
    base = f"{public}/achievements/{ACHIEVEMENT_SLUG}"
    return base if language == "en" else f"{base}/{language}"


def achievement(course: dict, public: str, language: str) -> dict:
    """The Achievement in ``language`` ("th" or "en"): its texts are in that language and
    ``inLanguage`` says so; ``related`` points to the same achievement in the other one."""
    other = "en" if language == "th" else "th"
    return {
        "id": achievement_id(public, language),
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": course[f"title_{language}"],
        "description": course[f"description_{language}"],
        "criteria": {"narrative": course[f"criteria_{language}"]},
        "humanCode": "CA",
        "inLanguage": language,
        "related": [
            {"id": achievement_id(public, other), "type": ["Related"], "inLanguage": other}
        ],
    }


def credential_language(certificate: Certificate) -> str:
    """The language of a credential's texts: Thai for a certificate issued in Thai only,
    otherwise English (a verifier abroad reads it; the Thai version is its related one)."""
    return "th" if certificate.language is CertificateLanguage.THAI else "en"


def build_credential(certificate: Certificate) -> dict:
    """The AchievementCredential of a certificate, from what it said when it was issued; its
    identifiers and links are on the public address of that day, as the PDF's QR code is."""
    snapshot, public = certificate.snapshot, certificate.public_url
    course, learner = snapshot["course"], snapshot["learner"]
    language = credential_language(certificate)
    salt = hashlib.sha256(f"{certificate.code}:salt".encode()).hexdigest()[:16]
    email_hash = hashlib.sha256((learner.get("email", "") + salt).encode()).hexdigest()
    return {
        "@context": CONTEXTS,
        "id": credential_id(certificate),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": _issuer_profile(snapshot, public, language),
        "name": course[f"title_{language}"],
        "description": course[f"description_{language}"],
        "validFrom": _stamp(snapshot["issued_at"]),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": learner["name_th"],
                },
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": f"sha256${email_hash}",
                    "salt": salt,
                },
            ],
            "achievement": dict(
                achievement(course, public, language),
                creditsAvailable=snapshot["total_hours"],
            ),
            "creditsEarned": snapshot["total_hours"],
            "activityStartDate": _stamp(snapshot["activity_started_on"]),
            "activityEndDate": _stamp(snapshot["activity_ended_on"]),
        },
        "credentialStatus": {
            "id": f"{public}/credentials/revocations",
            "type": "1EdTechRevocationList",
        },
    }


def sign_credential(credential: dict) -> str:
    """The credential as a VC-JWT: a compact JWS whose payload is the credential itself."""
    key = signing_key()
    header = {"alg": JWS_ALGORITHM, "typ": "vc+jwt", "cty": "vc", "kid": key.thumbprint()}
    payload = json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[JWS_ALGORITHM])


def verify_jwt(token: str) -> dict:
    """The credential inside a VC-JWT, if its signature checks against a published key."""
    keys = KeySet.import_key_set(public_keys())
    message = jws.deserialize_compact(token, keys, algorithms=[JWS_ALGORITHM])
    return json.loads(message.payload)


def revocation_list(certificates: list[Certificate]) -> dict:
    """The 1EdTech revocation list: every revoked or superseded credential and why. The list
    is where it is served now; each entry is the credential's own (frozen) identifier."""
    public = public_url()
    entries = []
    for certificate in certificates:
        reason = certificate.revocation_reason
        if certificate.status is CertificateStatus.SUPERSEDED:
            reason = (
                f"Superseded by {certificate.superseded_by.serial}"
                if (certificate.superseded_by)
                else "Superseded"
            )
        entries.append({"id": credential_id(certificate), "revocationReason": reason})
    return {
        "id": f"{public}/credentials/revocations",
        "issuer": f"{public}/issuer",
        "revokedCredentials": entries,
    }


def credential_text(certificate: Certificate) -> str:
    """The certificate's credential as the exact JSON text that is served and downloaded.
    (Interface for the wallet, badge and file-check features; it becomes the text frozen at
    issue, with its embedded proof.)"""
    return json.dumps(build_credential(certificate), ensure_ascii=False, separators=(",", ":"))


class CredentialCheck:
    """What checking an uploaded credential found: the certificate it is (if any), whether it
    is exactly what LCA issued (``genuine``), and if not, why (``problem``: "not_json",
    "not_ours", "no_proof", "bad_signature", "altered")."""

    def __init__(
        self, certificate: Certificate | None, genuine: bool, problem: str | None = None
    ) -> None:
        self.certificate, self.genuine, self.problem = certificate, genuine, problem


def check_credential(text: str) -> CredentialCheck:
    """Check a credential someone uploaded: its proof against LCA's keys and its content
    against the certificate it names. (Interface; the proof check lands with the proof.)"""
    from lca.certificates.services import find_by_code

    try:
        document = json.loads(text)
    except ValueError:
        return CredentialCheck(None, False, "not_json")
    identifier = document.get("id") if isinstance(document, dict) else None
    if not isinstance(identifier, str) or not identifier.endswith("/credential.json"):
        return CredentialCheck(None, False, "not_ours")
    code = identifier.removesuffix("/credential.json").rsplit("/", 1)[-1]
    certificate = find_by_code(code)
    if certificate is None:
        return CredentialCheck(None, False, "not_ours")
    if document != json.loads(credential_text(certificate)):
        return CredentialCheck(certificate, False, "altered")
    return CredentialCheck(certificate, True)
