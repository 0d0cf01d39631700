"""The verification address is the public one: on a developer's machine it follows the port
the app is served on; in production LCA_PUBLIC_URL is required to serve and to issue; and what
a certificate carries (QR code, links, the credential's identifiers) is frozen at issue."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lca.certificates.keys import generate_keys
from lca.certificates.services import issue_certificate
from lca.core.config import ConfigError, load_config
from lca.core.db import db
from lca.core.storage import storage
from lca.models import Certificate, SerialCounter
from lca.web.addresses import is_local
from tests.factories import AdminFactory, count_rows, eligible_enrolment

OLD, NEW = "https://lca.example.org", "https://certificates.example.go.th"


@pytest.fixture(autouse=True)
def signing_key(app):
    with app.app_context():
        generate_keys()


def _issue(client, enrolment) -> Certificate:
    client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": "both"})
    return db.session.scalar(select(Certificate).order_by(Certificate.id.desc()))


def test_a_certificate_keeps_the_address_it_was_issued_with(
    app, client, admin, monkeypatch, tmp_path, qr_codes
):
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", OLD)
    certificate = _issue(client, eligible_enrolment())
    pdf = client.get(f"/certificates/{certificate.id}/pdf").data
    # The site moves: today's setting is another address.
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", NEW)
    assert qr_codes(pdf, tmp_path) == [f"{OLD}/verify/{certificate.code}"]
    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    assert credential["id"] == f"{OLD}/verify/{certificate.code}/credential.json"
    assert credential["issuer"]["id"] == "did:web:lca.example.org"
    assert credential["credentialSubject"]["achievement"]["id"].startswith(f"{OLD}/achievements/")
    status_list = credential["credentialStatus"]["statusListCredential"]
    assert status_list == f"{OLD}/credentials/status/{certificate.status_list}"
    assert NEW not in str(credential)
    client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "ออกผิดคน"})
    # Today the status list and the DID document are served for the new address...
    listed = client.get(f"/credentials/status/{certificate.status_list}").get_json()
    assert listed["issuer"] == "did:web:certificates.example.go.th"
    # ...and, once the old address is named as a former one, for it too where it still
    # reaches LCA: its credentials name its DID.
    monkeypatch.setitem(app.config, "LCA_FORMER_PUBLIC_URLS", OLD)
    old_host = {"base_url": OLD}
    listed = client.get(f"/credentials/status/{certificate.status_list}", **old_host).get_json()
    assert listed["issuer"] == "did:web:lca.example.org" == credential["issuer"]["id"]
    assert listed["id"] == status_list
    document = client.get("/.well-known/did.json", **old_host).get_json()
    assert document["id"] == "did:web:lca.example.org"
    assert client.get("/.well-known/did.json").get_json()["id"] == (
        "did:web:certificates.example.go.th"
    )
    # The learner's page and the mail link to the verify page the QR code carries.
    assert certificate.snapshot["verify_url"] == f"{OLD}/verify/{certificate.code}"


def test_a_certificate_issued_before_the_address_was_kept_reads_it_from_its_link(
    app, client, admin, monkeypatch
):
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", OLD)
    certificate = _issue(client, eligible_enrolment())
    certificate.snapshot = {k: v for k, v in certificate.snapshot.items() if k != "public_url"}
    db.session.commit()
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", NEW)
    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    assert credential["id"] == f"{OLD}/verify/{certificate.code}/credential.json"


def test_in_development_links_follow_the_port_the_app_is_served_on(
    app, db, monkeypatch, tmp_path, qr_codes
):
    """`flask run --port 5101` without LCA_PUBLIC_URL: the QR code points at port 5101."""
    monkeypatch.setitem(app.config, "LCA_ENV", "development")
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL_SET", False)
    enrolment, admin = eligible_enrolment(), AdminFactory()
    with app.test_request_context("/", base_url="http://127.0.0.1:5101"):
        certificate = issue_certificate(enrolment, admin)
    with storage().open(certificate.pdf_key) as file:
        pdf = file.read()
    assert qr_codes(pdf, tmp_path) == [f"http://127.0.0.1:5101/verify/{certificate.code}"]
    assert certificate.public_url == "http://127.0.0.1:5101"
    # With LCA_PUBLIC_URL set (what `PORT=5101 make run` does), the setting is the address.
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL_SET", True)
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", "http://127.0.0.1:5202")
    with app.test_request_context("/", base_url="http://127.0.0.1:5101"):
        other = issue_certificate(eligible_enrolment(), admin)
    assert other.snapshot["verify_url"] == f"http://127.0.0.1:5202/verify/{other.code}"


def test_make_run_hands_the_port_to_every_command():
    """`PORT=5101 make run` seeds the demo (which issues certificates) and serves with the
    public address on port 5101."""
    import os
    import subprocess

    from lca.core.config import ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("LCA_PUBLIC_URL", "MAKEFLAGS")}
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=5101"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    commands = [line for line in plan.splitlines() if "flask --app wsgi" in line]
    assert any(" lca demo" in line for line in commands)
    assert all("LCA_PUBLIC_URL=http://127.0.0.1:5101" in line for line in commands), commands


def test_production_refuses_to_serve_without_a_public_address(monkeypatch):
    monkeypatch.setenv("LCA_ENV", "production")
    monkeypatch.setenv("LCA_SECRET_KEY", "x" * 64)
    monkeypatch.delenv("LCA_PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError, match="LCA_PUBLIC_URL is not set") as refused:
        load_config()
    assert "QR codes" in str(refused.value)
    load_config(serving=False)  # a migration or a backup needs no address
    monkeypatch.setenv("LCA_PUBLIC_URL", OLD)
    assert load_config()["LCA_PUBLIC_URL"] == OLD


@pytest.mark.parametrize(
    ("address", "is_set", "why"),
    [
        ("http://127.0.0.1:5000", False, "LCA_PUBLIC_URL is not set"),
        ("http://localhost:8000", True, "an address only this machine reaches"),
        ("http://127.0.0.1:5101", True, "an address only this machine reaches"),
    ],
)
def test_the_issue_command_refuses_an_address_that_would_be_wrong_for_good(
    app, db, monkeypatch, address, is_set, why
):
    enrolment = eligible_enrolment()
    counter = db.session.scalar(select(func.sum(SerialCounter.last_number))) or 0
    monkeypatch.setitem(app.config, "LCA_ENV", "production")
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", address)
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL_SET", is_set)
    result = app.test_cli_runner().invoke(
        args=["lca", "certificates", "issue", "--cohort", enrolment.cohort.code]
    )
    assert (
        result.exit_code != 0 and why in result.output and "No certificate issued" in result.output
    )
    assert count_rows(Certificate) == 0
    assert (db.session.scalar(select(func.sum(SerialCounter.last_number))) or 0) == counter
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL", OLD)
    monkeypatch.setitem(app.config, "LCA_PUBLIC_URL_SET", True)
    done = app.test_cli_runner().invoke(
        args=["lca", "certificates", "issue", "--cohort", enrolment.cohort.code]
    )
    assert done.exit_code == 0, done.output
    assert f"{OLD}/verify/" in done.output


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:5000", True),
        ("http://app.localhost", True),
        ("http://127.0.1.1", True),
        ("http://[::1]:8000", True),
        ("http://0.0.0.0:5000", True),
        ("https://lca.example.org", False),
        ("https://203.0.113.7", False),
        ("https://localhost.example.org", False),
    ],
)
def test_an_address_only_this_machine_reaches_is_known(url, local):
    assert is_local(url) is local
