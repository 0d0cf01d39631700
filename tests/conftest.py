"""Fixtures: the app on a real database (SQLite file or a throwaway PostgreSQL), each test in a
transaction that is rolled back, a client, a ``login`` helper and clients signed in as each role,
the page readers (``field_error``, ``flashes``), the real PDF and QR readers, the outside
verifiers under Node (``node_tools``) and the app over real HTTPS (``https_server``), the
permission matrix's world, a statement counter, and moto's S3 server with an app whose files
live in a bucket. What builds rows and inputs is in tests/factories.py; test modules import
nothing else of the suite."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, select

from lca import create_app
from lca.auth.services import new_reset_token, new_setup_token
from lca.certificates.keys import generate_keys, jwt_key
from lca.core.config import ROOT
from lca.core.db import db as _db
from lca.core.db import init_migrations
from lca.core.seed_files import SEED_DIR
from lca.models import Certificate
from lca.ops.seeding import seed_all
from tests.factories import (
    AdminFactory,
    CertificateFactory,
    ClassSessionFactory,
    EnrolmentFactory,
    EvidenceFileFactory,
    FieldReportFactory,
    HourLogFactory,
    LearnerFactory,
    PasskeyFactory,
    ReportFileFactory,
    eligible_enrolment,
    instructor_teaching,
)
from tools.instances import PostgresUnavailable, ThrowawayPostgres

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("LCA_TEST_BACKEND", "sqlite"),
        help="the database engine the suite runs on",
    )


def pytest_ignore_collect(collection_path, config):
    """tests/cluster (several servers, minutes long) is collected only when asked for by its
    marker, as `make test-cluster` does (``-m cluster``); `make test` never runs it."""
    cluster = Path(__file__).parent / "cluster"
    if collection_path == cluster or cluster in collection_path.parents:
        return "cluster" not in (config.getoption("markexpr") or "")
    return None


def pytest_report_header(config):
    return f"LCA database backend: {config.getoption('--backend')}"


def unavailable(reason: str):
    """A missing real component: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the suite must not skip it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--backend")


@pytest.fixture(scope="session")
def postgres_server(backend) -> Iterator[ThrowawayPostgres | None]:
    if backend != "postgresql":
        yield None
        return
    try:
        server = ThrowawayPostgres().start()
    except PostgresUnavailable as error:
        unavailable(str(error))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def new_database(backend, postgres_server, tmp_path_factory):
    """Make an empty database of the chosen engine and return its URL."""

    def make(name: str) -> str:
        if postgres_server is not None:
            return postgres_server.create_database(name)
        return f"sqlite:///{tmp_path_factory.mktemp('db') / (name + '.sqlite3')}"

    return make


def _make_app(database_url: str, data_dir, **overrides):
    """An LCA app in testing mode on ``database_url``, migrated and seeded."""
    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "LCA_DATA_DIR": data_dir,
            **overrides,
        }
    )
    if "migrate" not in app.extensions:  # a served app (LCA_ENV=development here) never migrates
        init_migrations(app, str(ROOT / "migrations"))
    with app.app_context():
        upgrade()
        seed_all()
        _db.session.commit()
        _db.session.remove()
    return app


def _sqlite_real_transactions(engine) -> None:
    """Let pysqlite run real BEGIN/SAVEPOINT so each test can be rolled back (SQLAlchemy recipe)."""

    @event.listens_for(engine, "connect")
    def no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def explicit_begin(connection):
        connection.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def make_app():
    """``make_app(database_url, data_dir, **config)``: another LCA app in testing mode, on a
    database it migrates and seeds (its sessions commit for real)."""
    return _make_app


def _app_for_tests(app) -> None:
    """Keys made, and each test's commits turned into savepoints of a transaction that the
    ``db`` fixture rolls back."""
    with app.app_context():
        generate_keys()  # as every deployment has them: issuing signs the credential and PDF
        engine = _db.engine
        if engine.dialect.name == "sqlite":
            engine.dispose()
            _sqlite_real_transactions(engine)
        _db.session.configure(join_transaction_mode="create_savepoint")


@pytest.fixture(scope="session")
def app(new_database, tmp_path_factory):
    app = _make_app(new_database("lca_test"), tmp_path_factory.mktemp("data"))
    _app_for_tests(app)
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free local port, standing in for a real object store (the package
    registries offer no other S3 server), with credentials in the environment where boto3's
    chain finds them; its endpoint URL (LCA_S3_ENDPOINT_URL)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "lca-test")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "lca-test-secret")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
            patch.delenv(name, raising=False)
        yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_server):
    """A boto3 client of the S3 server, to make buckets and look into them."""
    import boto3

    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")


@pytest.fixture(scope="session")
def s3_app(new_database, tmp_path_factory, s3_server, s3_client):
    """An app like ``app`` whose files live in the bucket lca-files under the prefix lca/, and
    whose signing keys live in a folder of their own outside LCA_DATA_DIR (LCA_KEYS_DIR)."""
    s3_client.create_bucket(Bucket="lca-files")
    app = _make_app(
        new_database("lca_test_s3"),
        tmp_path_factory.mktemp("s3-data"),
        LCA_STORAGE_URL="s3://lca-files/lca",
        LCA_S3_ENDPOINT_URL=s3_server,
        LCA_KEYS_DIR=tmp_path_factory.mktemp("secrets") / "lca",
    )
    _app_for_tests(app)
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app) -> Iterator:
    """The database, inside a transaction rolled back after the test; commits become savepoints."""
    with app.app_context():
        engines = _db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection
        try:
            yield _db
        finally:
            _db.session.remove()
            engines[None] = engine
            transaction.rollback()
            connection.close()


class IsolatedClient(FlaskClient):
    """Each request in an application context of its own, as in production: its own ``g`` and
    its own database session (on the test's connection), not the test's."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # read the whole body and close what it streamed
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db):
    app.test_client_class = IsolatedClient
    return app.test_client()


def _sign_in_on(client, user) -> None:
    from lca.auth.second_factor import must_have_second_factor
    from lca.auth.sessions import start_session
    from lca.core.db import utcnow

    token = start_session(user, second_factor="totp" if must_have_second_factor(user) else None)
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
        session["reauth_at"] = int(utcnow().timestamp())  # a sign-in is a recent proof


@pytest.fixture
def login(client):
    """``login(user)`` signs ``user`` in on ``client`` as Flask-Login would; staff's session
    counts as having passed the second factor (which staff must: tests/test_second_factor.py)."""

    def sign_in(user) -> None:
        _sign_in_on(client, user)

    return sign_in


@pytest.fixture(scope="session")
def login_on():
    """``login_on(client, user)``: ``login`` on a client of another app (e.g. one whose
    sessions commit for real); the caller commits the new session inside that app."""
    return _sign_in_on


@pytest.fixture
def admin(client, login):
    """An administrator, signed in on ``client``."""
    user = AdminFactory()
    login(user)
    return user


@pytest.fixture
def issue_certificate(client, admin, db):
    """``issue_certificate(language="both", **learner)``: the administrator (``admin``) issues
    an eligible learner's certificate through the cohort page's form; returns it."""

    def issue(language: str = "both", **learner) -> Certificate:
        enrolment = eligible_enrolment(**learner)
        response = client.post(
            f"/enrolments/{enrolment.id}/certificate", data={"language": language}
        )
        assert response.status_code == 302
        return _db.session.scalar(
            select(Certificate).where(Certificate.enrolment_id == enrolment.id)
        )

    return issue


@pytest.fixture
def admin_client(client, admin) -> FlaskClient:
    """``client`` with an administrator (the ``admin`` fixture) signed in."""
    return client


@pytest.fixture
def teaching(client, login):
    """An instructor teaching a cohort of one learner (``teaching.instructor``, ``.cohort``,
    ``.enrolment``), signed in on ``client``."""
    taught = instructor_teaching()
    login(taught.instructor)
    return taught


@pytest.fixture
def instructor_client(client, teaching) -> FlaskClient:
    """``client`` with the instructor of ``teaching`` signed in."""
    return client


@pytest.fixture
def learner_enrolment(client, login):
    """A learner's enrolment in a cohort, the learner signed in on ``client``."""
    enrolment = EnrolmentFactory()
    login(enrolment.learner)
    return enrolment


@pytest.fixture
def learner_client(client, learner_enrolment) -> FlaskClient:
    """``client`` with the learner of ``learner_enrolment`` signed in."""
    return client


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    """A copy of seed/ to change (tests.factories.edit_yaml) and load with seed_all(copy)."""
    target = tmp_path / "seed"
    shutil.copytree(SEED_DIR, target)
    return target


# --------------------------------------------------------------------------- reading pages


def _field_error(page: str, field_id: str) -> str:
    match = re.search(
        rf'<p class="error-message" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S
    )
    return html.unescape(match.group(1)).strip() if match else ""


def _flashes(page: str) -> list[str]:
    return [
        html.unescape(m) for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]


@pytest.fixture(scope="session")
def field_error() -> Callable[[str, str], str]:
    """``field_error(page, field_id)``: the message shown next to that field ("" for none)."""
    return _field_error


@pytest.fixture(scope="session")
def flashes() -> Callable[[str], list[str]]:
    """``flashes(page)``: the flashed messages on the page."""
    return _flashes


# --------------------------------------------------------------------------- PDFs, by real tools


def system_tool(name: str) -> str:
    """The path of a program the suite reads PDFs with; missing, see ``unavailable``."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian: poppler-utils, zbar-tools)")
    return path


def _pdf_text(pdf: bytes, tmp_path: Path, mode: str = "-raw") -> str:
    source = tmp_path / "read.pdf"
    source.write_bytes(pdf)
    args = [system_tool("pdftotext"), *([mode] if mode else []), str(source), "-"]
    return subprocess.run(args, capture_output=True, check=True, text=True).stdout


def _qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    source = tmp_path / "qr.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            system_tool("pdftoppm"),
            "-r",
            "150",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        capture_output=True,
    )
    image = next(tmp_path.glob("page*.png"))
    result = subprocess.run(
        [system_tool("zbarimg"), "-q", "--raw", str(image)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if line]


def _pdf_fonts(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "fonts.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        [system_tool("pdffonts"), str(source)], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="session", name="unavailable")
def unavailable_fixture():
    """``unavailable(reason)``: fail in CI, skip on a developer's machine (the browser's
    scaffolding asks for it)."""
    return unavailable


@pytest.fixture(scope="session", name="system_tool")
def system_tool_fixture():
    """``system_tool(name)``: the path of a program, or ``unavailable``."""
    return system_tool


@pytest.fixture(scope="session")
def node_tools():
    """The outside verifiers under Node (tests/node_tools.py: ``verify_with_dcc``,
    ``canonize_with_jsonld_js``, ...), or ``unavailable`` with the command that installs them."""
    from tests import node_tools

    reason = node_tools.missing()
    if reason:
        unavailable(reason)
    return node_tools


@pytest.fixture(scope="session", name="serve_https")
def serve_https_fixture(tmp_path_factory):
    """``with serve_https(app) as server:`` serves a Flask app over real HTTPS on
    https://localhost:<port> (its public address meanwhile), its certificate from a throwaway
    CA whose PEM file is ``server.ca_file`` (tests/secure_server.py)."""
    from tests.secure_server import serve_https

    return lambda app: serve_https(app, tmp_path_factory.mktemp("https"))


@pytest.fixture
def https_server(app, db, serve_https) -> Iterator:
    """The test's own app served over HTTPS: its requests run on the test's database
    connection, so what the test wrote is what an outside verifier fetches."""
    with serve_https(app) as server:
        yield server


@pytest.fixture(scope="session")
def pdf_text():
    """``pdf_text(pdf, tmp_path, mode="-raw")``: what pdftotext reads from the PDF."""
    system_tool("pdftotext")
    return _pdf_text


@pytest.fixture(scope="session")
def qr_codes():
    """``qr_codes(pdf, tmp_path)``: what zbarimg decodes from the PDF's first page."""
    system_tool("pdftoppm")
    system_tool("zbarimg")
    return _qr_codes


@pytest.fixture(scope="session")
def pdf_fonts():
    """``pdf_fonts(pdf, tmp_path)``: pdffonts' table of the fonts the PDF embeds."""
    system_tool("pdffonts")
    return _pdf_fonts


# --------------------------------------------------------------------------- the permission matrix
# The matrix is read by tests/test_permissions.py (every route × every kind of visitor),
# tests/test_security.py (no inline script on any page) and tests/test_fuzz.py (every route).
# A route missing from MATRIX fails the suite, so every new route needs a decision here.

ACTORS = ("anonymous", "learner", "other_learner", "instructor", "other_instructor", "admin")
OK, LOGIN, FORBIDDEN, NOT_THERE = "ok", "login", "forbidden", "not there"


def _everyone(outcome):
    return dict.fromkeys(ACTORS, outcome)


PUBLIC = _everyone(OK)
SIGNED_IN = {**_everyone(OK), "anonymous": LOGIN}
ADMIN = {**_everyone(FORBIDDEN), "anonymous": LOGIN, "admin": OK}
LEARNERS = {**ADMIN, "admin": FORBIDDEN, "learner": OK, "other_learner": OK}
INSTRUCTORS = {**ADMIN, "admin": FORBIDDEN, "instructor": OK, "other_instructor": OK}
STAFF = {**ADMIN, "instructor": OK, "other_instructor": OK}
COHORT_STAFF = {**ADMIN, "instructor": OK}  # admins and the cohort's own instructors
LOG_READERS = {**COHORT_STAFF, "learner": OK}  # the log's learner, the cohort's staff
OWNER = {**ADMIN, "admin": FORBIDDEN, "learner": OK}  # the learner whose log it is
COHORT_INSTRUCTOR = {**ADMIN, "admin": FORBIDDEN, "instructor": OK}
#: the operator's scraper only (LCA_METRICS_TOKEN / LCA_METRICS_ALLOW, unset in the suite's
#: app): to every visitor, signed in or not, the page is not there (404)
OPERATOR = _everyone(NOT_THERE)

#: (endpoint, method) → who gets what
MATRIX = {
    ("home.index", "GET"): PUBLIC,
    ("home.healthz", "GET"): PUBLIC,
    ("home.readyz", "GET"): PUBLIC,  # the checks' answers, no personal data
    ("home.metrics", "GET"): OPERATOR,  # tests/test_observability.py opens it
    ("home.font", "GET"): PUBLIC,  # the Sarabun web font, on every page
    ("home.favicon", "GET"): PUBLIC,
    ("home.dashboard", "GET"): SIGNED_IN,
    ("home.learner", "GET"): LEARNERS,
    ("home.instructor", "GET"): INSTRUCTORS,
    ("curriculum.index", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.logout", "POST"): SIGNED_IN,
    ("auth.account", "GET"): SIGNED_IN,
    ("auth.preferences", "POST"): SIGNED_IN,
    ("auth.renew_calendar", "POST"): SIGNED_IN,  # one's own feed address: the route takes no id
    ("auth.sign_out_everywhere", "POST"): SIGNED_IN,
    ("auth.end_one_session", "POST"): SIGNED_IN,  # one's own sessions only (else 404)
    ("auth.password", "GET"): SIGNED_IN,
    ("auth.password", "POST"): SIGNED_IN,
    ("cohorts.index", "GET"): STAFF,
    ("cohorts.new", "GET"): ADMIN,
    ("cohorts.new", "POST"): ADMIN,
    ("cohorts.show", "GET"): COHORT_STAFF,
    ("cohorts.edit", "GET"): ADMIN,
    ("cohorts.edit", "POST"): ADMIN,
    ("cohorts.assign", "POST"): ADMIN,
    ("cohorts.unassign", "POST"): ADMIN,
    ("cohorts.enrol", "POST"): ADMIN,
    ("cohorts.withdraw", "GET"): ADMIN,
    ("cohorts.withdraw", "POST"): ADMIN,
    ("cohorts.field_window", "GET"): ADMIN,
    ("cohorts.field_window", "POST"): ADMIN,
    ("cohorts.curriculum", "GET"): ADMIN,
    ("cohorts.curriculum", "POST"): ADMIN,
    ("hours.my_logs", "GET"): LEARNERS,
    ("hours.new_log", "GET"): LEARNERS,
    ("hours.new_log", "POST"): LEARNERS,
    ("hours.show_log", "GET"): LOG_READERS,
    ("hours.edit_log", "GET"): OWNER,
    ("hours.edit_log", "POST"): OWNER,
    ("hours.withdraw", "POST"): OWNER,
    ("hours.answer", "POST"): OWNER,
    ("hours.evidence", "GET"): LOG_READERS,
    ("hours.thumbnail", "GET"): LOG_READERS,
    ("hours.approve", "POST"): COHORT_STAFF,
    ("hours.reject", "POST"): COHORT_STAFF,
    ("hours.send_back", "POST"): COHORT_STAFF,
    ("hours.queue", "GET"): STAFF,
    ("hours.bulk_approve", "POST"): STAFF,
    ("hours.bulk_return", "POST"): STAFF,
    ("hours.bulk_reject", "POST"): STAFF,
    ("hours.sessions", "GET"): COHORT_STAFF,
    ("hours.new_session", "GET"): COHORT_STAFF,
    ("hours.new_session", "POST"): COHORT_STAFF,
    ("hours.edit_session", "GET"): COHORT_STAFF,
    ("hours.edit_session", "POST"): COHORT_STAFF,
    ("hours.cancel_session", "POST"): COHORT_STAFF,
    ("hours.calendar", "GET"): PUBLIC,  # the address's signature is the check
    ("hours.attendance", "GET"): COHORT_STAFF,
    ("hours.attendance", "POST"): COHORT_STAFF,
    ("check_in.scan", "GET"): PUBLIC,  # the QR code's link: checked, then carried on
    ("check_in.scanned", "GET"): PUBLIC,  # signs in first when needed
    ("check_in.scanned", "POST"): PUBLIC,
    ("check_in.my_stay", "GET"): OWNER,  # the learners of the session's cohort
    ("check_in.screen", "GET"): COHORT_STAFF,
    ("check_in.code", "GET"): COHORT_STAFF,
    ("check_in.roster_part", "GET"): COHORT_STAFF,
    ("check_in.by_hand", "POST"): COHORT_STAFF,
    ("check_in.close", "POST"): COHORT_STAFF,
    ("check_in.reopen", "POST"): COHORT_STAFF,
    ("check_in.confirm", "POST"): COHORT_STAFF,
    ("check_in.new_point", "POST"): COHORT_STAFF,
    ("check_in.place_check", "POST"): COHORT_STAFF,
    ("hours.cohort_matrix", "GET"): COHORT_STAFF,
    ("hours.cohort_matrix_csv", "GET"): COHORT_STAFF,
    ("hours.enrolment", "GET"): COHORT_STAFF,
    ("hours.field_start", "POST"): ADMIN,
    ("assessment.my_report", "GET"): LEARNERS,
    ("assessment.my_report", "POST"): LEARNERS,
    ("assessment.reports", "GET"): STAFF,
    ("assessment.report", "GET"): LOG_READERS,
    ("assessment.grade", "POST"): COHORT_INSTRUCTOR,
    ("assessment.assign", "POST"): ADMIN,
    ("assessment.reopen", "POST"): ADMIN,
    ("assessment.report_file", "GET"): LOG_READERS,
    ("assessment.report_thumbnail", "GET"): LOG_READERS,
    ("curriculum.rubric", "GET"): PUBLIC,
    ("certificates.cohort", "GET"): COHORT_STAFF,
    ("certificates.issue", "POST"): ADMIN,
    ("certificates.issue_all", "POST"): ADMIN,
    ("certificates.print_cohort", "GET"): ADMIN,
    ("certificates.zip_cohort", "GET"): ADMIN,
    ("certificates.show", "GET"): LOG_READERS,
    ("certificates.download", "GET"): LOG_READERS,
    ("certificates.revoke", "POST"): ADMIN,
    ("certificates.reissue", "POST"): ADMIN,
    ("certificates.verify_form", "GET"): PUBLIC,
    ("certificates.verify", "GET"): PUBLIC,
    ("certificates.verify_pdf", "GET"): PUBLIC,
    ("certificates.credential_json", "GET"): PUBLIC,
    ("certificates.credential_jwt", "GET"): PUBLIC,
    ("certificates.jwks", "GET"): PUBLIC,
    ("certificates.issuer", "GET"): PUBLIC,
    ("certificates.achievement", "GET"): PUBLIC,
    ("certificates.achievement_th", "GET"): PUBLIC,
    ("certificates.revocations", "GET"): PUBLIC,
    ("certificates.status_list", "GET"): PUBLIC,
    ("certificates.did_document", "GET"): PUBLIC,
    ("certificates.issuer_key", "GET"): PUBLIC,
    ("certificates.credential_download", "GET"): PUBLIC,
    ("certificates.badge_png_file", "GET"): PUBLIC,
    ("certificates.badge_svg_file", "GET"): PUBLIC,
    ("certificates.achievement_image_png", "GET"): PUBLIC,
    ("certificates.achievement_image_svg", "GET"): PUBLIC,
    ("certificates.check_file_upload", "POST"): PUBLIC,
    ("auth.set_password", "GET"): PUBLIC,
    ("auth.set_password", "POST"): PUBLIC,
    ("auth.forgot_password", "GET"): PUBLIC,
    ("auth.forgot_password", "POST"): PUBLIC,
    ("auth.reset_password_link", "GET"): PUBLIC,
    ("auth.reset_password_link", "POST"): PUBLIC,
    ("reports.index", "GET"): STAFF,
    ("reports.cohort", "GET"): COHORT_STAFF,
    ("reports.city", "GET"): ADMIN,
    ("admin.reset", "POST"): ADMIN,
    ("admin.resend_invitation", "POST"): ADMIN,
    ("admin.invitations", "GET"): ADMIN,
    ("admin.resend_invitations", "POST"): ADMIN,
    ("admin.import_learners", "GET"): ADMIN,
    ("admin.preview_import", "POST"): ADMIN,
    ("admin.confirm_import", "POST"): ADMIN,
    ("admin.import_template", "GET"): ADMIN,
    ("admin.exports", "GET"): ADMIN,
    ("admin.export_all_progress", "GET"): ADMIN,
    ("admin.export_progress", "GET"): ADMIN,
    ("admin.export_hour_logs", "GET"): ADMIN,
    ("admin.export_certificates", "GET"): ADMIN,
    ("admin.audit", "GET"): ADMIN,
    ("admin.export_audit", "GET"): ADMIN,
    ("admin.messages", "GET"): ADMIN,
    ("admin.retry_delivery", "POST"): ADMIN,
    ("admin.index", "GET"): ADMIN,
    ("notifications.index", "GET"): SIGNED_IN,
    ("notifications.open_message", "POST"): OWNER,  # one's own message only
    ("notifications.read_all", "POST"): SIGNED_IN,
    ("notifications.choices", "GET"): SIGNED_IN,
    ("notifications.choices", "POST"): SIGNED_IN,
    ("notifications.unsubscribe", "GET"): PUBLIC,  # the link's signature is the check
    ("notifications.unsubscribe", "POST"): PUBLIC,
    ("admin.users", "GET"): ADMIN,
    ("admin.new_user", "GET"): ADMIN,
    ("admin.new_user", "POST"): ADMIN,
    ("admin.edit_user", "GET"): ADMIN,
    ("admin.edit_user", "POST"): ADMIN,
    ("admin.deactivate", "POST"): ADMIN,
    ("admin.activate", "POST"): ADMIN,
    ("admin.sign_out", "POST"): ADMIN,
    ("admin.reset_second_factor", "POST"): ADMIN,
    # the second step of a sign-in: without a sign-in waiting for it, back to the password
    ("auth.second_step", "GET"): SIGNED_IN,
    ("auth.second_step", "POST"): SIGNED_IN,
    ("auth.recovery_step", "GET"): SIGNED_IN,
    ("auth.recovery_step", "POST"): SIGNED_IN,
    ("auth.passkey_sign_in_start", "POST"): SIGNED_IN,
    ("auth.passkey_sign_in", "POST"): SIGNED_IN,
    # one's own second factors (the passkey id is looked up among one's own only)
    ("auth.second_factor", "GET"): SIGNED_IN,
    ("auth.start_totp", "POST"): SIGNED_IN,
    ("auth.totp_setup", "GET"): SIGNED_IN,
    ("auth.totp_setup", "POST"): SIGNED_IN,
    ("auth.remove_app", "POST"): SIGNED_IN,
    ("auth.passkey_options", "POST"): SIGNED_IN,
    ("auth.add_passkey", "POST"): SIGNED_IN,
    ("auth.delete_passkey", "POST"): SIGNED_IN,
    ("auth.recovery_codes", "POST"): SIGNED_IN,
    ("auth.confirm_password", "GET"): SIGNED_IN,  # the password again (lca/auth/reauth.py)
    ("auth.confirm_password", "POST"): SIGNED_IN,
    ("admin.cities", "GET"): ADMIN,
    ("admin.new_city", "GET"): ADMIN,
    ("admin.new_city", "POST"): ADMIN,
    ("admin.edit_city", "GET"): ADMIN,
    ("admin.edit_city", "POST"): ADMIN,
    ("privacy.notice", "GET"): PUBLIC,
    ("privacy.acknowledge", "POST"): SIGNED_IN,
    ("privacy.my_data", "GET"): SIGNED_IN,  # one's own data only: the route takes no id
    ("privacy.user_data", "GET"): ADMIN,
    ("privacy.erase", "GET"): ADMIN,
    ("privacy.erase", "POST"): ADMIN,
}


class PermissionMatrix:
    """The matrix as the tests use it: ``rows[(endpoint, method)][actor]`` is OK, LOGIN,
    FORBIDDEN or NOT_THERE; ``actors`` every kind of visitor, each a key of ``world``."""

    OK, LOGIN, FORBIDDEN, NOT_THERE = OK, LOGIN, FORBIDDEN, NOT_THERE
    actors = ACTORS
    rows = MATRIX


@pytest.fixture(scope="session")
def permission_matrix() -> type[PermissionMatrix]:
    return PermissionMatrix


def pytest_generate_tests(metafunc):
    """``matrix_route``: every row of the matrix; ``usable_route``: every row someone may use;
    ``matrix_actor``: every kind of visitor."""
    ids = {"ids": lambda route: f"{route[1]} {route[0]}"}
    if "matrix_route" in metafunc.fixturenames:
        metafunc.parametrize("matrix_route", sorted(MATRIX), **ids)
    if "usable_route" in metafunc.fixturenames:
        usable = sorted(route for route, who in MATRIX.items() if OK in who.values())
        metafunc.parametrize("usable_route", usable, **ids)
    if "matrix_actor" in metafunc.fixturenames:
        metafunc.parametrize("matrix_actor", ACTORS)


@pytest.fixture
def world(db):
    """The permission matrix's world. Two cohorts: the learner and instructor belong to one,
    the "other" ones to the second."""
    mine, theirs = instructor_teaching(), instructor_teaching()
    instructor, enrolment = mine.instructor, mine.enrolment
    other_instructor, other = theirs.instructor, theirs.enrolment
    evidence = EvidenceFileFactory(hour_log=HourLogFactory(enrolment=enrolment))
    attachment = ReportFileFactory(field_report=FieldReportFactory(enrolment=enrolment))
    generate_keys()  # the credential route signs
    newcomer = LearnerFactory()
    return {
        "setup_token": new_setup_token(newcomer),
        "reset_token": new_reset_token(LearnerFactory()),
        "certificate": CertificateFactory(enrolment=enrolment),
        "report_file": attachment,
        "log": evidence.hour_log,
        "evidence": evidence,
        "session": ClassSessionFactory(cohort=enrolment.cohort),
        "anonymous": None,
        "learner": enrolment.learner,
        "other_learner": other.learner,
        "instructor": instructor,
        "other_instructor": other_instructor,
        "admin": AdminFactory(),
        "cohort": enrolment.cohort,
        "enrolment": enrolment,
        "message": _failed_message(enrolment.learner),
        "passkey": PasskeyFactory(user=enrolment.learner),
    }


def _failed_message(learner):
    """A message the mail server refused for good (the admin's deliveries page)."""
    from lca.core.outbox import record_message
    from lca.models import EmailStatus, MessageKind

    message = record_message(learner, MessageKind.LOG_RETURNED, link="home.dashboard")
    message.email_status, message.last_error = EmailStatus.FAILED, "550 5.1.1 No such mailbox"
    _db.session.flush()
    return message


def _unsubscribe_signature(user_id: int, topic: str) -> str:
    from lca.notifications.preferences import unsubscribe_token

    return unsubscribe_token(user_id, topic)


def _calendar_token(user) -> str:
    from lca.hours.calendar_feed import feed_token

    return feed_token(user)


def _url_arguments(world) -> dict[str, int | str]:
    return {
        "cohort_id": world["cohort"].id,
        "enrolment_id": world["enrolment"].id,
        "user_id": world["instructor"].id,
        "city_id": world["cohort"].host_city_id,
        "log_id": world["log"].id,
        "evidence_id": world["evidence"].id,
        "session_id": world["session"].id,
        "report_id": world["report_file"].field_report_id,
        "file_id": world["report_file"].id,
        "certificate_id": world["certificate"].id,
        "code": world["certificate"].code,
        "token": world["setup_token"],
        "reset_token": world["reset_token"],
        "kind": "csv",
        "topic": "digests",
        "signature": _unsubscribe_signature(world["instructor"].id, "digests"),
        "feed_token": _calendar_token(world["instructor"]),
        "message_id": world["message"].id,
        "name": "sarabun-400.ttf",
        "number": world["certificate"].status_list,
        "thumbprint": jwt_key().thumbprint(),
        "passkey_id": world["passkey"].id,
        "check_in_code": _check_in_code(world["session"]),
        "point_number": 1,
    }


def _check_in_code(session) -> str:
    from lca.check_in.codes import code_for, current_step
    from lca.check_in.desk import ensure_points

    return code_for(ensure_points(session)[0], current_step())


@pytest.fixture
def url_arguments(world) -> dict[str, int | str]:
    """Ids for every URL variable, from ``world``: the first cohort, its enrolment, instructor,
    the learner's log and its file, a session of the cohort."""
    return _url_arguments(world)


class StatementCounter:
    IGNORED = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)", re.IGNORECASE)

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args) -> None:
        if not self.IGNORED.match(statement):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(app, db):
    """``with count_statements() as counter: …`` counts the SQL statements run inside."""
    from contextlib import contextmanager

    engine = db.engines[None].engine

    @contextmanager
    def counting():
        counter = StatementCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


def pytest_terminal_summary(terminalreporter):
    """How many hostile examples the fuzz tests ran (tests/test_fuzz.py)."""
    fuzz = sys.modules.get("test_fuzz") or sys.modules.get("tests.test_fuzz")
    if fuzz is not None and fuzz.RAN:
        terminalreporter.write_line(
            f"fuzzing: {sum(fuzz.RAN.values())} hostile examples over {len(fuzz.RAN)} routes"
        )


class Mailbox:
    """What a real SMTP server (aiosmtpd, in this process) received; addresses in ``refuse``
    get a permanent refusal (550)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.url = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages that arrived for ``address``."""
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on a free port on 127.0.0.1 for the whole run."""
    from aiosmtpd.controller import Controller

    from tools.instances import free_port

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    """The SMTP server's messages, empty at the start of the test."""
    smtp_server.messages.clear()
    smtp_server.refuse.clear()
    return smtp_server


@pytest.fixture
def deliver(app, db, mailbox) -> Callable[[], list[EmailMessage]]:
    """``deliver()`` runs the worker's delivery once against the real SMTP server and returns
    the e-mails that arrived in that round."""
    from lca.notifications.channels import SmtpChannel
    from lca.notifications.delivery import deliver_due

    def run() -> list[EmailMessage]:
        before = len(mailbox.messages)
        deliver_due(SmtpChannel(mailbox.url, app.config["LCA_MAIL_FROM"]))
        return mailbox.messages[before:]

    return run
