"""Open Badges 3.0: each certificate is an AchievementCredential that validates against the
1EdTech schema, signed as a VC-JWT whose signature checks with the published keys; its status
follows revocation."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path

import pytest
from joserfc.errors import BadSignatureError
from jsonschema import Draft201909Validator
from sqlalchemy import select

from lca.certificates.credential import generate_key, verify_jwt
from lca.models import Certificate
from tests.factories import eligible_enrolment

#: unmodified copies of the 1EdTech files (see SOURCE.md there)
STANDARDS = Path(__file__).resolve().parent / "data" / "openbadges-3.0"


@pytest.fixture
def schema():
    path = STANDARDS / "achievementcredential.schema.json"
    if not path.exists():
        pytest.fail(f"The Open Badges schema is missing: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def certificate(app, client, admin, db):
    with app.app_context():
        generate_key()
    enrolment = eligible_enrolment(full_name_th="ฟ้าใส ญาติดี", email="fasai@example.org")
    client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": "both"})
    return db.session.scalar(select(Certificate))


def test_the_credential_validates_against_the_open_badges_schema(client, certificate, schema):
    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    Draft201909Validator(schema).validate(credential)
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = credential["credentialSubject"]
    assert subject["creditsEarned"] == 45
    assert subject["achievement"]["achievementType"] == "Certificate"
    # The texts are English, and inLanguage says so; the Thai achievement is its related one.
    assert subject["achievement"]["inLanguage"] == "en"
    assert (
        subject["achievement"]["name"]
        == credential["name"]
        == "City Administrator (Learning City Management) Course"
    )
    assert subject["achievement"]["criteria"]["narrative"]
    for stamp in (
        credential["validFrom"],
        subject["activityStartDate"],
        subject["activityEndDate"],
    ):
        assert stamp.endswith("Z") and datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    names = [i["identityHash"] for i in subject["identifier"] if i["identityType"] == "name"]
    assert names == ["ฟ้าใส ญาติดี"]
    assert "fasai@example.org" not in json.dumps(credential)  # the e-mail is only hashed
    assert credential["credentialStatus"]["type"] == "1EdTechRevocationList"


def test_each_text_of_the_credential_is_in_the_language_it_declares(app, client, admin, db, schema):
    """A certificate in Thai only carries its texts in Thai with inLanguage "th"; one in
    English or in both languages carries them in English with "en"; either names the other
    language's achievement as related, and that achievement is published in its language."""
    with app.app_context():
        generate_key()
    languages = {}
    for language in ("th", "en", "both"):
        enrolment = eligible_enrolment()
        client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": language})
        certificate = db.session.scalar(
            select(Certificate).where(Certificate.enrolment_id == enrolment.id)
        )
        credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
        Draft201909Validator(schema).validate(credential)
        languages[language] = credential
    thai = languages["th"]["credentialSubject"]["achievement"]
    assert thai["inLanguage"] == "th" and thai["name"] == "หลักสูตรนักจัดการเมืองแห่งการเรียนรู้"
    assert languages["th"]["name"] == thai["name"] and _is_thai(thai["criteria"]["narrative"])
    assert _is_thai(thai["description"]) and _is_thai(languages["th"]["issuer"]["name"])
    for language in ("en", "both"):
        english = languages[language]["credentialSubject"]["achievement"]
        assert english["inLanguage"] == "en" and not _is_thai(english["description"])
        assert not _is_thai(english["criteria"]["narrative"] + languages[language]["name"])
        [related] = english["related"]
        assert related["inLanguage"] == "th" and related["id"] == thai["id"]
    for published in (thai, languages["en"]["credentialSubject"]["achievement"]):
        path = published["id"].removeprefix(app.config["LCA_PUBLIC_URL"])
        document = client.get(path).get_json()
        assert document["inLanguage"] == published["inLanguage"]
        assert document["name"] == published["name"]


def _is_thai(text: str) -> bool:
    """Mostly Thai letters (U+0E00–U+0E7F) among the letters of ``text``."""
    letters = [c for c in text if c.isalpha()]
    return sum("\u0e00" <= c <= "\u0e7f" for c in letters) > len(letters) / 2


def test_the_signed_credential_verifies_and_a_changed_byte_does_not(client, certificate):
    token = client.get(f"/verify/{certificate.code}/credential.jwt")
    assert token.mimetype == "application/vc+jwt"
    jwt = token.get_data(as_text=True)
    header = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "=="))
    assert header["alg"] == "Ed25519" and header["typ"] == "vc+jwt"
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert [k["kid"] for k in keys] == [header["kid"]] and keys[0]["crv"] == "Ed25519"
    assert "d" not in keys[0]  # never the private part
    credential = verify_jwt(jwt)
    assert credential == client.get(f"/verify/{certificate.code}/credential.json").get_json()
    head, payload, signature = jwt.split(".")
    tampered = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    with pytest.raises((BadSignatureError, ValueError)):
        verify_jwt(f"{head}.{tampered}.{signature}")


def test_revocation_shows_in_the_status_list(client, certificate):
    listed = client.get("/credentials/revocations").get_json()
    assert listed["revokedCredentials"] == []
    client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ออกผิดคน"})
    listed = client.get("/credentials/revocations").get_json()
    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    assert listed["revokedCredentials"] == [{"id": credential["id"], "revocationReason": "ออกผิดคน"}]
    assert credential["credentialStatus"]["id"] == listed["id"]


def test_issuer_profile_and_achievement_are_published(client, db):
    issuer = client.get("/issuer").get_json()
    assert issuer["type"] == ["Profile"] and issuer["name"] == "University of Phayao"
    achievement = client.get("/achievements/city-administrator").get_json()
    assert achievement["type"] == ["Achievement"] and achievement["criteria"]["narrative"]


def test_a_rotated_key_stays_published(app, client, certificate, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "LCA_DATA_DIR", tmp_path)  # keys of this test's own
    with app.app_context():
        generate_key()
    first = client.get("/.well-known/jwks.json").get_json()["keys"][0]["kid"]
    with app.app_context():
        generate_key(force=True)
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert first in kids and len(kids) == 2
    token = client.get(f"/verify/{certificate.code}/credential.jwt").get_data(as_text=True)
    assert verify_jwt(token)["id"].endswith("/credential.json")
