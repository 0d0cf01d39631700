"""Open Badges 3.0: each certificate is an AchievementCredential on the VC Data Model 2.0 that
validates against the 1EdTech schema, with an embedded Data Integrity proof (eddsa-rdfc-2022)
by the issuer's did:web, frozen at issue; its JWT form follows OB 3.0 §8.2 and verifies with
PyJWT's and joserfc's defaults; its status is a place in a signed Bitstring Status List.
(tests/test_outside_verifiers.py runs the verifiers nobody here wrote.)"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import jwt as pyjwt
import pytest
from click.testing import CliRunner
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey
from jsonschema import Draft201909Validator
from sqlalchemy import select

from lca.certificates.credential import check_credential, verify_jwt
from lca.certificates.data_integrity import public_from_multikey, verify_proof
from lca.certificates.keys import generate_keys
from lca.certificates.status_list import LIST_SIZE, bit_is_set, decoded_list
from lca.models import AuditEvent, Certificate, CertificateStatus
from tests.factories import CertificateFactory, eligible_enrolment

#: unmodified copies of the 1EdTech files (see SOURCE.md there)
STANDARDS = Path(__file__).resolve().parent / "data" / "openbadges-3.0"
#: the test app's public address (LCA's default) as a did:web
DID = "did:web:127.0.0.1%3A5000"


@pytest.fixture
def schema():
    path = STANDARDS / "achievementcredential.schema.json"
    if not path.exists():
        pytest.fail(f"The Open Badges schema is missing: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def keys(app, db, monkeypatch, tmp_path):
    """Keys of this test's own (a rotation here leaves the other tests' keys alone)."""
    monkeypatch.setitem(app.config, "LCA_DATA_DIR", tmp_path)
    with app.app_context():
        generate_keys()


@pytest.fixture
def issue(keys, issue_certificate):
    """``issue(**learner)`` issues an eligible learner's certificate, with this test's keys."""
    return issue_certificate


@pytest.fixture
def certificate(issue):
    return issue(full_name_th="ฟ้าใส ญาติดี", email="fasai@example.org")


def did_keys(client) -> dict:
    """{verification method id: public key} from the served DID document."""
    document = client.get("/.well-known/did.json").get_json()
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]
    return {
        method["id"]: public_from_multikey(method["publicKeyMultibase"])
        for method in document["verificationMethod"]
    }


def test_the_credential_validates_against_the_open_badges_schema(client, certificate, schema):
    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    Draft201909Validator(schema).validate(credential)
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
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
    assert subject["achievement"]["image"]["id"].endswith(
        "/achievements/city-administrator/image.png"
    )
    for stamp in (
        credential["validFrom"],
        credential["awardedDate"],
        subject["activityStartDate"],
        subject["activityEndDate"],
    ):
        assert stamp.endswith("Z") and datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert "validUntil" not in credential  # the programme sets no expiry by default
    names = [i["identityHash"] for i in subject["identifier"] if i["identityType"] == "name"]
    assert names == ["ฟ้าใส ญาติดี"]
    assert "fasai@example.org" not in json.dumps(credential)  # the e-mail is only hashed
    # The learner is a stable urn:uuid kept on the account.
    assert subject["id"] == f"urn:uuid:{certificate.enrolment.learner.subject_uuid}"
    # The seven modules' hours: what each requires, and what the learner was credited.
    descriptions = subject["achievement"]["resultDescription"]
    assert sum(int(d["valueMax"]) for d in descriptions) == 45
    assert len(descriptions) == len(subject["result"]) == 7
    assert sum(float(r["value"]) for r in subject["result"]) == 45
    assert {r["resultDescription"] for r in subject["result"]} == {d["id"] for d in descriptions}
    # The issuer is the did:web of the public address; the status a Bitstring Status List entry.
    assert credential["issuer"]["id"] == DID
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == "http://127.0.0.1:5000/credentials/status/1"
    assert status["id"] == f"{status['statusListCredential']}#{status['statusListIndex']}"
    [proof] = credential["proof"]  # a set of one, as the schema asks
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"


def test_each_text_of_the_credential_is_in_the_language_it_declares(app, client, admin, db, schema):
    """A certificate in Thai only carries its texts in Thai with inLanguage "th"; one in
    English or in both languages carries them in English with "en"; either names the other
    language's achievement as related, and that achievement is published in its language."""
    with app.app_context():
        generate_keys()
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


def test_the_served_credential_is_byte_for_byte_what_was_signed_at_issue(
    app, client, certificate, monkeypatch
):
    first = client.get(f"/verify/{certificate.code}/credential.json")
    assert first.get_data(as_text=True) == certificate.credential
    # A new public address, a new issuer name and a rotated key change nothing already issued.
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", "https://lca.example.org")
    with app.app_context():
        generate_keys(rotate=True)
    again = client.get(f"/verify/{certificate.code}/credential.json")
    assert again.get_data() == first.get_data()
    assert again.get_json()["id"].startswith("http://127.0.0.1:5000/verify/")


def test_the_proof_verifies_with_the_did_document_and_a_changed_character_does_not(
    client, certificate
):
    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    keys = did_keys(client)
    assert credential["proof"][0]["verificationMethod"] in keys
    assert verify_proof(credential, keys.get).verified
    changed = json.loads(json.dumps(credential))
    changed["credentialSubject"]["creditsEarned"] = 46
    assert verify_proof(changed, keys.get).problem == "bad_signature"
    text = certificate.credential
    renamed = text.replace("ฟ้าใส", "ฟ้าใศ")
    assert check_credential(text).genuine
    assert check_credential(renamed).problem == "bad_signature"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not_json"),
        ("[1, 2]", "not_json_object"),
        ('{"id": "https://elsewhere.example/x.json"}', "not_ours"),
        ('{"id": "http://127.0.0.1:5000/verify/NOSUCHCODE/credential.json"}', "not_ours"),
        ("[" * 100_000, "not_json"),
    ],
)
def test_checking_a_file_that_is_no_credential_of_ours_says_why(db, keys, text, problem):
    check = check_credential(text)
    assert not check.genuine and check.certificate is None
    assert check.problem == ("not_ours" if problem == "not_json_object" else problem)


def test_a_credential_without_its_proof_or_with_another_ones_is_not_genuine(client, issue):
    one, other = issue(), issue()
    document = json.loads(one.credential)
    del document["proof"]
    assert check_credential(json.dumps(document)).problem == "no_proof"
    document["proof"] = json.loads(other.credential)["proof"]
    assert check_credential(json.dumps(document)).problem == "bad_signature"


def test_the_jwt_form_follows_open_badges_section_8_2(client, certificate):
    token = client.get(f"/verify/{certificate.code}/credential.jwt")
    assert token.mimetype == "application/jwt"
    text = token.get_data(as_text=True)
    header = json.loads(base64.urlsafe_b64decode(text.split(".")[0] + "=="))
    assert set(header) == {"alg", "kid", "typ"}
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    # The kid is a URL that returns that one key.
    assert header["kid"].startswith("http://127.0.0.1:5000/issuer/keys/")
    jwk = client.get(header["kid"].removeprefix("http://127.0.0.1:5000")).get_json()
    assert jwk["kid"] == header["kid"] and jwk["kty"] == "EC" and "d" not in jwk
    # PyJWT and joserfc, each with its defaults.
    claims = pyjwt.decode(text, pyjwt.PyJWK(jwk).key, algorithms=["ES256"])
    decoded = jose_jwt.decode(text, ECKey.import_key(jwk))
    jose_jwt.JWTClaimsRegistry().validate(decoded.claims)
    assert decoded.claims == claims
    credential = json.loads(certificate.credential)
    assert claims["iss"] == credential["issuer"]["id"] == DID
    assert claims["jti"] == credential["id"]
    assert claims["sub"] == credential["credentialSubject"]["id"]
    validity = datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    assert claims["nbf"] == int(validity.timestamp())
    assert "exp" not in claims
    assert {k: v for k, v in claims.items() if k not in {"iss", "jti", "sub", "nbf"}} == {
        k: v for k, v in credential.items() if k != "proof"
    }
    # The JWT is frozen too.
    assert client.get(f"/verify/{certificate.code}/credential.jwt").get_data(as_text=True) == text
    head, payload, signature = text.split(".")
    tampered = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    with pytest.raises(pyjwt.InvalidTokenError):
        pyjwt.decode(f"{head}.{tampered}.{signature}", pyjwt.PyJWK(jwk).key, algorithms=["ES256"])
    with pytest.raises((BadSignatureError, ValueError)):
        verify_jwt(f"{head}.{tampered}.{signature}")


def test_an_expiry_set_by_the_programme_is_valid_until_and_exp(client, issue, monkeypatch):
    from lca.certificates import services

    loaded = services.load_issuer()
    loaded["course"]["valid_years"] = 5
    monkeypatch.setattr(services, "load_issuer", lambda: loaded)
    certificate = issue()
    credential = json.loads(certificate.credential)
    issued = datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(credential["validUntil"].replace("Z", "+00:00"))
    assert until.year == issued.year + 5
    claims = verify_jwt(certificate.credential_jwt)
    assert claims["exp"] == int(until.timestamp())


def _status_bit(client, credential: dict) -> bool:
    status = credential["credentialStatus"]
    response = client.get(status["statusListCredential"].removeprefix("http://127.0.0.1:5000"))
    assert response.status_code == 200
    listed = response.get_json()
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert listed["issuer"] == credential["issuer"]["id"]
    assert verify_proof(listed, did_keys(client).get).verified
    bits = decoded_list(listed["credentialSubject"]["encodedList"])
    assert len(bits) * 8 >= LIST_SIZE >= 131_072
    return bit_is_set(bits, int(status["statusListIndex"]))


def test_revoking_sets_the_bit_in_the_signed_status_list(client, certificate):
    credential = json.loads(certificate.credential)
    assert _status_bit(client, credential) is False
    client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ออกผิดคน"})
    assert _status_bit(client, credential) is True


def test_a_reissue_sets_the_old_bit_and_keeps_the_awarded_date(client, db, certificate):
    old = json.loads(certificate.credential)
    certificate.enrolment.learner.full_name_th = "ฟ้าใส ญาติดีมาก"
    db.session.flush()
    client.post(f"/certificates/{certificate.id}/reissue", data={"reason": "แก้ชื่อ"})
    successor = db.session.scalar(
        select(Certificate).where(Certificate.replaces_id == certificate.id)
    )
    new = json.loads(successor.credential)
    assert _status_bit(client, old) is True
    assert _status_bit(client, new) is False
    assert new["awardedDate"] == old["awardedDate"] == old["validFrom"]
    assert new["credentialSubject"]["id"] == old["credentialSubject"]["id"]


def test_status_places_are_random_and_the_list_is_public_and_cacheable(client, issue):
    issued = [issue() for _ in range(6)]
    places = [c.status_index for c in issued]
    assert len(set(places)) == 6
    assert places != sorted(places) or places[-1] - places[0] > 6  # not handed out in order
    response = client.get("/credentials/status/1")
    assert response.mimetype == "application/vc+ld+json"
    assert "public" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    again = client.get("/credentials/status/1", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/credentials/status/2").status_code == 404
    assert client.get("/credentials/status/x").status_code == 404


def test_the_old_revocation_list_shows_neither_codes_nor_reasons(client, certificate):
    client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ออกผิดคน"})
    text = client.get("/credentials/revocations").get_data(as_text=True)
    assert certificate.code not in text and "ออกผิดคน" not in text
    assert len(json.loads(text)["revokedCredentials"]) == 1


def test_issuer_profile_did_document_and_achievement_are_published(client, keys):
    issuer = client.get("/issuer").get_json()
    assert issuer["type"] == ["Profile"] and issuer["name"] == "University of Phayao"
    assert issuer["id"] == DID
    document = client.get("/.well-known/did.json")
    assert document.mimetype == "application/did+ld+json"
    assert document.get_json()["id"] == DID
    assert client.get("/did.json").get_json() == document.get_json()
    achievement = client.get("/achievements/city-administrator").get_json()
    assert achievement["type"] == ["Achievement"] and achievement["criteria"]["narrative"]
    assert client.get("/issuer/keys/no-such-key").status_code == 404


def test_a_rotation_keeps_old_credentials_verifiable_and_is_audited(
    app, client, certificate, db, tmp_path
):
    old_methods = set(did_keys(client))
    result = CliRunner().invoke(app.cli, ["lca", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Retired" in result.output
    methods = did_keys(client)
    assert old_methods < set(methods) and len(methods) == len(old_methods) + 1
    # the PDF signing certificate is new too; the old one is kept beside it
    assert len(list((tmp_path / "keys").glob("retired-*.cert.pem"))) == 1
    jwks = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert len(jwks) == 2
    # The credential signed before still verifies, in both forms.
    assert check_credential(certificate.credential).genuine
    assert verify_jwt(certificate.credential_jwt)["jti"].endswith("/credential.json")
    # A new one is signed by the new key.
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "keys.rotate"))
    assert event is not None and event.details["retired-proof"]


def test_a_certificate_issued_before_signing_gets_its_credential_once(app, client, keys, db):
    earlier = CertificateFactory()
    assert earlier.credential is None
    first = client.get(f"/verify/{earlier.code}/credential.json")
    assert first.status_code == 200 and first.get_json()["proof"]
    # signed as it is asked for, the same bytes every time (dated at issue, Ed25519)...
    assert client.get(f"/verify/{earlier.code}/credential.json").get_data() == first.get_data()
    assert check_credential(first.get_data(as_text=True)).genuine
    # ...and kept for good by `lca keys generate`
    result = CliRunner().invoke(app.cli, ["lca", "keys", "generate"])
    assert result.exit_code == 0, result.output
    assert "1 earlier certificates' credentials signed" in result.output
    db.session.refresh(earlier)
    assert earlier.credential == first.get_data(as_text=True)


def test_revoked_and_superseded_are_both_set_from_the_status_alone(client, db, keys):
    valid, revoked = CertificateFactory(), CertificateFactory()
    revoked.status = CertificateStatus.REVOKED
    revoked.revoked_at = datetime.now(UTC)
    revoked.revocation_reason = "ทดสอบ"
    db.session.flush()
    listed = client.get("/credentials/status/1").get_json()
    bits = decoded_list(listed["credentialSubject"]["encodedList"])
    assert bit_is_set(bits, revoked.status_index) and not bit_is_set(bits, valid.status_index)


def test_without_the_issuers_keys_nothing_is_issued_and_the_admin_is_told(
    app, client, admin, db, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "LCA_DATA_DIR", tmp_path)  # no keys here
    enrolment = eligible_enrolment()
    response = client.post(
        f"/enrolments/{enrolment.id}/certificate", data={"language": "both"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "lca keys generate" in response.get_data(as_text=True)
    assert db.session.scalar(select(Certificate)) is None


@pytest.mark.parametrize(
    "path",
    [
        "/credentials/status/0",
        "/credentials/status/99999999999999999999999",
        "/credentials/status/2147483648",
        "/credentials/status/-1",
        "/issuer/keys/%00",
        "/issuer/keys/" + "A" * 5000,
        "/verify/%00/credential.json",
        "/verify/" + "Z" * 5000 + "/credential.jwt",
    ],
)
def test_hostile_addresses_of_the_public_documents_get_a_404(client, keys, path):
    assert client.get(path).status_code == 404


def test_a_credential_asked_for_before_the_keys_exist_is_a_clear_503(
    app, client, db, monkeypatch, tmp_path
):
    earlier = CertificateFactory()  # issued before credentials were signed at issue
    monkeypatch.setitem(app.config, "LCA_DATA_DIR", tmp_path)  # and no keys made yet
    for path in ("credential.json", "credential.jwt", "wallet.json", "badge.png"):
        response = client.get(f"/verify/{earlier.code}/{path}")
        assert response.status_code == 503, path
        assert "ยังไม่พร้อม" in response.get_data(as_text=True) or "Not available" in (
            response.get_data(as_text=True)
        )


@pytest.mark.parametrize("years", ["five", 0, 101, 2.5, True, -3])
def test_a_wrong_expiry_in_the_issuer_file_is_refused_with_what_is_wrong(tmp_path, years):
    import shutil

    import yaml

    from lca.certificates.issuer import load_issuer
    from lca.core.seed_files import SEED_DIR, SeedError

    shutil.copytree(SEED_DIR, tmp_path / "seed")
    path = tmp_path / "seed" / "issuer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["course"]["valid_years"] = years
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SeedError, match="valid_years must be a whole number of years"):
        load_issuer(tmp_path / "seed")
    data["course"]["valid_years"] = 10
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_issuer(tmp_path / "seed")["course"]["valid_years"] == 10


def test_a_status_place_taken_a_moment_ago_is_drawn_again(client, issue, monkeypatch):
    """Two certificates issued at the same moment may draw the same place: the database's
    uniqueness refuses the second, which draws another, instead of failing the issue."""
    from lca.certificates import services

    first = issue()
    draws = iter([(first.status_list, first.status_index)])
    real = services.allocate_place
    monkeypatch.setattr(services, "allocate_place", lambda: next(draws, None) or real())
    second = issue()
    assert second.status_index != first.status_index
    assert json.loads(second.credential)["credentialStatus"]["statusListIndex"] == str(
        second.status_index
    )


def test_verifiers_in_a_browser_may_read_the_credential_and_what_it_names(client, certificate):
    """A web verifier (or wallet) on another site fetches the credential, the DID document and
    the status list from the browser: each answers to any origin (no cookies needed)."""
    for path in (
        f"/verify/{certificate.code}/credential.json",
        f"/verify/{certificate.code}/credential.jwt",
        "/.well-known/did.json",
        f"/credentials/status/{certificate.status_list}",
        "/issuer",
    ):
        response = client.get(path, headers={"Origin": "https://verifierplus.org"})
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "Access-Control-Allow-Credentials" not in response.headers
