"""Where a learner takes a valid certificate: LinkedIn's "add certification" form, filled in
from what the certificate said at issue, and the credential's public address for a wallet.

LinkedIn's Add to Profile link for certifications takes ``startTask=CERTIFICATION_NAME`` and
the fields of that form: ``name``, ``organizationName`` (or ``organizationId``, a LinkedIn
page number, which the programme does not have), ``issueYear`` and ``issueMonth`` (Gregorian,
the month 1–12), ``certUrl`` and ``certId``; the learner checks the form and saves it.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from lca.certificates.credential import credential_language
from lca.models import Certificate

LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def linkedin_parameters(certificate: Certificate) -> dict[str, str]:
    """The fields of LinkedIn's form, in the certificate's language (English for a
    certificate in English or in both languages, Thai for one in Thai only)."""
    snapshot = certificate.snapshot
    language = credential_language(certificate)
    issued = date.fromisoformat(snapshot["issued_on"])
    return {
        "startTask": "CERTIFICATION_NAME",
        "name": snapshot["course"][f"title_{language}"],
        "organizationName": snapshot["issuer"][f"name_{language}"],
        "issueYear": str(issued.year),
        "issueMonth": str(issued.month),
        "certUrl": snapshot["verify_url"],
        "certId": certificate.serial,
    }


def linkedin_url(certificate: Certificate) -> str:
    """The "add certification" link to LinkedIn, pre-filled."""
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(linkedin_parameters(certificate))}"


def credential_url(certificate: Certificate) -> str:
    """The credential's public address on the host frozen at issue: what a wallet fetches
    (the Learner Credential Wallet's "Paste JSON or URL")."""
    return f"{certificate.public_url}/verify/{certificate.code}/credential.json"
