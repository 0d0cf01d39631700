"""Observability for several servers: the request id (in the response, the audit trail and the
security log), JSON log lines, /metrics (who may read it, what it counts, across gunicorn's
workers) and /readyz."""

from __future__ import annotations

import http.client
import json
import logging
import os

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from lca import create_app
from lca.core.config import ROOT, ConfigError, load_config, parse_networks
from lca.core.logs import configure_logging
from lca.core.outbox import record_message
from lca.core.security_log import security_event
from lca.core.storage import LocalStorage
from lca.models import AuditEvent, Certificate, EmailStatus, Message, MessageKind
from lca.web.extensions import limiter
from tests.factories import CertificateFactory, LearnerFactory
from tools.instances import Gunicorn, free_port, instance_env

TOKEN = "operator-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scrape(app, client, monkeypatch):
    """``scrape()``: /metrics read with the operator's token, as samples."""
    monkeypatch.setitem(app.config, "LCA_METRICS_TOKEN", TOKEN)

    def read():
        response = client.get("/metrics", headers=BEARER)
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        return _samples(response.get_data(as_text=True))

    return read


# --------------------------------------------------------------------------- the request id


def test_a_request_id_is_made_for_every_request(client):
    first, second = client.get("/healthz"), client.get("/no-such-page")
    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert second.status_code == 404
    assert all(len(found) == 32 and int(found, 16) >= 0 for found in ids)
    assert ids[0] != ids[1]


def test_the_proxys_request_id_is_kept(client):
    offered = "0f3a9c7e2b1d4c5a8e6f7a8b9c0d1e2f"
    assert client.get("/", headers={"X-Request-ID": offered}).headers["X-Request-ID"] == offered
    assert client.get("/nowhere", headers={"X-Request-ID": "a.b_c-123"}).headers[
        "X-Request-ID"
    ] == ("a.b_c-123")


@pytest.mark.parametrize(
    "hostile",
    ["a" * 65, "short", "abc\ndefghij", "abcdefgh<script>", "คำขอภาษาไทยยาว", "abc defghij", ""],
    ids=["too long", "too short", "newline", "markup", "unicode", "space", "empty"],
)
def test_a_hostile_request_id_is_replaced(client, hostile):
    environ = {"HTTP_X_REQUEST_ID": hostile}  # as a server would pass any bytes on
    found = client.get("/healthz", environ_base=environ).headers["X-Request-ID"]
    assert found != hostile and len(found) == 32


def test_audit_events_of_a_request_carry_its_id(client, db):
    learner = LearnerFactory()
    offered = "req-audit-0001"
    response = client.post(
        "/login",
        data={"email": learner.email, "password": "not the password"},
        headers={"X-Request-ID": offered},
    )
    assert response.status_code == 200  # refused: the form again
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "auth.login_failed").order_by(AuditEvent.id)
    )
    assert event is not None and event.request_id == offered
    assert response.headers["X-Request-ID"] == offered


def test_audit_events_outside_a_request_have_no_id(app, db):
    from lca.core.audit import record

    with app.app_context():
        assert record(None, "test.cli").request_id is None


def test_security_log_lines_carry_the_request_id(app, caplog):
    with (
        app.test_request_context(headers={"X-Request-ID": "req-security-42"}),
        caplog.at_level(logging.WARNING, logger="lca.security"),
    ):
        security_event("second_factor.reset", actor_id=1)
    line = json.loads(caplog.records[-1].getMessage())
    assert line["event"] == "second_factor.reset" and line["request_id"] == "req-security-42"


# --------------------------------------------------------------------------- structured logs


def test_json_log_lines(app, capsys):
    configure_logging("json")
    configure_logging("json")  # an app made again (each test makes some) adds no second handler
    try:
        assert sum(getattr(h, "lca_handler", False) for h in logging.getLogger().handlers) == 1
        with app.test_request_context(headers={"X-Request-ID": "req-json-0001"}):
            logging.getLogger("lca.test").info("claimed %d messages", 3, extra={"worker": 2})
        logging.getLogger("lca.test").warning("outside a request")
    finally:
        configure_logging(app.config["LCA_LOG_FORMAT"])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 2
    inside, outside = lines
    assert inside["message"] == "claimed 3 messages" and inside["level"] == "INFO"
    assert inside["logger"] == "lca.test" and inside["worker"] == 2
    assert inside["request_id"] == "req-json-0001" and "request_id" not in outside
    assert inside["time"].endswith("+00:00") and "T" in inside["time"]


def test_log_format_setting(monkeypatch):
    assert load_config({"LCA_ENV": "development"})["LCA_LOG_FORMAT"] == "text"
    monkeypatch.setenv("LCA_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("LCA_PUBLIC_URL", "https://lca.example.org")
    assert load_config({"LCA_ENV": "production"})["LCA_LOG_FORMAT"] == "json"
    monkeypatch.setenv("LCA_LOG_FORMAT", "text")
    assert load_config({"LCA_ENV": "production"})["LCA_LOG_FORMAT"] == "text"
    monkeypatch.setenv("LCA_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LCA_LOG_FORMAT"):
        load_config({"LCA_ENV": "testing"})
    monkeypatch.delenv("LCA_LOG_FORMAT")
    monkeypatch.setenv("LCA_METRICS_ALLOW", "10.0.0.0/8 not-an-address")
    with pytest.raises(ConfigError, match="LCA_METRICS_ALLOW"):
        load_config({"LCA_ENV": "testing"})


# --------------------------------------------------------------------------- /metrics: who


def test_metrics_are_not_there_without_configuration(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=BEARER).status_code == 404


def test_metrics_want_the_token(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 404
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, "Basic b3A6b3A=", "Bearer "):
        assert client.get("/metrics", headers={"Authorization": wrong}).status_code == 404
    assert client.get("/metrics", headers=BEARER).status_code == 200


def test_metrics_from_an_allowed_address(app, client, monkeypatch):
    allow = parse_networks("LCA_METRICS_ALLOW", "10.1.0.0/16 192.0.2.7")
    monkeypatch.setitem(app.config, "LCA_METRICS_ALLOW", allow)
    for address, status in (
        ("10.1.200.3", 200),
        ("192.0.2.7", 200),
        ("::ffff:192.0.2.7", 200),
        ("192.0.2.8", 404),
        ("10.2.0.1", 404),
        ("2001:db8::1", 404),
    ):
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert response.status_code == status, address


def test_metrics_with_token_and_addresses_want_both(app, client, monkeypatch):
    allow = parse_networks("LCA_METRICS_ALLOW", "10.0.0.0/8")
    monkeypatch.setitem(app.config, "LCA_METRICS_ALLOW", allow)
    monkeypatch.setitem(app.config, "LCA_METRICS_TOKEN", TOKEN)
    inside = {"REMOTE_ADDR": "10.0.0.9"}
    assert client.get("/metrics", environ_base=inside, headers=BEARER).status_code == 200
    assert client.get("/metrics", environ_base=inside).status_code == 404
    outside = {"REMOTE_ADDR": "192.0.2.1"}
    assert client.get("/metrics", environ_base=outside, headers=BEARER).status_code == 404


# --------------------------------------------------------------------------- /metrics: what


def test_requests_are_counted_by_endpoint_method_and_status(client, scrape):
    before = scrape()
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page")
    client.get("/no-such-page")
    after = scrape()

    def gained(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "lca_http_requests_total"
    assert gained(requests, endpoint="home.healthz", method="GET", status="200") == 3
    assert gained(requests, endpoint="unmatched", method="GET", status="404") == 2
    assert gained("lca_http_request_duration_seconds_count", endpoint="home.healthz") == 3
    # the scrapes themselves are counted nowhere
    assert not any(labels and ("endpoint", "home.metrics") in labels for _name, labels in after)
    assert ("lca_db_pool_checked_out", ()) in after


def test_sign_in_failures_are_counted(client, db, scrape):
    learner = LearnerFactory()
    before = _value(scrape(), "lca_sign_in_failures_total")
    for _ in range(4):
        client.post("/login", data={"email": learner.email, "password": "wrong password"})
    client.post("/login", data={"email": "nobody@example.org", "password": "whatever it is"})
    assert _value(scrape(), "lca_sign_in_failures_total") - before == 5


def test_outbox_and_certificates_are_read_from_the_database(client, db, scrape):
    before = scrape()
    learner = LearnerFactory()
    for _ in range(3):
        record_message(learner, MessageKind.LOG_RETURNED, link="home.dashboard")
    failed = record_message(learner, MessageKind.LOG_REJECTED, link="home.dashboard")
    failed.email_status = EmailStatus.FAILED
    CertificateFactory()
    CertificateFactory()
    db.session.flush()
    after = scrape()

    def count(*where):
        return db.session.scalar(select(func.count()).select_from(Message).where(*where))

    waiting = _value(after, "lca_outbox_waiting_messages")
    assert waiting - _value(before, "lca_outbox_waiting_messages") == 3
    assert waiting == count(Message.email_status == EmailStatus.WAITING)
    failures = _value(after, "lca_outbox_failed_messages")
    assert failures - _value(before, "lca_outbox_failed_messages") == 1
    assert failures == count(Message.email_status == EmailStatus.FAILED)
    issued = _value(after, "lca_certificates_issued")
    assert issued - _value(before, "lca_certificates_issued") == 2
    assert issued == db.session.scalar(select(func.count()).select_from(Certificate))


def test_metrics_summed_over_gunicorns_workers(new_database, tmp_path):
    """Two workers, PROMETHEUS_MULTIPROC_DIR and deploy/gunicorn.conf.py: every scrape, from
    whichever worker, shows all the requests; counts of an earlier run were cleared."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier run")  # cleared at start
    port = free_port()
    env = instance_env(
        new_database("lca_metrics_workers"),
        tmp_path / "data",
        port,
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        LCA_METRICS_TOKEN=TOKEN,
        LCA_LOG_FORMAT="text",
    )
    server = Gunicorn(
        env, port, tmp_path / "gunicorn.log", workers=2, config=ROOT / "deploy/gunicorn.conf.py"
    )
    try:
        server.wait_ready()
        requests = 12
        for _ in range(requests):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/favicon.ico")
            response = connection.getresponse()
            response.read()
            answered_id = response.getheader("X-Request-ID")
            assert answered_id
            connection.close()
        for _ in range(4):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/metrics", headers=BEARER)
            response = connection.getresponse()
            body = response.read().decode()
            connection.close()
            assert response.status == 200, body
            samples = _samples(body)
            counted = sum(
                value
                for (name, labels), value in samples.items()
                if name == "lca_http_requests_total" and ("endpoint", "home.favicon") in labels
            )
            assert counted == requests
        assert not (folder / "counter_999999.db").exists()
    finally:
        server.stop()
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in log, log
    # the access log (deploy/gunicorn.conf.py) names each request by the id LCA answered with
    assert any("/favicon.ico" in line and answered_id in line for line in log.splitlines())


# --------------------------------------------------------------------------- /readyz


def test_readyz_all_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "ok"
    assert answer["checks"] == {
        "database": "ok",
        "storage": "ok",
        "signing_key": "ok",
        "rate_limits": "ok",
    }
    assert answer["rate_limit_backend"] == "memory"


def test_readyz_without_the_file_folder(app, client, tmp_path, monkeypatch):
    monkeypatch.setitem(app.extensions, "lca_storage", LocalStorage(tmp_path / "removed" / "files"))
    response = client.get("/readyz")
    assert response.status_code == 503
    answer = response.get_json()
    assert answer["status"] == "error"
    assert answer["checks"]["storage"] == "The file folder does not exist."
    assert answer["checks"]["database"] == "ok"


def test_readyz_with_a_bad_mail_url(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_MAIL_URL", "http://lca:hunter2@mail.example.org")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "smtp://" in response.get_json()["checks"]["mail"]
    assert "hunter2" not in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "LCA_MAIL_URL", "smtp://lca:hunter2@mail.example.org:587")
    response = client.get("/readyz")  # parsed, not connected to
    assert response.status_code == 200 and response.get_json()["checks"]["mail"] == "ok"


def test_readyz_when_the_rate_limit_storage_is_unreachable(tmp_path, monkeypatch):
    # the limiter is one object: this app binds it to Redis, the suite's app gets it back after
    monkeypatch.setattr(limiter, "_storage", limiter._storage)
    monkeypatch.setattr(limiter, "_limiter", limiter._limiter)
    monkeypatch.setenv("LCA_RATELIMIT_STORAGE_URL", f"redis://:hunter2@127.0.0.1:{free_port()}")
    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'ready.sqlite3'}",
            "LCA_DATA_DIR": tmp_path / "data",
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    answer = response.get_json()
    assert answer["checks"]["rate_limits"] == "the redis storage does not answer"
    assert answer["rate_limit_backend"] == "redis"
    assert "hunter2" not in response.get_data(as_text=True)
    assert os.environ["LCA_RATELIMIT_STORAGE_URL"] not in response.get_data(as_text=True)
