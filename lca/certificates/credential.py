"""Each certificate as an Open Badges 3.0 AchievementCredential on the VC Data Model 2.0,
signed when it is issued and frozen with it:

- the JSON credential carries an embedded **Data Integrity proof** (eddsa-rdfc-2022) by the
  issuer's did:web; the text served later is byte for byte the text signed then;
- its **JWT form** follows Open Badges 3.0 §8.2: ES256 with its own key, a header of ``alg``,
  ``kid`` (a URL that returns that one key) and ``typ: "JWT"``, and the credential's members
  as the payload with the registered claims ``iss``, ``jti``, ``sub``, ``nbf`` (``exp`` where the
  programme sets an expiry);
- its status is a place in a W3C Bitstring Status List (lca.certificates.status_list).

Every identifier and link in it is on the public address frozen at issue (the one in the PDF's
QR code), never on today's setting.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select

from lca.certificates.codes import normalise_code
from lca.certificates.data_integrity import add_proof, verify_proof
from lca.certificates.did import did_for, method_id, serving_address
from lca.certificates.keys import (
    JWT_ALGORITHM,
    SigningKeyMissing,
    ed25519_private,
    ed25519_public,
    jwt_key,
    jwt_keys,
    proof_key,
    proof_keys,
)
from lca.certificates.status_list import status_entry
from lca.core.db import db
from lca.models import Certificate, CertificateLanguage, CertificateStatus

__all__ = ["SigningKeyMissing"]

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
ACHIEVEMENT_SLUG = "city-administrator"


def _stamp(value: str) -> str:
    """A date or timestamp from the snapshot as an ISO 8601 UTC date-time ("…Z")."""
    if "T" in value:
        moment = datetime.fromisoformat(value)
    else:
        moment = datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer_profile(snapshot: dict, address: str, language: str = "en") -> dict:
    issuer = snapshot["issuer"]
    profile = {
        "id": did_for(address),
        "type": ["Profile"],
        "name": issuer[f"name_{language}"],
        "url": issuer["url"],
    }
    if issuer.get("email"):
        profile["email"] = issuer["email"]
    return profile


def issuer_profile() -> dict:
    """The issuer's Profile as published at /issuer (from seed/issuer.yaml): its id is the
    issuer's did:web, as in every credential; ``url`` is the organisation's own site."""
    from lca.certificates.issuer import load_issuer

    profile = _issuer_profile(load_issuer(), serving_address())
    return {"@context": CONTEXTS, **profile}


def credential_id(certificate: Certificate) -> str:
    """The credential's identifier, on the address frozen at issue (never today's setting)."""
    return f"{certificate.public_url}/verify/{certificate.code}/credential.json"


def achievement_id(public: str, language: str) -> str:
    """The achievement in one language: the English one at the plain address, the Thai one
    beside it (each names the other as its related achievement in the other language)."""
    base = f"{public}/achievements/{ACHIEVEMENT_SLUG}"
    return base if language == "en" else f"{base}/{language}"


def achievement_image(public: str) -> dict:
    return {"id": f"{public}/achievements/{ACHIEVEMENT_SLUG}/image.png", "type": "Image"}


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
        "image": achievement_image(public),
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


def _hours(value: float) -> str:
    return f"{value:g}"


def _module_results(snapshot: dict, public: str, language: str) -> tuple[list, list]:
    """The seven modules' hours: each module a ResultDescription of the achievement (the
    hours it requires as the most), and the learner's Result (the hours credited, up to it)."""
    descriptions, results = [], []
    for module in snapshot["modules"]:
        identifier = f"{achievement_id(public, language)}#module-{module['number']}"
        descriptions.append(
            {
                "id": identifier,
                "type": ["ResultDescription"],
                "name": module[f"title_{language}"],
                "resultType": "RawScore",
                "valueMin": "0",
                "valueMax": _hours(module["hours"]),
            }
        )
        credited = min(float(module["approved_hours"]), float(module["hours"]))
        results.append(
            {"type": ["Result"], "resultDescription": identifier, "value": _hours(credited)}
        )
    return descriptions, results


def _subject_identifiers(certificate: Certificate) -> list[dict]:
    """The learner's name in clear and e-mail hashed with a salt of the certificate's own."""
    learner = certificate.snapshot["learner"]
    salt = hashlib.sha256(f"{certificate.code}:salt".encode()).hexdigest()[:16]
    email_hash = hashlib.sha256((learner.get("email", "") + salt).encode()).hexdigest()
    return [
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
    ]


def subject_id(certificate: Certificate) -> str:
    """The learner as credentialSubject.id: the urn:uuid kept on the learner for good (in the
    snapshot since this round; read from the account for a certificate issued before)."""
    kept = certificate.snapshot["learner"].get("subject_uuid")
    return f"urn:uuid:{kept or certificate.enrolment.learner.subject_uuid}"


def build_credential(certificate: Certificate) -> dict:
    """The AchievementCredential of a certificate (without its proof), from what it said when
    it was issued; its identifiers and links are on the public address of that day."""
    snapshot, public = certificate.snapshot, certificate.public_url
    course = snapshot["course"]
    language = credential_language(certificate)
    descriptions, results = _module_results(snapshot, public, language)
    credential: dict[str, Any] = {
        "@context": CONTEXTS,
        "id": credential_id(certificate),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": _issuer_profile(snapshot, public, language),
        "name": course[f"title_{language}"],
        "description": course[f"description_{language}"],
        "validFrom": _stamp(snapshot["issued_at"]),
    }
    if snapshot.get("valid_until"):
        credential["validUntil"] = _stamp(snapshot["valid_until"])
    credential["awardedDate"] = _stamp(snapshot.get("awarded_at") or snapshot["issued_at"])
    credential["credentialSubject"] = {
        "id": subject_id(certificate),
        "type": ["AchievementSubject"],
        "identifier": _subject_identifiers(certificate),
        "achievement": dict(
            achievement(course, public, language),
            creditsAvailable=snapshot["total_hours"],
            resultDescription=descriptions,
            # the curriculum version the hours were earned under (OB 3.0 Achievement.version)
            **(
                {"version": snapshot["curriculum"][f"name_{language}"]}
                if snapshot.get("curriculum")
                else {}
            ),
        ),
        "result": results,
        "creditsEarned": snapshot["total_hours"],
        "activityStartDate": _stamp(snapshot["activity_started_on"]),
        "activityEndDate": _stamp(snapshot["activity_ended_on"]),
    }
    credential["credentialStatus"] = status_entry(
        public, certificate.status_list, certificate.status_index
    )
    return credential


def _text(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def signed_credential(certificate: Certificate) -> str:
    """The credential with its Data Integrity proof by the current proof key, as text. The
    proof is given as a set of one (``proof`` an array), as the Open Badges 3.0 schema asks;
    it is dated at the moment of issue, so the same key signs the same bytes (Ed25519 is
    deterministic)."""
    key = proof_key()
    issued = datetime.fromisoformat(certificate.snapshot["issued_at"]).astimezone(UTC)
    document = add_proof(
        build_credential(certificate),
        ed25519_private(key),
        method_id(did_for(certificate.public_url), key.thumbprint()),
        issued.replace(microsecond=0),
        as_list=True,
    )
    return _text(document)


def jwt_kid(address: str, thumbprint: str) -> str:
    """The ``kid`` of a JWT key: the URL that returns that one public key."""
    return f"{address}/issuer/keys/{thumbprint}"


def _numeric_date(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def jwt_form(credential: dict, address: str) -> str:
    """The credential (without its embedded proof) as a JWT per Open Badges 3.0 §8.2."""
    from joserfc import jws  # with cryptography: loaded by the workers that sign or check

    key = jwt_key()
    unsigned = {name: value for name, value in credential.items() if name != "proof"}
    claims = {
        **unsigned,
        "iss": unsigned["issuer"]["id"],
        "jti": unsigned["id"],
        "sub": unsigned["credentialSubject"]["id"],
        "nbf": _numeric_date(unsigned["validFrom"]),
    }
    if "validUntil" in unsigned:
        claims["exp"] = _numeric_date(unsigned["validUntil"])
    header = {"alg": JWT_ALGORITHM, "kid": jwt_kid(address, key.thumbprint()), "typ": "JWT"}
    return jws.serialize_compact(header, _text(claims).encode(), key, algorithms=[JWT_ALGORITHM])


def sign_at_issue(certificate: Certificate) -> None:
    """Sign a new certificate's credential and its JWT form, and keep both with it."""
    text = signed_credential(certificate)
    certificate.credential = text
    certificate.credential_jwt = jwt_form(json.loads(text), certificate.public_url)


def credential_text(certificate: Certificate) -> str:
    """The certificate's credential as the exact JSON text signed at issue (what is served,
    downloaded and baked into badges). A certificate issued before credentials were signed at
    issue is signed here, the same bytes every time, until `lca keys generate` keeps them."""
    if certificate.credential is None:
        return signed_credential(certificate)
    return certificate.credential


def credential_token(certificate: Certificate) -> str:
    """The certificate's credential in its JWT form, as signed at issue."""
    if certificate.credential_jwt is None:
        return jwt_form(json.loads(credential_text(certificate)), certificate.public_url)
    return certificate.credential_jwt


# -- publishing the keys -------------------------------------------------------------------


def _jwk(key: Any, address: str) -> dict:
    return dict(
        key.as_dict(private=False),
        kid=jwt_kid(address, key.thumbprint()),
        use="sig",
        alg=JWT_ALGORITHM,
    )


def public_jwks(address: str) -> dict:
    """The JWK set of the JWT keys, the current one first, then those retired."""
    return {"keys": [_jwk(key, address) for key in jwt_keys()]}


def public_jwk(address: str, thumbprint: str) -> dict | None:
    """The one JWT key a ``kid`` names, or None."""
    for key in jwt_keys():
        if key.thumbprint() == thumbprint:
            return _jwk(key, address)
    return None


def verify_jwt(token: str) -> dict:
    """The claims of a credential's JWT, if its signature checks against a published key and
    its times hold (raises otherwise)."""
    from joserfc import jws
    from joserfc.jwt import JWTClaimsRegistry
    from joserfc.jwt import decode as decode_jwt

    header = jws.extract_compact(token.encode()).protected
    thumbprint = str(header.get("kid", "")).rsplit("/", 1)[-1]
    keys = [key for key in jwt_keys() if key.thumbprint() == thumbprint]
    if not keys:
        raise ValueError("The JWT names no key of this issuer.")
    decoded = decode_jwt(token, keys[0], algorithms=[JWT_ALGORITHM])
    JWTClaimsRegistry().validate(decoded.claims)
    return decoded.claims


# -- checking a credential someone has ----------------------------------------------------


class CredentialCheck:
    """What checking an uploaded credential found: the certificate it is (if any), whether it
    is exactly what LCA issued (``genuine``), and if not, why (``problem``: "not_json",
    "not_ours", "no_proof", "bad_signature", "altered")."""

    def __init__(
        self, certificate: Certificate | None, genuine: bool, problem: str | None = None
    ) -> None:
        self.certificate, self.genuine, self.problem = certificate, genuine, problem


def _proof_key_for(method: str) -> Any:
    """The public key a verification method names, if it is one of the issuer's."""
    _, _, thumbprint = method.partition("#")
    for key in proof_keys():
        if key.thumbprint() == thumbprint:
            return ed25519_public(key)
    return None


def check_credential(text: str) -> CredentialCheck:
    """Check a credential someone uploaded: its proof against the issuer's keys, and that it
    is the credential of the certificate it names, exactly as issued."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return CredentialCheck(None, False, "not_json")
    identifier = document.get("id") if isinstance(document, dict) else None
    if not isinstance(identifier, str) or not identifier.endswith("/credential.json"):
        return CredentialCheck(None, False, "not_ours")
    code = identifier.removesuffix("/credential.json").rsplit("/", 1)[-1]
    normalised = normalise_code(code)
    certificate = (
        db.session.scalar(select(Certificate).where(Certificate.code == normalised))
        if normalised
        else None
    )
    if certificate is None or identifier != credential_id(certificate):
        return CredentialCheck(None, False, "not_ours")
    if "proof" not in document:
        return CredentialCheck(certificate, False, "no_proof")
    if not verify_proof(document, _proof_key_for).verified:
        return CredentialCheck(certificate, False, "bad_signature")
    if document != json.loads(credential_text(certificate)):
        return CredentialCheck(certificate, False, "altered")
    return CredentialCheck(certificate, True)


def revocation_list(certificates: list[Certificate], address: str) -> dict:
    """The first round's 1EdTech-style revocation list, kept for credentials that point to it:
    each entry is the SHA-256 of a revoked or superseded credential's identifier, so someone
    holding a credential can check it, but no code (nor any reason) is published."""
    return {
        "id": f"{address}/credentials/revocations",
        "issuer": did_for(address),
        "note": "Superseded by the Bitstring Status List named in each credential.",
        "revokedCredentials": [
            {"idSha256": hashlib.sha256(credential_id(c).encode()).hexdigest()}
            for c in certificates
            if c.status is not CertificateStatus.VALID
        ],
    }
