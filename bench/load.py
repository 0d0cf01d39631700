"""Load benchmark: LCA under gunicorn, driven by locust, at 1,000 and 10,000 synthetic learners.

    .venv/bin/python bench/load.py [--backend sqlite postgresql] [--learners 1000 10000]
                                   [--users 8] [--seconds 20] [--workers 4]

For each backend and each size: a throwaway instance (a SQLite file, or a database on a
throwaway PostgreSQL server from tools/instances.py), migrated and seeded by the real commands,
filled by ``flask lca synth --learners N``; served by gunicorn (LCA_ENV=production); then, one
page at a time, locust (headless, ``--users`` users that never wait, for ``--seconds``) asks
for /healthz, a learner's home, an instructor's review queue, a 50-learner cohort matrix, a
certificate's verify page and a log submission (bench/locustfile.py). Each page's p50/p95/p99
and requests per second are read from locust's statistics, and set against /healthz measured
on the same server in the same run. Then, outside gunicorn, the peak memory of the export of
every learner's progress (bench/export_memory.py).

Results: bench/results/load-<backend>.json, and a Markdown table on standard output.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, revision

from tools.instances import Gunicorn, ThrowawayPostgres, flask, free_port, instance_env, python

PAGES = (
    ("Healthz", "/healthz"),
    ("LearnerHome", "learner home"),
    ("ReviewQueue", "review queue"),
    ("CohortMatrix", "cohort matrix (50 learners)"),
    ("VerifyPage", "verify page"),
    ("LogSubmission", "log submission"),
)
SAMPLE = 300  #: people and codes drawn for the load


def plan(url: str, password: str) -> dict:
    """Who the virtual users are: learners of running cohorts, instructors, a cohort of 50 for
    the matrix, valid certificate codes."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as db:
        learners = db.execute(
            text(
                "SELECT u.email, c.starts_on FROM enrolments e JOIN users u ON u.id = e.learner_id"
                " JOIN cohorts c ON c.id = e.cohort_id"
                " WHERE e.status = 'active' AND c.ends_on >= :today ORDER BY e.id LIMIT :n"
            ),
            {"today": datetime.now(UTC).date(), "n": SAMPLE},
        ).all()
        instructors = (
            db.execute(text("SELECT email FROM users WHERE role = 'instructor' ORDER BY id"))
            .scalars()
            .all()
        )
        matrices = db.execute(
            text(
                "SELECT u.email, ci.cohort_id FROM cohort_instructors ci"
                " JOIN users u ON u.id = ci.instructor_id"
                " WHERE (SELECT count(*) FROM enrolments e WHERE e.cohort_id = ci.cohort_id) = 50"
                " ORDER BY ci.cohort_id LIMIT :n"
            ),
            {"n": SAMPLE},
        ).all()
        codes = (
            db.execute(
                text("SELECT code FROM certificates WHERE status = 'valid' ORDER BY id LIMIT :n"),
                {"n": SAMPLE},
            )
            .scalars()
            .all()
        )
        modules = (
            db.execute(text("SELECT id FROM modules WHERE kind != 'field' ORDER BY number"))
            .scalars()
            .all()
        )
    engine.dispose()
    if not (learners and instructors and matrices and codes):
        raise SystemExit("the synthetic data lacks learners, instructors, cohorts or certificates")
    return {
        "password": password,
        "today": datetime.now(UTC).date().isoformat(),
        "learners": [email for email, _ in learners],
        "loggers": [{"email": email, "first_day": str(starts)} for email, starts in learners],
        "instructors": list(instructors),
        "matrices": [[email, cohort_id] for email, cohort_id in matrices],
        "codes": list(codes),
        "classroom_modules": list(modules),
    }


def run_locust(user_class: str, host: str, env: dict, folder: Path, args) -> Path:
    prefix = folder / user_class
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.users),
        "--run-time",
        f"{args.seconds}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
        user_class,
    ]
    result = subprocess.run(  # noqa: S603 - locust with fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise SystemExit(f"locust {user_class} failed:\n{result.stdout}{result.stderr}")
    return stats


def read_row(stats: Path, name: str) -> dict:
    with stats.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == name:
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50_ms": float(row["50%"]),
                    "p95_ms": float(row["95%"]),
                    "p99_ms": float(row["99%"]),
                    "mean_ms": round(float(row["Average Response Time"]), 1),
                    "rps": round(float(row["Requests/s"]), 1),
                }
    raise SystemExit(f"no row {name!r} in {stats}")


def bench_env(url: str, folder: Path, port: int) -> dict[str, str]:
    """A production instance's environment on ``url``, its rate limits out of the way: every
    virtual user signs in, and the verify pages come from one address."""
    return instance_env(
        url,
        folder / "data",
        port,
        LCA_LOGIN_RATE_LIMIT="1000000 per minute",
        LCA_LOGIN_ACCOUNT_RATE_LIMIT="1000000 per minute",
        LCA_VERIFY_RATE_LIMIT="1000000 per minute",
    )


def prepare(env: dict[str, str], learners: int, label: str) -> tuple[float, dict[str, int]]:
    """Migrate, seed and ``lca synth --learners N`` through the real commands; synth's time
    and the rows it wrote, by table."""
    print(f"[{label}] preparing …", flush=True)
    flask(env, "db", "upgrade")
    flask(env, "lca", "seed")
    started = time.perf_counter()
    synth_output = flask(env, "lca", "synth", "--learners", str(learners), "--allow-production")
    synth_seconds = round(time.perf_counter() - started, 1)
    rows = {}
    for line in synth_output.splitlines():
        name, _, count = line.strip().partition(": ")
        if count.replace(",", "").isdigit():
            rows[name] = int(count.replace(",", ""))
    print(f"[{label}] lca synth: {sum(rows.values()):,} rows in {synth_seconds} s", flush=True)
    return synth_seconds, rows


def measure_size(args, backend: str, url: str, learners: int, folder: Path) -> dict:
    port = free_port()
    env = bench_env(url, folder, port)
    synth_seconds, rows = prepare(env, learners, f"{backend} {learners:,}")
    from lca.ops.demo import DEMO_TOTP_SECRET
    from lca.ops.synth import SYNTH_PASSWORD

    plan_path = folder / "plan.json"
    # synthetic staff's second step: codes of the demo key (bench/locustfile.py)
    plan_path.write_text(json.dumps({**plan(url, SYNTH_PASSWORD), "totp_key": DEMO_TOTP_SECRET}))
    env["LCA_BENCH_PLAN"] = str(plan_path)

    gunicorn = Gunicorn(env, port, folder / "gunicorn.log", workers=args.workers)
    pages = {}
    try:
        gunicorn.wait_ready()
        for user_class, name in PAGES:
            stats = run_locust(user_class, f"http://127.0.0.1:{port}", env, folder, args)
            pages[name] = read_row(stats, name)
            page = pages[name]
            # the machine's 1-minute load average as the page ends: other work skews a run
            page["load_average_1min"] = round(os.getloadavg()[0], 2)
            print(
                f"[{backend} {learners:,}] {name:<28} p50 {page['p50_ms']:>6.0f} ms"
                f"  p95 {page['p95_ms']:>6.0f} ms  p99 {page['p99_ms']:>6.0f} ms"
                f"  {page['rps']:>7.1f} req/s  ({page['failures']} failed)",
                flush=True,
            )
    finally:
        gunicorn.stop()
    errors = [
        line
        for line in (folder / "gunicorn.log").read_text(errors="replace").splitlines()
        if "Traceback" in line or "ERROR" in line
    ]
    health = pages["/healthz"]
    for page in pages.values():
        page["p95_vs_healthz"] = round(page["p95_ms"] / health["p95_ms"], 2)
        page["rps_vs_healthz"] = round(page["rps"] / health["rps"], 3)
    print(f"[{backend} {learners:,}] export memory …", flush=True)
    memory = export_memory(env)
    return {
        "learners": learners,
        "synth_seconds": synth_seconds,
        "rows": rows,
        "pages": pages,
        "server_errors": errors[:20],
        "export": memory,
    }


def export_memory(env: dict) -> dict:
    """The export of every learner's progress, as CSV and as XLSX, each in a fresh process."""
    measured = {}
    for kind in ("csv", "xlsx"):
        output = python(env, str(ROOT / "bench" / "export_memory.py"), kind)
        measured[kind] = json.loads(output)
    measured["learners"] = measured["csv"]["learners"]
    return measured


def run_backend(args, backend: str) -> dict:
    sizes = []
    with tempfile.TemporaryDirectory(prefix="lca-bench-") as name:
        folder = Path(name)
        server = None
        if backend == "postgresql":
            server = ThrowawayPostgres().start()
        try:
            for learners in args.learners:
                size_folder = folder / str(learners)
                size_folder.mkdir()
                if server is None:
                    url = f"sqlite:///{size_folder / 'lca.sqlite3'}"
                else:
                    url = server.create_database(f"lca_bench_{learners}")
                sizes.append(measure_size(args, backend, url, learners, size_folder))
        finally:
            if server is not None:
                server.stop()
    return {
        "backend": backend,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": revision(),
        "load": {
            "tool": "locust (headless, FastHttpUser, users never wait)",
            "users": args.users,
            "seconds_per_page": args.seconds,
            "gunicorn_workers": args.workers,
        },
        "sizes": sizes,
        "scaling": scaling(sizes),
    }


def scaling(sizes: list[dict]) -> dict:
    """Each page's p95 at the largest size over its p95 at the smallest."""
    if len(sizes) < 2:
        return {}
    small, large = sizes[0], sizes[-1]
    return {
        name: round(large["pages"][name]["p95_ms"] / small["pages"][name]["p95_ms"], 2)
        for name in small["pages"]
    }


def describe_export(measured: dict) -> str:
    return (
        f"{measured['kind'].upper()} {measured['seconds']} s, {measured['export_peak_mb']} MB "
        f"above the process's {measured['rss_before_mb']} MB"
    )


def table(results: list[dict]) -> str:
    lines = [
        "| Backend | Learners | Page | p50 ms | p95 ms | p99 ms | req/s | p95 ÷ /healthz "
        "| req/s ÷ /healthz |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for size in result["sizes"]:
            for name, page in size["pages"].items():
                lines.append(
                    f"| {result['backend']} | {size['learners']:,} | {name} | {page['p50_ms']:.0f} "
                    f"| {page['p95_ms']:.0f} | {page['p99_ms']:.0f} | {page['rps']:.1f} "
                    f"| {page['p95_vs_healthz']:.2f} | {page['rps_vs_healthz']:.2f} |"
                )
    lines.append("")
    for result in results:
        if result["scaling"]:
            first, last = result["sizes"][0]["learners"], result["sizes"][-1]["learners"]
            ratios = ", ".join(f"{name} {ratio:.2f}×" for name, ratio in result["scaling"].items())
            lines.append(f"- {result['backend']}: p95 at {last:,} ÷ p95 at {first:,}: {ratios}")
        for size in result["sizes"]:
            export = size["export"]
            lines.append(
                f"- {result['backend']}, {size['learners']:,} learners: lca synth "
                f"{size['synth_seconds']} s; progress export of {export['learners']:,} learners: "
                f"{describe_export(export['csv'])}; {describe_export(export['xlsx'])}"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--learners", nargs="+", type=int, default=[1000, 10000])
    parser.add_argument("--users", type=int, default=8, help="locust users, never waiting")
    parser.add_argument("--seconds", type=int, default=20, help="how long each page is driven")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument(
        "--report", action="store_true", help="print the table of the last results, run nothing"
    )
    parser.add_argument(
        "--name", default="load", help="results go to bench/results/<name>-<backend>.json"
    )
    args = parser.parse_args()

    if args.report:
        for backend in args.backend:
            result = json.loads(
                (ROOT / "bench" / "results" / f"{args.name}-{backend}.json").read_text()
            )
            print(f"{backend}: {result['machine']}; commit {result['commit']}; {result['load']}")
        print()
        print(
            table(
                [
                    json.loads((ROOT / "bench" / "results" / f"{args.name}-{b}.json").read_text())
                    for b in args.backend
                ]
            )
        )
        return 0

    results = []
    for backend in args.backend:
        result = run_backend(args, backend)
        out = ROOT / "bench" / "results" / f"{args.name}-{backend}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        results.append(result)
    print()
    print(f"Machine: {results[0]['machine']}; commit {results[0]['commit']}")
    print(
        f"locust: {args.users} users that never wait, {args.seconds} s per page; "
        f"gunicorn: {args.workers} sync workers"
    )
    print()
    print(table(results))
    failures = sum(
        page["failures"] for r in results for s in r["sizes"] for page in s["pages"].values()
    )
    if failures:
        print(f"\n{failures} requests failed: see bench/results/load-*.json")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
