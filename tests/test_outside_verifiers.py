"""Tools nobody here wrote, run against what LCA's proof makes: the Digital Credentials
Consortium's verifier-core (the Learner Credential Wallet's verifier) and jsonld.js in safe
mode, both under Node from tests/verifier (pinned by its package-lock.json); and the app served
over real HTTPS with a throwaway CA, which those verifiers reach for did:web and status lists."""

from __future__ import annotations

import copy
import json
import ssl
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lca.certificates import data_integrity as di
from lca.certificates.did import did_for
from tests.factories import CertificateFactory, open_badge_credential

SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)


def did_key_issuer() -> tuple[Ed25519PrivateKey, str, str]:
    """A fresh key as a did:key issuer (resolved by any verifier offline) and its method."""
    key = Ed25519PrivateKey.generate()
    multikey = di.multikey_from_public(key.public_key())
    return key, f"did:key:{multikey}", f"did:key:{multikey}#{multikey}"


@pytest.fixture(scope="module")
def signed() -> dict:
    """An Open Badges 3.0 credential of LCA's shape, signed by our add_proof (the proof as the
    one-element array the Open Badges schema wants)."""
    key, did, method = did_key_issuer()
    credential = open_badge_credential(did)
    return di.add_proof(credential, key, method, datetime.now(UTC), as_list=True)


def one_character_changed(text: str) -> str:
    at = len(text) // 2
    return text[:at] + ("x" if text[at] != "x" else "y") + text[at + 1 :]


def test_verifier_core_accepts_our_proof_and_catches_one_changed_character(node_tools, signed):
    changed_name = copy.deepcopy(signed)
    changed_name["name"] = one_character_changed(signed["name"])
    changed_hours = copy.deepcopy(signed)
    changed_hours["credentialSubject"]["result"][4]["value"] = "10"
    bare_proof = dict(signed, proof=signed["proof"][0])

    started = time.perf_counter()
    good, name, hours, bare = node_tools.verify_many_with_dcc(
        [signed, changed_name, changed_hours, bare_proof]
    )
    took = time.perf_counter() - started
    print(f"\nverifier-core, one Node process, 4 credentials: {took:.2f} s")

    assert node_tools.dcc_problems(good) == []
    assert {"id": "valid_signature", "valid": True} in good["log"]
    # nothing but the Open Badges schema, answered from the pinned copy
    assert good["fetched"] == [{"url": SCHEMA_URL, "status": 200, "pinned": True}]
    schema_checks = good["additionalInformation"][0]["results"]
    assert schema_checks[0]["schema"] == SCHEMA_URL
    assert schema_checks[0]["result"] == {"valid": True}
    for tampered in (name, hours):
        assert [e["name"] for e in tampered["errors"]] == ["invalid_signature"]
    # the signature checks either way; only the Open Badges schema wants the array
    assert {"id": "valid_signature", "valid": True} in bare["log"]
    assert any("must be array" in p for p in node_tools.dcc_problems(bare))


def test_jsonld_js_in_safe_mode_makes_the_same_canonical_form(node_tools, signed):
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    did_document = {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/data-integrity/v2",
        ],
        "id": "did:web:lca.example.go.th",
        "verificationMethod": [
            {
                "id": "did:web:lca.example.go.th#key-1",
                "type": "Multikey",
                "controller": "did:web:lca.example.go.th",
                "publicKeyMultibase": signed["issuer"]["id"].removeprefix("did:key:"),
            }
        ],
        "assertionMethod": ["did:web:lca.example.go.th#key-1"],
    }
    started = time.perf_counter()
    results = node_tools.canonize_many_with_jsonld_js([unsigned, signed, did_document])
    took = time.perf_counter() - started
    print(f"\njsonld.js canonize, one Node process, 3 documents: {took:.2f} s")
    assert [sorted(r) for r in results] == [["nquads"]] * 3, results
    assert results[0]["nquads"] == di.canonical_nquads(unsigned)
    assert results[1]["nquads"] == di.canonical_nquads(signed)
    assert results[2]["nquads"] == di.canonical_nquads(did_document)
    assert "https://w3id.org/security#publicKeyMultibase" in results[2]["nquads"]


def test_an_undefined_term_is_refused_by_jsonld_js_and_by_us(node_tools, signed):
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    old_status = dict(
        unsigned,
        credentialStatus={"id": "https://lca.example.go.th/r", "type": "1EdTechRevocationList"},
    )
    dropped = {"@context": ["https://www.w3.org/ns/did/v1"], "id": "did:web:x", "shoeSize": 4}
    elsewhere = dict(unsigned, **{"@context": [*unsigned["@context"], "https://x.example/c"]})
    results = node_tools.canonize_many_with_jsonld_js([old_status, dropped, elsewhere])
    assert [r["error"]["name"] for r in results[:2]] == ["jsonld.ValidationError"] * 2
    assert results[0]["error"]["event"]["details"] == {"type": "1EdTechRevocationList"}
    assert results[1]["error"]["event"]["details"]["property"] == "shoeSize"
    assert "not pinned" in json.dumps(results[2]["error"])
    with pytest.raises(di.UndefinedTerm, match="1EdTechRevocationList"):
        di.canonical_nquads(old_status)
    with pytest.raises(di.UndefinedTerm, match="shoeSize"):
        di.canonical_nquads(dropped)
    with pytest.raises(di.ContextNotPinned):
        di.canonical_nquads(elsewhere)
    with pytest.raises(node_tools.JsonLdJsError, match="Safe mode"):
        node_tools.canonize_with_jsonld_js(dropped)


def test_the_pinned_contexts_are_the_ones_the_verifier_ships(node_tools):
    """Each context pinned in lca/certificates/contexts, as parsed JSON, is the one that
    verifier-core's document loader ships for that URL."""
    shipped = node_tools.shipped_contexts(list(di.PINNED_CONTEXTS))
    for url in di.PINNED_CONTEXTS:
        if url == "https://w3id.org/security/multikey/v1":
            # not among verifier-core's static contexts (it resolves did:key and did:web
            # without it); pinned from @digitalbazaar/multikey-context (SOURCE.md)
            assert shipped[url] is None
            continue
        assert di.document_loader(url)["document"] == shipped[url], url


def test_the_app_is_served_over_https_to_whoever_trusts_the_test_ca(https_server):
    assert https_server.url.startswith("https://localhost:")
    assert https_server.app.config["LCA_PUBLIC_URL"] == https_server.url
    with urllib.request.urlopen(  # noqa: S310 - our own https test server
        f"{https_server.url}/healthz", context=https_server.client_context(), timeout=30
    ) as response:
        assert response.status == 200
        assert json.load(response) == {"status": "ok", "database": "ok"}
    with urllib.request.urlopen(  # noqa: S310
        f"{https_server.url}/issuer", context=https_server.client_context(), timeout=30
    ) as response:
        assert json.load(response)["id"] == did_for(https_server.url)
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(  # noqa: S310
            f"{https_server.url}/healthz", context=ssl.create_default_context(), timeout=30
        )
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def test_the_https_server_serves_what_the_test_wrote(https_server, db):
    from lca.certificates.keys import generate_keys

    generate_keys()  # the credential of a certificate issued before is signed when first asked
    certificate = CertificateFactory()
    db.session.flush()
    address = f"{https_server.url}/verify/{certificate.code}/credential.json"
    with urllib.request.urlopen(  # noqa: S310 - our own https test server
        address, context=https_server.client_context(), timeout=30
    ) as response:
        assert json.load(response)["id"].endswith(f"/verify/{certificate.code}/credential.json")


def test_node_reaches_the_https_server_only_with_the_test_ca(node_tools, https_server, signed):
    """verify.mjs fetches from the app as verifier-core would (here a did:web issuer on the
    test server): with the CA, the app answers; without it, TLS refuses the certificate."""
    host = https_server.url.removeprefix("https://").replace(":", "%3A")
    credential = dict(signed, issuer=dict(signed["issuer"], id=f"did:web:{host}"))
    credential["proof"] = [dict(signed["proof"][0], verificationMethod=f"did:web:{host}#key-1")]
    did_json = f"{https_server.url}/.well-known/did.json"

    with_ca = node_tools.verify_with_dcc(credential, https_server.ca_file)
    answered = [f for f in with_ca["fetched"] if f["url"] == did_json]
    assert answered and all("status" in f for f in answered), with_ca["fetched"]

    without_ca = node_tools.verify_with_dcc(credential)
    refused = [f for f in without_ca["fetched"] if f["url"] == did_json]
    assert refused and all("status" not in f for f in refused), without_ca["fetched"]
    assert {f["error"] for f in refused} <= {
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "SELF_SIGNED_CERT_IN_CHAIN",
        "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    }
    assert without_ca["errors"]


def test_verify_mjs_refuses_any_other_host(node_tools, signed):
    """Only the app under test is fetched: a did:web issuer elsewhere is never looked up."""
    credential = dict(signed, issuer=dict(signed["issuer"], id="did:web:lca.example.go.th"))
    credential["proof"] = [
        dict(signed["proof"][0], verificationMethod="did:web:lca.example.go.th#key-1")
    ]
    result = node_tools.verify_with_dcc(credential)
    assert result["errors"]
    assert result["fetched"][0] == {
        "url": "https://lca.example.go.th/.well-known/did.json",
        "error": "refused: not the app under test",
    }


def test_a_missing_installation_names_the_command_that_installs_it(
    node_tools, monkeypatch, tmp_path
):
    monkeypatch.setattr(node_tools, "VERIFIER_DIR", tmp_path)
    assert "npm ci --prefix tests/verifier" in node_tools.missing()
    with pytest.raises(node_tools.NodeToolsMissing, match="npm ci"):
        node_tools.verify_with_dcc({})
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "Node.js is not installed" in node_tools.missing()


# -- LCA's own certificates, issued and served over https, checked from outside -------------


def _issue_over_https(client, https_server, **learner):
    from sqlalchemy import select

    from lca.certificates.keys import generate_keys
    from lca.models import Certificate
    from tests.factories import eligible_enrolment

    with https_server.app.app_context():
        generate_keys()
    enrolment = eligible_enrolment(**learner)
    response = client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": "both"})
    assert response.status_code == 302
    from lca.core.db import db

    return db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))


def _fetch(https_server, path: str) -> bytes:
    with urllib.request.urlopen(  # noqa: S310 - our own https test server
        f"{https_server.url}{path}", context=https_server.client_context(), timeout=30
    ) as response:
        return response.read()


def test_an_issued_certificate_verifies_in_verifier_core_until_it_is_revoked(
    node_tools, https_server, client, admin
):
    """The Learner Credential Wallet's verifier resolves the did:web issuer over https, checks
    the embedded proof, the Open Badges schema and the status list, and finds nothing wrong;
    once the certificate is revoked, it says so. One changed character breaks the proof."""
    certificate = _issue_over_https(client, https_server, full_name_th="ฟ้าใส ญาติดี")
    served = _fetch(https_server, f"/verify/{certificate.code}/credential.json")
    assert served.decode() == certificate.credential  # byte for byte, as signed at issue
    credential = json.loads(served)
    assert credential["issuer"]["id"] == did_for(https_server.url)
    changed = json.loads(one_character_changed(certificate.credential))
    if changed == credential:  # the middle character was in a separator: change a value
        changed["credentialSubject"]["creditsEarned"] = 44
    valid, tampered = node_tools.verify_many_with_dcc([credential, changed], https_server.ca_file)
    assert node_tools.dcc_problems(valid) == [], valid
    assert {"id": "valid_signature", "valid": True} in valid["log"]
    assert {"id": "revocation_status", "valid": True} in valid["log"]
    fetched = {f["url"] for f in valid["fetched"]}
    assert f"{https_server.url}/.well-known/did.json" in fetched
    assert credential["credentialStatus"]["statusListCredential"] in fetched
    assert [e["name"] for e in tampered["errors"]] == ["invalid_signature"]

    response = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ออกผิดคน"})
    assert response.status_code == 302
    [revoked] = node_tools.verify_many_with_dcc([credential], https_server.ca_file)
    assert {"id": "revocation_status", "valid": False} in revoked["log"], revoked


def test_a_credential_signed_before_a_rotation_still_verifies_in_verifier_core(
    node_tools, https_server, client, admin
):
    from lca.certificates.keys import generate_keys

    before = _issue_over_https(client, https_server)
    with https_server.app.app_context():
        generate_keys(rotate=True)
    after = _issue_over_https(client, https_server)
    results = node_tools.verify_many_with_dcc(
        [json.loads(before.credential), json.loads(after.credential)], https_server.ca_file
    )
    assert [node_tools.dcc_problems(r) for r in results] == [[], []], results
    methods = [json.loads(c.credential)["proof"][0]["verificationMethod"] for c in (before, after)]
    assert methods[0] != methods[1]


def test_jsonld_js_in_safe_mode_canonicalises_what_lca_serves(
    node_tools, https_server, client, admin
):
    """The credential, its status list, the DID document and the issuer profile, as served,
    expand and canonicalise in jsonld.js's safe mode exactly as in PyLD."""
    certificate = _issue_over_https(client, https_server)
    documents = [
        json.loads(_fetch(https_server, path))
        for path in (
            f"/verify/{certificate.code}/credential.json",
            f"/credentials/status/{certificate.status_list}",
            "/.well-known/did.json",
            "/issuer",
        )
    ]
    results = node_tools.canonize_many_with_jsonld_js(documents)
    assert [sorted(r) for r in results] == [["nquads"]] * 4, results
    for result, document in zip(results, documents, strict=True):
        assert result["nquads"] == di.canonical_nquads(document)
