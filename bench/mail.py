"""Benchmark (not a test): how fast the worker delivers mail, to a local SMTP server (aiosmtpd
in this process), through the real commands.

    .venv/bin/python bench/mail.py [--learners 5000] [--database-url URL] [--trickle 100]

1. ``flask lca learners import`` of N learners into the demo cohort queues N invitations in
   one commit (the backlog);
2. one ``flask --app wsgi lca worker`` delivers them: messages per second, and the time from
   the import's commit to each delivery (p50, p95);
3. the same backlog again (the invitations put back to waiting in one commit), delivered by two
   worker processes at once (claims with SKIP LOCKED on PostgreSQL; on SQLite the claims take
   turns), which also checks that each arrived once;
4. no backlog: with one worker polling at its default interval, invitations are committed one at
   a time (``send_invitation``, the app's service) and each one's commit-to-delivery is timed.

By default it runs on a throwaway SQLite file; pass a PostgreSQL URL (an empty database) to
measure there. The JSON goes to bench/results/mail.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, revision

from tools.instances import flask, free_port, instance_env


class Sink:
    """An SMTP server that notes when each Message-ID arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        mail = message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.arrived.setdefault(str(mail["Message-ID"]), []).append(now)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.arrived.clear()

    def count(self, ids: set[str]) -> int:
        with self.lock:
            return sum(1 for key in ids if key in self.arrived)


def label(workers: int) -> str:
    return f"backlog, {workers} worker{'s' if workers > 1 else ''}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def start_workers(env: dict[str, str], count: int, log: Path) -> list[subprocess.Popen]:
    with log.open("ab") as output:
        return [
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "lca", "worker"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            for _ in range(count)
        ]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(60)


def wait_for(sink: Sink, ids: set[str], timeout: float, workers: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while sink.count(ids) < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"only {sink.count(ids)} of {len(ids)} arrived in {timeout:.0f} s")
        if any(worker.poll() is not None for worker in workers):
            raise SystemExit("a worker exited early; see its log")
        time.sleep(0.05)


def backlog_round(sink, env, ids, committed_at, workers_count, log) -> dict:
    sink.clear()
    workers = start_workers(env, workers_count, log)
    started = time.time()
    try:
        wait_for(sink, ids, 1800, workers)
        time.sleep(1)  # a little longer: would anything arrive twice?
    finally:
        stop_workers(workers)
    arrivals = {key: sink.arrived[key] for key in ids}
    twice = sum(1 for times in arrivals.values() if len(times) > 1)
    first = [times[0] for times in arrivals.values()]
    latency = [moment - committed_at for moment in first]
    elapsed = max(first) - started
    return {
        "workers": workers_count,
        "messages": len(ids),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(len(ids) / elapsed, 1),
        "commit_to_delivery_p50_s": round(percentile(latency, 0.50), 2),
        "commit_to_delivery_p95_s": round(percentile(latency, 0.95), 2),
        "arrived_twice": twice,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=5000)
    parser.add_argument("--trickle", type=int, default=100, help="messages without a backlog")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="without --database-url: a throwaway SQLite file or PostgreSQL server",
    )
    arguments = parser.parse_args()
    postgres = None
    if arguments.backend == "postgresql" and not arguments.database_url:
        from tools.instances import ThrowawayPostgres

        postgres = ThrowawayPostgres().start()
        arguments.database_url = postgres.create_database("lca_bench_mail")

    from aiosmtpd.controller import Controller

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    work = Path(tempfile.mkdtemp(prefix="lca-bench-mail-"))
    database_url = arguments.database_url or f"sqlite:///{work / 'lca.sqlite3'}"
    env = instance_env(
        database_url, work / "data", 5000, LCA_MAIL_URL=f"smtp://127.0.0.1:{smtp_port}"
    )
    log = work / "workers.log"
    try:
        flask(env, "db", "upgrade")
        flask(env, "lca", "seed")
        flask(env, "lca", "demo", "--allow-production")
        sheet = work / "learners.csv"
        rows = ["อีเมล,ชื่อ-นามสกุล,ชื่อภาษาอังกฤษ,เมือง,หน่วยงาน"] + [
            f"mail{n}@bench.example.org,น้ำฟ้า ปู่ญาติ{n},Namfa Pooyat {n},พะเยา,เทศบาลเมือง"
            for n in range(arguments.learners)
        ]
        sheet.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
        import_started = time.time()
        flask(env, "lca", "learners", "import", "--cohort", "CA-2569-01", str(sheet))
        committed_at = time.time()  # the import commits once, as it returns

        os.environ.update(env)
        from sqlalchemy import select, update

        from lca import create_app
        from lca.core.db import db
        from lca.models import EmailStatus, Message, MessageKind, User

        app = create_app()
        with app.app_context():
            ids = set(
                db.session.scalars(
                    select(Message.email_id).where(Message.kind == MessageKind.INVITATION)
                )
            )
            db.session.remove()
        if len(ids) != arguments.learners:
            raise SystemExit(f"the import queued {len(ids)} invitations, not {arguments.learners}")

        one = backlog_round(sink, env, ids, committed_at, 1, log)
        with app.app_context():
            db.session.execute(
                update(Message)
                .where(Message.kind == MessageKind.INVITATION)
                .values(email_status=EmailStatus.WAITING, sent_at=None, attempts=0)
            )
            db.session.commit()
            requeued_at = time.time()
            db.session.remove()
        two = backlog_round(sink, env, ids, requeued_at, 2, log)

        # no backlog: one worker polling, invitations committed one at a time
        from lca.auth.services import send_invitation

        sink.clear()
        workers = start_workers(env, 1, log)
        committed: dict[str, float] = {}
        try:
            time.sleep(2)  # the worker is up and polling
            with app.app_context():
                people = db.session.scalars(
                    select(User)
                    .where(User.email.like("mail%@bench.example.org"))
                    .limit(arguments.trickle)
                ).all()
                for person in people:
                    message = send_invitation(person, None)
                    db.session.commit()
                    committed[message.email_id] = time.time()
                    time.sleep(random.uniform(0.05, 0.4))
                db.session.remove()
            wait_for(sink, set(committed), 120, workers)
        finally:
            stop_workers(workers)
        trickle = [sink.arrived[key][0] - committed[key] for key in committed]
        with app.app_context():
            db.engine.dispose()

        results = {
            "benchmark": "mail delivery (bench/mail.py)",
            "machine": machine(),
            "revision": revision(),
            "database": database_url.split(":", 1)[0].split("+", 1)[0],
            "learners_imported": arguments.learners,
            "import_seconds": round(committed_at - import_started, 1),
            "worker_interval_s": 1.0,
            "backlog": [one, two],
            "no_backlog": {
                "messages": len(trickle),
                "commit_to_delivery_p50_s": round(percentile(trickle, 0.50), 2),
                "commit_to_delivery_p95_s": round(percentile(trickle, 0.95), 2),
                "commit_to_delivery_max_s": round(max(trickle), 2),
            },
            "targets": {"backlog_5000_within_s": 120, "no_backlog_p95_under_s": 5},
        }
    finally:
        controller.stop()
        if postgres is not None:
            postgres.stop()
    out = ROOT / "bench" / "results" / "mail.json"
    recorded = json.loads(out.read_text()) if out.exists() else {}
    if "benchmark" in recorded:  # the first version held one run
        recorded = {recorded["database"]: recorded}
    recorded[results["database"]] = results
    out.write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n")
    print(f"\nmail delivery on {results['database']}, {machine()}")
    print(f"{'':24} {'messages':>8} {'seconds':>8} {'per s':>7} {'p50 s':>7} {'p95 s':>7}")
    for row in results["backlog"]:
        print(
            f"{label(row['workers']):24} "
            f"{row['messages']:>8} {row['seconds']:>8} {row['messages_per_second']:>7} "
            f"{row['commit_to_delivery_p50_s']:>7} {row['commit_to_delivery_p95_s']:>7}"
        )
    calm = results["no_backlog"]
    print(
        f"{'no backlog, 1 worker':24} {calm['messages']:>8} {'':>8} {'':>7} "
        f"{calm['commit_to_delivery_p50_s']:>7} {calm['commit_to_delivery_p95_s']:>7}"
    )
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
