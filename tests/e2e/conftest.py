"""Browser journeys: the app served by a real server thread, driven in the system Chromium."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from lca.demo import load_demo
from lca.extensions import db
from tests.conftest import make_app, unavailable

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
def browser_type_launch_args(browser_type_launch_args):
    executable = find_chromium()
    if executable is None:
        unavailable("Chromium is not installed (apt-get install chromium, or set LCA_CHROMIUM)")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(new_database, tmp_path_factory):
    """LCA with its demo data on a database of its own, served on 127.0.0.1 in a thread."""
    app = make_app(
        new_database("lca_e2e"), tmp_path_factory.mktemp("e2e-data"), WTF_CSRF_ENABLED=True
    )
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Links the app hands out (set-password, certificate QR codes) point at this server.
    app.config["LCA_PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Pages open relative to the live server (``page.goto("/login")``)."""
    return live_server
