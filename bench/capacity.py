"""Capacity in people: how many people, clicking as people do, one LCA server holds.

    .venv/bin/python bench/capacity.py [--backend sqlite|postgresql] [--learners 10000]
                                       [--database URL] [--start 200] [--step 200]
                                       [--hold 60] [--max-people 5000] [--workers 4]

A throwaway instance (a SQLite file, or a database on a throwaway PostgreSQL server) migrated,
seeded and filled by ``lca synth --learners N`` as bench/load.py does (``--database``: an
existing synth database instead); served by gunicorn (LCA_ENV=production, ``--workers`` sync
workers) on the same cores as the load generator. Locust (bench/capacity_locustfile.py,
headless, one process) plays people: learners 75 %, instructors 15 %, administrators 5 %, the
public 5 %, each waiting 5 to 15 seconds between clicks. It starts with ``--start`` people and
adds ``--step`` more every ``--hold`` seconds until a step's p95 passes 300 ms or a request
fails (an error, a 5xx, an unexpected status), or ``--max-people`` is reached. The capacity is
the largest step held: p95 within 300 ms and no error.

Nobody signs in through the form (thousands of password hashes, and staff's one code per
30-second step, would be the benchmark): a session is started on the database for each
person, as a sign-in would (``lca.auth.sessions.start_session``, staff past their second
factor; the session row on the server, its token in Flask's signed cookie), and the cookies
go to the plan file. Learners come from running cohorts, instructors teach a running cohort;
``lca synth`` makes no administrators, so 20 are added (``capacity-admin-N@example.org``).

Results: bench/results/capacity-<backend>.json and a Markdown table on standard output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, benchmark_admin, benchmark_database, machine, revision
from load import bench_env, prepare

from tools.instances import Gunicorn, free_port, worker_pids

#: each kind's share of the people (bench/capacity_locustfile.py's weights)
SHARES = {"learners": 0.75, "instructors": 0.15, "admins": 0.05, "public": 0.05}
ADMINS = 20
CODES = 300
P95_LIMIT_MS = 300


def mint_sessions(env: dict[str, str], max_people: int) -> dict:
    """The plan: a signed session cookie for each person of each kind, and what they ask for."""
    os.environ.update({key: value for key, value in env.items() if key.startswith("LCA_")})
    from sqlalchemy import select, text

    from lca import create_app
    from lca.auth.sessions import start_session
    from lca.core.dates import local_today
    from lca.core.db import db
    from lca.models import User

    app = create_app()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]

    def cookie(user: User, staff: bool) -> str:
        token = start_session(user, second_factor="totp" if staff else None)
        # what a sign-in leaves in Flask's session: Flask-Login's user id (the token), fresh
        return serializer.dumps({"_user_id": token, "_fresh": True})

    def wanted(kind: str) -> int:
        return math.ceil(max_people * SHARES[kind]) + 5

    rng = random.Random(21)
    with app.app_context():
        today = local_today()
        running = db.session.execute(
            text(
                "SELECT e.id, e.learner_id, c.starts_on, c.ends_on, c.curriculum_version_id"
                " FROM enrolments e JOIN cohorts c ON c.id = e.cohort_id"
                " WHERE e.status = 'active' AND c.starts_on <= :today AND c.ends_on >= :today"
                " ORDER BY e.id"
            ),
            {"today": today},
        ).all()
        modules: dict[int, list[int]] = {}
        for version_id, module_id in db.session.execute(
            text("SELECT version_id, id FROM modules WHERE kind != 'field' ORDER BY number")
        ):
            modules.setdefault(version_id, []).append(module_id)
        teaching = db.session.execute(
            text(
                "SELECT ci.instructor_id, ci.cohort_id FROM cohort_instructors ci"
                " JOIN cohorts c ON c.id = ci.cohort_id"
                " WHERE c.starts_on <= :today AND c.ends_on >= :today ORDER BY ci.cohort_id"
            ),
            {"today": today},
        ).all()
        report_cohorts = list(
            db.session.scalars(
                text(
                    "SELECT DISTINCT e.cohort_id FROM certificates ce"
                    " JOIN enrolments e ON e.id = ce.enrolment_id WHERE ce.status = 'valid'"
                )
            )
        )
        codes = list(
            db.session.scalars(
                text("SELECT code FROM certificates WHERE status = 'valid' ORDER BY id LIMIT :n"),
                {"n": CODES},
            )
        )
        if not (running and teaching and report_cohorts and codes):
            raise SystemExit("the data lacks running cohorts, their instructors or certificates")
        admins = list(
            db.session.scalars(
                select(User).where(User.email.like("capacity-admin-%")).order_by(User.id)
            )
        )
        for number in range(len(admins), ADMINS):
            admins.append(
                benchmark_admin(
                    f"capacity-admin-{number}@example.org", f"ผู้ดูแลหลักสูตร ทดสอบ {number}"
                )
            )
        db.session.flush()

        started = time.perf_counter()
        rng.shuffle(running)
        learners = []
        for index in range(wanted("learners")):
            enrolment_id, learner_id, starts_on, ends_on, version_id = running[index % len(running)]
            learners.append(
                {
                    "cookie": cookie(db.session.get(User, learner_id), staff=False),
                    "enrolment_id": enrolment_id,
                    "first_day": str(starts_on),
                    "last_day": str(min(today, _day(ends_on))),
                    "modules": modules[version_id],
                }
            )
        instructors = []
        for index in range(wanted("instructors")):
            instructor_id, cohort_id = teaching[index % len(teaching)]
            instructors.append(
                {
                    "cookie": cookie(db.session.get(User, instructor_id), staff=True),
                    "cohort_id": cohort_id,
                }
            )
        admin_people = [
            {"cookie": cookie(admins[index % len(admins)], staff=True)}
            for index in range(wanted("admins"))
        ]
        db.session.commit()
        minted = time.perf_counter() - started
    print(
        f"sessions: {len(learners)} learners ({len({p['enrolment_id'] for p in learners})}"
        f" different, of {len(running)} in running cohorts), {len(instructors)} instructors"
        f" ({len({i for i, _ in teaching})} different), {len(admin_people)} administrators"
        f" ({len(admins)} different), in {minted:.1f} s",
        flush=True,
    )
    return {
        "cookie_name": app.config["SESSION_COOKIE_NAME"],
        "learners": learners,
        "instructors": instructors,
        "admins": admin_people,
        "report_cohorts": report_cohorts,
        "codes": codes,
        "people": {
            "running_learners": len(running),
            "instructors": len({i for i, _ in teaching}),
            "admins": len(admins),
        },
    }


def _day(value):
    """A date, whether the driver gave a date or its text (SQLite)."""
    from datetime import date

    return value if isinstance(value, date) else date.fromisoformat(str(value))


def busy_before(seconds: float = 5) -> float:
    """How busy the machine is before the run (percent of one core, all cores counted): the
    cores are shared, and other work lowers the capacity measured."""

    def busy() -> float:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")

    first = busy()
    time.sleep(seconds)
    return round(100 * (busy() - first) / seconds, 1)


def run_locust(args, host: str, env: dict[str, str], folder: Path, server: list[int]) -> dict:
    out = folder / "steps.json"
    locust_env = {
        **env,
        "LCA_CAPACITY_PLAN": str(folder / "plan.json"),
        "LCA_CAPACITY_OUT": str(out),
        "LCA_CAPACITY_START": str(args.start),
        "LCA_CAPACITY_STEP": str(args.step),
        "LCA_CAPACITY_HOLD": str(args.hold),
        "LCA_CAPACITY_MAX": str(args.max_people),
        "LCA_CAPACITY_SETTLE": str(args.settle),
        "LCA_CAPACITY_P95_MS": str(P95_LIMIT_MS),
        "LCA_CAPACITY_SERVER_PIDS": " ".join(str(pid) for pid in server),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "capacity_locustfile.py"),
        "--headless",
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "5",
    ]
    result = subprocess.run(  # noqa: S603 - locust with fixed arguments
        command, cwd=ROOT, env=locust_env, text=True, check=False, stdout=sys.stdout
    )
    if not out.exists():
        raise SystemExit(f"locust exited with {result.returncode} and wrote no steps")
    return json.loads(out.read_text())


def capacity(steps: list[dict]) -> int | None:
    """The largest step held (p95 within the limit, no error), counting only the steps up to
    the first that was not."""
    best = None
    for step in steps:
        if step["errors"] or step["p95_ms"] is None or step["p95_ms"] > P95_LIMIT_MS:
            break
        best = step["people"]
    return best


def postmaster_pid(url: str) -> list[int]:
    """The throwaway PostgreSQL server's main process (from its postmaster.pid), if it is one:
    its CPU and its backends' are the server's, not other work's."""
    for pid_file in Path(tempfile.gettempdir()).glob("lca-pg-*/data/postmaster.pid"):
        lines = pid_file.read_text().splitlines()
        if len(lines) > 3 and f":{lines[3].strip()}/" in url:  # its port
            return [int(lines[0])]
    return []


def measure(args, url: str, folder: Path) -> dict:
    port = free_port()
    env = bench_env(url, folder, port)
    synth = None
    if not args.database:
        synth_seconds, rows = prepare(env, args.learners, f"{args.backend} {args.learners:,}")
        synth = {"seconds": synth_seconds, "rows": sum(rows.values()), "by_table": rows}
    plan = mint_sessions(env, args.max_people)
    (folder / "plan.json").write_text(json.dumps(plan))
    gunicorn = Gunicorn(env, port, folder / "gunicorn.log", workers=args.workers)
    try:
        gunicorn.wait_ready()
        server = [gunicorn.process.pid, *worker_pids(gunicorn.process.pid), *postmaster_pid(url)]
        before = busy_before()
        print(f"the machine before the run: {before} % CPU busy (of {os.cpu_count()} cores)")
        if before > 20:
            print("  other work shares the cores: the capacity measured is lower", flush=True)
        steps = run_locust(args, gunicorn.base, env, folder, server)["steps"]
    finally:
        gunicorn.stop()
    log = (folder / "gunicorn.log").read_text(errors="replace").splitlines()
    return {
        "backend": args.backend,
        "learners": None if args.database else args.learners,
        "database": "given (--database)" if args.database else "lca synth",
        "synth": synth,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": revision(),
        "load": {
            "tool": "locust (headless, one process, FastHttpUser), on the server's cores",
            "mix": SHARES,
            "think_seconds": [5, 15],
            "start": args.start,
            "step": args.step,
            "hold_seconds": args.hold,
            "settle_seconds": args.settle,
            "max_people": args.max_people,
            "p95_limit_ms": P95_LIMIT_MS,
            "gunicorn_workers": args.workers,
        },
        "people_in_plan": plan["people"],
        "machine_busy_before_percent": before,
        "steps": steps,
        "capacity_people": capacity(steps),
        "server_errors": [line for line in log if "Traceback" in line or "ERROR" in line][:20],
    }


def table(result: dict) -> str:
    lines = [
        "| People | Requests | req/s | p50 ms | p95 ms | max ms | Errors | locust CPU "
        "| server CPU | others' CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in result["steps"]:
        lines.append(
            f"| {step['people']:,} | {step['requests']:,} | {step['rps']:.1f} "
            f"| {step['p50_ms']} | {step['p95_ms']} | {step['max_ms']} | {step['errors']} "
            f"| {step.get('locust_cpu_percent')} % | {step.get('server_cpu_percent')} % "
            f"| {step.get('other_cpu_percent')} % |"
        )
    held = result["capacity_people"]
    lines.append("")
    lines.append(
        "CPU: percent of one core over the step (the machine has "
        f"{os.cpu_count()}); server: gunicorn, and on PostgreSQL the database server's processes; "
        "others': busy time of the machine that was neither locust's "
        "nor the server's (other work sharing the cores)."
    )
    lines.append(
        f"Capacity: **{held:,} people** (p95 ≤ {P95_LIMIT_MS} ms, no errors)"
        if held
        else f"Capacity: not even the first step held (p95 ≤ {P95_LIMIT_MS} ms, no errors)"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--learners", type=int, default=10000)
    parser.add_argument("--database", help="an existing lca synth database (no synth)")
    parser.add_argument("--start", type=int, default=200, help="people in the first step")
    parser.add_argument("--step", type=int, default=200, help="people added at each step")
    parser.add_argument("--hold", type=float, default=60, help="seconds each step lasts")
    parser.add_argument(
        "--settle",
        type=float,
        default=20,
        help="seconds at the start of each step left out of its figures (new people starting)",
    )
    parser.add_argument("--max-people", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--name", default="capacity", help="results go to bench/results/<name>-<backend>.json"
    )
    args = parser.parse_args()
    if args.settle >= args.hold:
        parser.error("--settle must be shorter than --hold")

    with tempfile.TemporaryDirectory(prefix="lca-capacity-") as name:
        folder = Path(name)
        with benchmark_database(args.backend, args.database, folder, "lca_capacity") as url:
            result = measure(args, url, folder)
    out = ROOT / "bench" / "results" / f"{args.name}-{args.backend}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print()
    print(f"Machine: {result['machine']}; commit {result['commit']}")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
