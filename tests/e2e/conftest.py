"""Browser journeys: the app served by a real server thread, driven in the system Chromium.

The demo data is built once per run (migrations, seed, demo) and copied for each journey, so
every journey starts from the same demo on a server of its own and none depends on another's
side effects."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from lca import create_app
from lca.certificates.keys import generate_keys
from lca.certificates.services import issue_certificate
from lca.core.db import db
from lca.core.storage import storage
from lca.models import City, Cohort, Enrolment, User
from lca.ops.demo import load_demo
from tests.e2e.support import LEDGER, Journey, screenshots_dir
from tests.factories import eligible_enrolment

# Two busy cores issue certificates and start servers slowly; waiting longer costs a passing
# journey nothing.
expect.set_options(timeout=10_000)

CHROMIUM_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    """LCA_CHROMIUM, or Debian's chromium binary, or a Chromium on PATH."""
    for candidate in (os.environ.get("LCA_CHROMIUM", ""), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
        found = candidate and shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, unavailable):
    executable = find_chromium()
    if executable is None:
        unavailable("Chromium is not installed (apt-get install chromium, or set LCA_CHROMIUM)")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@dataclass
class DemoTemplate:
    database_url: str
    data_dir: Path


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def demo_template(new_database, tmp_path_factory, make_app) -> DemoTemplate:
    """Migrated, seeded and with the demo loaded, once; nobody stays connected to it."""
    data_dir = tmp_path_factory.mktemp("e2e-template-data")
    app = make_app(new_database("lca_e2e_template"), data_dir)
    with app.app_context():
        load_demo()
        db.session.commit()
        generate_keys()  # as `make run` does: certificates are signed when issued
        db.session.remove()
        db.engine.dispose()
    return DemoTemplate(app.config["SQLALCHEMY_DATABASE_URI"], data_dir)


_copies = itertools.count(1)


@pytest.fixture(scope="session")
def copy_demo(demo_template, postgres_server, tmp_path_factory):
    """``copy_demo()`` → the URL and data directory of a fresh copy of the demo."""

    def copy() -> tuple[str, Path]:
        name = f"lca_e2e_{next(_copies)}"
        data_dir = tmp_path_factory.mktemp("e2e-data")
        shutil.copytree(demo_template.data_dir, data_dir, dirs_exist_ok=True)
        if postgres_server is not None:
            return postgres_server.create_database(name, template="lca_e2e_template"), data_dir
        target = tmp_path_factory.mktemp("e2e-db") / f"{name}.sqlite3"
        source_path = demo_template.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copied:
            source.backup(copied)
        source.close()
        copied.close()
        return f"sqlite:///{target}", data_dir

    return copy


class _ClosedOnce:
    """A response body that is closed once, and at the latest when it is dropped: werkzeug's
    development server skips closing it when the browser drops the connection while it reads
    the rest of the request (Chromium does, cancelling an image), which would leave a stored
    file open. (gunicorn closes it in every case.)"""

    def __init__(self, body) -> None:
        self._body, self._closed = body, False

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if hasattr(self._body, "close"):
                self._body.close()

    def __del__(self) -> None:
        self.close()


def _closing_responses(wsgi_app):
    def application(environ, start_response):
        return _ClosedOnce(wsgi_app(environ, start_response))

    return application


def serve(database_url: str, data_dir: Path) -> tuple[LiveServer, callable]:
    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "LCA_DATA_DIR": data_dir,
            "WTF_CSRF_ENABLED": True,
        }
    )
    app.wsgi_app = _closing_responses(app.wsgi_app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Links the app hands out (set-password, certificate QR codes) point at this server.
    app.config["LCA_PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()
        with app.app_context():
            db.engine.dispose()

    return LiveServer(url, app), stop


@pytest.fixture(scope="session")
def live_server(copy_demo) -> Iterator[str]:
    """One copy of the demo served for the whole run, for short tests that change little."""
    server, stop = serve(*copy_demo())
    yield server.url
    stop()


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Pages open relative to the live server (``page.goto("/login")``)."""
    return live_server


@pytest.fixture
def server(copy_demo) -> Iterator[LiveServer]:
    """A server of this test's own on a fresh copy of the demo; ``server.app`` for arranging."""
    server, stop = serve(*copy_demo())
    yield server
    stop()


@pytest.fixture(params=["th", "en"])
def language(request) -> str:
    return request.param


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_PASSED] = report.passed
    return report


CALL_PASSED = pytest.StashKey[bool]()


@pytest.fixture
def journey(request, browser, server, language, tmp_path, system_tool) -> Iterator[Journey]:
    """A journey in ``language`` on its own server; at the end every page it loaded must have
    passed ``journey.check`` (asked only of a journey that got to its end)."""
    trip = Journey(browser, server, language, screenshots_dir(tmp_path), system_tool)
    yield trip
    trip.finish(audit=request.node.stash.get(CALL_PASSED, False))


# --------------------------------------------------------------------------- what happened before
# a journey starts, done through the services on the journey's server


@dataclass
class Issued:
    serial: str
    code: str
    pdf: bytes


@pytest.fixture
def issue_certificate_of():
    """``issue_certificate_of(app, email)``: the administrator issues this learner's
    certificate (the admin journey does it through the pages); its serial, code and PDF."""

    def issue(app: Flask, email: str) -> Issued:
        with app.app_context():
            admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
            enrolment = db.session.scalar(
                select(Enrolment).join(Enrolment.learner).where(User.email == email)
            )
            certificate = issue_certificate(enrolment, admin)
            db.session.commit()
            with storage().open(certificate.pdf_key) as file:
                issued = Issued(certificate.serial, certificate.code, file.read())
            db.session.remove()
        return issued

    return issue


@pytest.fixture
def add_a_second_graduate():
    """``add_a_second_graduate(app)``: Duangjai, from Phayao, joins the demo cohort with every
    requirement met, besides the demo's graduate; her name in Thai and English."""

    def add(app: Flask) -> dict[str, str]:
        name = {"th": "ดวงใจ รักษ์เมือง", "en": "Duangjai Rakmueang"}
        with app.app_context():
            cohort = db.session.scalar(select(Cohort).where(Cohort.code == "CA-2569-01"))
            phayao = db.session.scalar(select(City).where(City.code == "phayao"))
            eligible_enrolment(
                cohort,
                email="duangjai@example.org",
                full_name_th=name["th"],
                full_name_en=name["en"],
                city=phayao,
            )
            db.session.commit()
            db.session.remove()
        return name

    return add


def pytest_terminal_summary(terminalreporter):
    if LEDGER.views:
        pages = LEDGER.distinct_pages()
        terminalreporter.write_line(
            f"axe-core: {len(LEDGER.views)} page views checked, {len({p for p, _ in pages})} "
            f"distinct pages ({len(pages)} with their language), no serious or critical "
            f"violation; below that: {dict(LEDGER.below_threshold) or 'none'}"
        )
