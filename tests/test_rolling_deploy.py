"""A rolling deploy: the previous release keeps serving while this one's migration runs under it.

The rule (docs/operations.md): a release's migration only adds (tables, nullable columns or
columns with a server default, indexes); a column is dropped or renamed, or made required, only
a release after the code stopped using it. Here the release before migration 0018 (a checkout
of that commit) serves the demo programme on gunicorn; this checkout's ``flask db upgrade``
runs under it; the old release's learners go on signing in, logging hours and reading pages,
its audit events written into the table the migration changed, with nothing refused and no
error in its log. Then this checkout serves beside it from the same database.
"""

from __future__ import annotations

import subprocess
import threading

import pytest
from sqlalchemy import create_engine, text

from bench.crash_safety import DEMO_LEARNERS, LOG_PAGE, Browser, ClientLog, module_ids, sign_in
from lca.core.config import ROOT
from tools.instances import Gunicorn, flask, free_port, instance_env, python

MIGRATION = "migrations/versions/0018_rate_limit_counters_and_request_ids.py"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory):
    """A checkout of the commit before migration 0018 was added, its catalogue compiled."""
    added = git("log", "--format=%H", "--diff-filter=A", "--", MIGRATION).splitlines()
    assert added, f"{MIGRATION} has no history here: a full clone is needed"
    release = git("rev-parse", f"{added[-1]}^")
    folder = tmp_path_factory.mktemp("release") / "code"
    git("worktree", "add", "--detach", str(folder), release)
    try:
        python({}, "-m", "babel.messages.frontend", "compile", "-d", "lca/translations", cwd=folder)
        yield folder
    finally:
        git("worktree", "remove", "--force", str(folder))


def work(port: int, email: str, modules: list[int], count: int) -> ClientLog:
    """A learner signs in and logs ``count`` hours, reading each new log and their home."""
    browser, log = Browser(port), ClientLog()
    tokens = sign_in(browser, email, log, threading.Event())
    for number in range(count):
        form = {
            **tokens,
            "module_id": str(modules[number % len(modules)]),
            "worked_on": "2026-11-20",
            "hours": "0.25",
            "description": f"rolling-{port}-{email}-{number}",
            "mechanism_id": "0",
            "place": "",
        }
        status, location, _page = browser.request("POST", "/hours/new", form)
        if status in (302, 303) and LOG_PAGE.match(location or ""):
            log.acknowledged[form["description"]] = int(location.rsplit("/", 1)[1])
            assert browser.request("GET", location)[0] == 200
        else:
            log.refused.append((form["description"], status))
    assert browser.request("GET", "/learner")[0] == 200
    return log


def audit_events(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    engine.dispose()
    return count


def test_the_previous_release_keeps_serving_across_the_migration(
    previous_release, new_database, tmp_path
):
    url = new_database(f"lca_rolling_{free_port()}")
    old_port, new_port = free_port(), free_port()
    env = instance_env(url, tmp_path / "data", old_port)
    for command in (["db", "upgrade"], ["lca", "seed"], ["lca", "demo", "--allow-production"]):
        flask(env, *command, cwd=previous_release)
    assert flask(env, "db", "current", cwd=previous_release).split()[0] == "0017"
    modules = module_ids(url)
    old = Gunicorn(env, old_port, tmp_path / "old.log", workers=2, cwd=previous_release)
    new = None
    try:
        old.wait_ready()
        before = work(old_port, DEMO_LEARNERS[0], modules, 3)

        flask(env, "db", "upgrade")  # this checkout's migration, under the serving release
        assert flask(env, "db", "current").split()[0] == "0018"

        audited = audit_events(url)
        during = [work(old_port, email, modules, 3) for email in DEMO_LEARNERS[:3]]
        assert audit_events(url) > audited  # the old release's, into the migrated table
        new_env = {**env, "LCA_PUBLIC_URL": f"http://127.0.0.1:{new_port}"}
        new = Gunicorn(new_env, new_port, tmp_path / "new.log", workers=2)
        new.wait_ready()
        beside = [work(port, DEMO_LEARNERS[3], modules, 2) for port in (old_port, new_port)]

        logs = [before, *during, *beside]
        assert [log.refused for log in logs] == [[] for _ in logs]
        assert [len(log.acknowledged) for log in logs] == [3, 3, 3, 3, 2, 2]
        engine = create_engine(url)
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT description FROM hour_logs WHERE description LIKE 'rolling-%'")
            ).scalars()
            assert sorted(stored) == sorted(d for log in logs for d in log.acknowledged)
        engine.dispose()
    finally:
        old.stop()
        if new is not None:
            new.stop()
    for log_file in ("old.log", "new.log"):
        assert "Traceback" not in (tmp_path / log_file).read_text()
