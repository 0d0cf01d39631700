"""Crash safety (not a test): every acknowledged hour log survives gunicorn workers being
SIGKILLed in the middle of requests.

    .venv/bin/python bench/crash_safety.py [--backend sqlite|postgresql] [--seconds 60]
        [--workers 3] [--threads 1] [--clients 8] [--preload]

It builds a throwaway instance (SQLite file, or a throwaway PostgreSQL server from
tools/instances.py), migrates it and loads the seed and demo data with the real `flask` commands,
serves it with gunicorn, and lets demo learners log hours through the real form while a killer
thread SIGKILLs a random serving gunicorn worker every --kill-min..--kill-max seconds (while
fewer than --max-booting workers are still loading the app; --preload makes that instant). A log is
acknowledged when the server answered with the redirect to the new log's page. Afterwards it
stops gunicorn, checks that every acknowledged log is stored exactly once (under the id the
redirect named, with its audit event), counts the requests whose outcome was unknown, and runs
the database's own integrity checks. The JSON goes to
bench/results/crash-safety-<backend>[-preload].json; the exit status is non-zero when any check
fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, revision

from tools.browser import DEMO_PASSWORD, Browser
from tools.instances import (
    Gunicorn,
    ThrowawayPostgres,
    flask,
    free_port,
    instance_env,
    worker_pids,
)

DEMO_LEARNERS = ["learner@example.org"] + [f"learner{n:02d}@example.org" for n in range(1, 13)]
LOG_MODULES = (1, 2, 3, 4, 6, 7)  #: classroom, forum and festival modules: no evidence needed
PREFIX = "crash-"
LOG_PAGE = re.compile(r"^/hours/(\d+)$")


# --- the instance -------------------------------------------------------------------------------


def prepare(env: dict[str, str]) -> None:
    """Migrate, seed and load the demo through the real commands."""
    for command in (["db", "upgrade"], ["lca", "seed"], ["lca", "demo", "--allow-production"]):
        flask(env, *command)


def module_ids(url: str) -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        ids = connection.execute(
            text("SELECT id FROM modules WHERE number IN (1, 2, 3, 4, 6, 7) ORDER BY number")
        ).scalars()
        result = list(ids)
    engine.dispose()
    if len(result) != len(LOG_MODULES):
        raise SystemExit(f"expected modules {LOG_MODULES}, found ids {result}")
    return result


def is_serving(pid: int) -> bool:
    """Whether a worker has loaded the app and entered its request loop.

    A booting worker (importing the app takes ~2 s on this machine) holds gunicorn's heartbeat
    file with the wall-clock time of its creation; the request loop then stamps it with
    time.monotonic(), far smaller. (This is gunicorn's own liveness signal for --timeout.)
    """
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            path = f"/proc/{pid}/fd/{fd}"
            if "wgunicorn-" in os.readlink(path):
                return os.stat(path).st_mtime < 1e9
    except OSError:
        return False
    return False


# --- the clients --------------------------------------------------------------------------------


@dataclass
class ClientLog:
    sent: list[str] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  #: description -> id redirected to
    unknown: list[str] = field(default_factory=list)  #: no answer: the worker died, or a reset
    refused: list[tuple[str, int]] = field(default_factory=list)  #: answered, but not a success
    pages_cut: int = 0  #: the log page after a success got no answer (a kill between requests)
    sign_ins: int = 0
    errors: list[str] = field(default_factory=list)


def read_privacy_notice(browser: Browser) -> None:
    """Say the privacy notice was read (its button), as a person does at the first sign-in."""
    _status, _location, page = browser.request("GET", "/privacy?next=/hours/new")
    token = Browser.hidden(page, "csrf_token")
    status, location, _page = browser.request(
        "POST", "/privacy/seen", {"csrf_token": token, "next": "/hours/new"}
    )
    if status not in (302, 303) or location == "/privacy":
        raise RuntimeError(f"the privacy notice's button answered {status} {location}")


def sign_in(browser: Browser, email: str, log: ClientLog, stop: threading.Event) -> dict:
    """Sign in through the form and read the hour-log form's tokens; retried while workers die."""
    while not stop.is_set():
        try:
            browser.cookies.clear()
            _status, _location, page = browser.request("GET", "/login")
            token = Browser.hidden(page, "csrf_token")
            status, location, _page = browser.request(
                "POST",
                "/login",
                {"csrf_token": token, "email": email, "password": DEMO_PASSWORD},
            )
            if status not in (302, 303) or location == "/login":
                raise RuntimeError(f"sign-in answered {status} {location}")
            status, location, page = browser.request("GET", "/hours/new")
            if status in (302, 303) and location == "/privacy":
                read_privacy_notice(browser)  # shown once, at the first sign-in
                status, location, page = browser.request("GET", "/hours/new")
            log.sign_ins += 1
            return {
                "csrf_token": Browser.hidden(page, "csrf_token"),
                "enrolment_id": Browser.hidden(page, "enrolment_id"),
            }
        except (OSError, http.client.HTTPException, RuntimeError) as error:
            log.errors.append(f"sign-in: {error!r}")
            time.sleep(0.2)
    return {}


def client(
    number: int,
    email: str,
    port: int,
    modules: list[int],
    stop: threading.Event,
    log: ClientLog,
) -> None:
    browser = Browser(port)
    tokens = sign_in(browser, email, log, stop)
    worked_on = (datetime.now(ZoneInfo("Asia/Bangkok")).date() - timedelta(days=3)).isoformat()
    sequence = 0
    while not stop.is_set():
        sequence += 1
        description = f"{PREFIX}{number}-{sequence}"
        form = {
            **tokens,
            "module_id": str(modules[sequence % len(modules)]),
            "worked_on": worked_on,
            "hours": "0.25",
            "description": description,
            "mechanism_id": "0",
            "place": "",
        }
        log.sent.append(description)
        try:
            status, location, _page = browser.request("POST", "/hours/new", form)
        except (OSError, http.client.HTTPException):
            log.unknown.append(description)
            continue
        match = LOG_PAGE.match(location or "") if status in (302, 303) else None
        if match is None:
            log.refused.append((description, status))
            if location == "/login" or status in (400, 403):
                tokens = sign_in(browser, email, log, stop)
            continue
        log.acknowledged[description] = int(match.group(1))
        try:  # as a browser would: show the new log (this also takes the flash message away)
            browser.request("GET", location)
        except (OSError, http.client.HTTPException):
            log.pages_cut += 1


def killer(
    master: int,
    stop: threading.Event,
    pause: tuple[float, float],
    max_booting: int,
    kills: list[int],
    seen: set[int],
) -> None:
    """SIGKILL a random serving worker (never the master) every few tenths of a second, while
    fewer than ``max_booting`` workers are still loading the app: without --preload a respawned
    worker imports the app for seconds, and killing faster would only test respawning."""
    rng = random.Random()
    while not stop.wait(rng.uniform(*pause)):
        workers = worker_pids(master)
        seen.update(workers)
        serving = [pid for pid in workers if is_serving(pid)]
        if not serving or len(workers) - len(serving) >= max_booting:
            continue
        victim = rng.choice(serving)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills.append(victim)


# --- the checks ---------------------------------------------------------------------------------


def stored_logs(url: str) -> tuple[list[tuple[int, str]], Counter]:
    """The benchmark's hour logs (id, description), and each one's hour_log.submit audit events."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = [
            (row.id, row.description)
            for row in connection.execute(
                text("SELECT id, description FROM hour_logs WHERE description LIKE :p"),
                {"p": PREFIX + "%"},
            )
        ]
        audits = Counter(
            connection.execute(
                text(
                    "SELECT target_id FROM audit_events WHERE action = 'hour_log.submit' "
                    "AND target_type = 'hour_logs'"
                )
            ).scalars()
        )
    engine.dispose()
    return rows, audits


def sqlite_integrity(path: Path) -> dict:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        orphans = connection.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        connection.close()
    return {
        "integrity_check": integrity if integrity != ["ok"] else "ok",
        "foreign_key_check": [list(row) for row in orphans],
        "ok": integrity == ["ok"] and not orphans,
    }


FOREIGN_KEYS = """
SELECT c.conname, cl.relname, pl.relname, c.convalidated,
  ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
  ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c
JOIN pg_class cl ON cl.oid = c.conrelid
JOIN pg_class pl ON pl.oid = c.confrelid
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
ORDER BY c.conname
"""


def postgresql_integrity(url: str) -> dict:
    """amcheck: every B-tree index against its own invariants and against the heap
    (bt_index_check with heapallindexed), every table's heap (verify_heapam); then every
    foreign key re-checked by an orphan query, and no prepared (in-doubt) transaction left."""
    import psycopg
    from psycopg import sql

    problems: list[str] = []
    counts = {"indexes_checked": 0, "tables_checked": 0, "foreign_keys_checked": 0}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        connection.autocommit = True
        connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        indexes = connection.execute(
            "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam "
            "WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        for (index,) in indexes:
            try:
                connection.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
            except psycopg.Error as error:
                problems.append(f"index {index}: {error}")
            counts["indexes_checked"] += 1
        tables = connection.execute(
            "SELECT oid::regclass::text FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        ).fetchall()
        for (table,) in tables:
            for row in connection.execute("SELECT * FROM verify_heapam(%s::regclass)", (table,)):
                problems.append(f"table {table}: {row}")
            counts["tables_checked"] += 1
        for name, child, parent, validated, columns, referenced in connection.execute(
            FOREIGN_KEYS
        ).fetchall():
            if not validated:
                problems.append(f"foreign key {name} is NOT VALID")
            query = sql.SQL(
                "SELECT count(*) FROM {child} c WHERE {present} AND NOT EXISTS "
                "(SELECT 1 FROM {parent} p WHERE {join})"
            ).format(
                child=sql.Identifier(child),
                parent=sql.Identifier(parent),
                present=sql.SQL(" AND ").join(
                    sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c)) for c in columns
                ),
                join=sql.SQL(" AND ").join(
                    sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c))
                    for c, r in zip(columns, referenced, strict=True)
                ),
            )
            orphans = connection.execute(query).fetchone()[0]
            if orphans:
                problems.append(f"foreign key {name}: {orphans} orphan rows in {child}")
            counts["foreign_keys_checked"] += 1
        prepared = connection.execute("SELECT count(*) FROM pg_prepared_xacts").fetchone()[0]
        if prepared:
            problems.append(f"{prepared} prepared transactions left")
    return {**counts, "problems": problems, "ok": not problems}


# --- the run ------------------------------------------------------------------------------------


def hammer(args, master: int, port: int, modules: list[int]) -> dict:
    """The clients log hours for ``args.seconds`` while the killer kills workers."""
    stop_clients, stop_killer = threading.Event(), threading.Event()
    logs = [ClientLog() for _ in range(args.clients)]
    clients = [
        threading.Thread(
            target=client,
            args=(n, DEMO_LEARNERS[n % len(DEMO_LEARNERS)], port, modules, stop_clients, logs[n]),
            daemon=True,
        )
        for n in range(args.clients)
    ]
    kills: list[int] = []
    seen: set[int] = set()
    pause = (args.kill_min, args.kill_max)
    killing = threading.Thread(
        target=killer, args=(master, stop_killer, pause, args.max_booting, kills, seen), daemon=True
    )
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    for thread in clients:
        thread.start()
    killing.start()
    time.sleep(args.seconds)
    stop_killer.set()
    killing.join()
    stop_clients.set()
    for thread in clients:
        thread.join(timeout=120)
    return {
        "logs": logs,
        "kills": kills,
        "seen": seen,
        "elapsed": time.monotonic() - started,
        "stuck": sum(thread.is_alive() for thread in clients),
        "load_before": load_before,
    }


def run(args, folder: Path, url: str, sqlite_path: Path | None) -> dict:
    port = free_port()
    # the clients sign in again whenever they must; the default 10 per minute would refuse them
    env = instance_env(url, folder / "data", port, LCA_LOGIN_RATE_LIMIT="10000 per minute")
    print(f"preparing the {args.backend} instance …", flush=True)
    prepare(env)
    modules = module_ids(url)
    gunicorn = Gunicorn(
        env,
        port,
        folder / "gunicorn.log",
        workers=args.workers,
        threads=args.threads,
        preload=args.preload,
    )
    try:
        gunicorn.wait_ready()
        print(f"serving on {port}; {args.clients} clients, killing workers for {args.seconds} s …")
        load = hammer(args, gunicorn.process.pid, port, modules)
        master_alive = gunicorn.process.poll() is None
    finally:
        exit_code = gunicorn.stop()
    print(f"stopped gunicorn (exit {exit_code}); checking the database …", flush=True)
    logs, kills, seen = load["logs"], load["kills"], load["seen"]
    elapsed, stuck, load_before = load["elapsed"], load["stuck"], load["load_before"]

    sent = [d for log in logs for d in log.sent]
    acknowledged = {d: i for log in logs for d, i in log.acknowledged.items()}
    unknown = [d for log in logs for d in log.unknown]
    refused = [d for log in logs for d, _status in log.refused]
    rows, audits = stored_logs(url)
    stored = Counter(description for _id, description in rows)
    ids = {description: log_id for log_id, description in rows}
    missing = sorted(d for d in acknowledged if d not in stored)
    duplicates = sorted(d for d, count in stored.items() if count > 1)
    wrong_id = sorted(d for d, i in acknowledged.items() if d in ids and ids[d] != i)
    unexpected = sorted(set(stored) - set(sent))
    refused_landed = sorted(d for d in refused if d in stored)
    unaudited = sorted(d for log_id, d in rows if audits[log_id] != 1)
    unknown_landed = sum(d in stored for d in unknown)
    integrity = sqlite_integrity(sqlite_path) if sqlite_path else postgresql_integrity(url)

    result = {
        "backend": args.backend,
        "seconds": args.seconds,
        "elapsed_seconds": round(elapsed, 1),
        "workers": args.workers,
        "threads_per_worker": args.threads,
        "clients": args.clients,
        "kill_interval_seconds": [args.kill_min, args.kill_max],
        "kill_only_while_booting_fewer_than": args.max_booting,
        "preload": args.preload,
        "requests_sent": len(sent),
        "acknowledged": len(acknowledged),
        "acknowledged_per_second": round(len(acknowledged) / elapsed, 1),
        "refused": len(refused),
        "refused_statuses": dict(
            Counter(str(status) for log in logs for _d, status in log.refused)
        ),
        "refused_but_stored": len(refused_landed),
        "unknown": {
            "total": len(unknown),
            "landed": unknown_landed,
            "not_landed": len(unknown) - unknown_landed,
        },
        "log_pages_cut_off": sum(log.pages_cut for log in logs),
        "sign_ins": sum(log.sign_ins for log in logs),
        "workers_killed": len(kills),
        "worker_pids_seen": len(seen),
        "missing_acknowledged": len(missing),
        "duplicates": len(duplicates),
        "acknowledged_under_other_id": len(wrong_id),
        "stored_but_never_sent": len(unexpected),
        "logs_without_exactly_one_audit_event": len(unaudited),
        "integrity": integrity,
        "gunicorn": {
            "master_survived": master_alive,
            "exit_code": exit_code,
            "clients_stuck": stuck,
        },
        "machine": machine(),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "commit": revision(),
    }
    failures = {
        "missing acknowledged writes": missing,
        "duplicated logs": duplicates,
        "acknowledged under another id": wrong_id,
        "stored but never sent": unexpected,
        "refused but stored": refused_landed,
        "without exactly one audit event": unaudited,
    }
    problems = [f"{what}: {items[:10]}" for what, items in failures.items() if items]
    if not integrity["ok"]:
        problems.append(f"integrity: {integrity}")
    if not master_alive or exit_code != 0:
        problems.append(f"gunicorn master: alive={master_alive}, exit code {exit_code}")
    if stuck:
        problems.append(f"{stuck} client threads did not finish")
    if not acknowledged or not kills:
        problems.append("nothing was acknowledged or nothing was killed: the run proves nothing")
    result["problems"] = problems
    result["passed"] = not problems
    errors = [e for log in logs for e in log.errors]
    if errors:
        result["client_errors_sample"] = errors[:5]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-min", type=float, default=0.3)
    parser.add_argument("--kill-max", type=float, default=1.0)
    parser.add_argument(
        "--max-booting", type=int, default=1, help="kill only while fewer workers are booting"
    )
    parser.add_argument("--preload", action="store_true", help="workers fork with the app loaded")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lca-crash-") as name:
        folder = Path(name)
        if args.backend == "sqlite":
            sqlite_path = folder / "lca.sqlite3"
            result = run(args, folder, f"sqlite:///{sqlite_path}", sqlite_path)
        else:
            server = ThrowawayPostgres().start()
            try:
                result = run(args, folder, server.create_database("lca_crash"), None)
            finally:
                server.stop()

    name = f"crash-safety-{args.backend}{'-preload' if args.preload else ''}.json"
    out = ROOT / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print("PASSED" if result["passed"] else "FAILED: " + "; ".join(result["problems"]))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
