"""Each key page against its floor: what the page costs, and what any page of its size must cost.

    .venv/bin/python bench/page_floor.py [--learners 2000] [--repeat 15] [--database URL]
                                         [--backend sqlite|postgresql] [--profile PAGE]

Without ``--database`` a throwaway instance is made (a SQLite file, or a database on a
throwaway PostgreSQL server), migrated, seeded and filled by ``lca synth --learners N``
through the real commands. Then, in this process, through Flask's test client, one request at
a time, each key page is asked for ``--repeat`` times by the person it is for, taking turns
with its floor, and the best time of each is kept:

- **the page**: the whole request — session, permissions, queries, template, response;
- **its floor**: the best time of ``/healthz`` through the same client (the request path and
  one ``SELECT 1``) plus the time Jinja takes to emit the page's own final HTML when nothing is
  left to compute: the HTML split into its tags and its text, and written back out by a
  one-line template loop with autoescaping (``{% for part in parts %}{{ part }}{% endfor %}``,
  the tags as markup, the text unescaped first so that it is escaped again), encoded to bytes.

The ratio page ÷ floor says how much a page costs above the bytes it sends. The log
submission is a POST answered by a redirect: its floor is /healthz and its short redirect body,
so its ratio is the cost of checking the form and writing the log, its evidence of review and
its audit event in one commit.

Results: bench/results/page-floor-<backend>.json and a Markdown table on standard output.
``--profile PAGE`` (a page's key, e.g. ``review-queue``) prints pyinstrument's call tree of
that page instead.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, benchmark_admin, benchmark_database, machine, revision

from tools.instances import flask, free_port, instance_env

TAG = re.compile(r"(<[^>]*>)")
FLOOR_TEMPLATE = "{% for part in parts %}{{ part }}{% endfor %}"


def html_parts(page: str) -> list:
    """The page's tags (as markup) and its text (unescaped, to be escaped again)."""
    from markupsafe import Markup

    return [
        # the tags come from the page LCA rendered (already escaped there)
        Markup(part) if index % 2 else html.unescape(part)  # noqa: S704
        for index, part in enumerate(TAG.split(page))
        if part
    ]


def emit_time(template, parts: list) -> float:
    started = time.perf_counter()
    template.render(parts=parts).encode()
    return time.perf_counter() - started


def prepare(url: str, data_dir: Path, learners: int) -> dict[str, str]:
    env = instance_env(url, data_dir, free_port())
    env["LCA_ENV"] = "development"
    flask(env, "db", "upgrade")
    flask(env, "lca", "seed")
    flask(env, "lca", "synth", "--learners", str(learners))
    return env


def people_and_pages(app) -> tuple[dict, dict]:
    """Who asks for what: the sessions of a learner of the newest cohort, an instructor with a
    full page of waiting logs, an administrator; and each page's path and asker."""
    from sqlalchemy import func, select

    from lca.auth.sessions import start_session
    from lca.core.dates import local_today
    from lca.core.db import db
    from lca.models import (
        Certificate,
        CertificateStatus,
        Cohort,
        Enrolment,
        EnrolmentStatus,
        FieldReport,
        HourLog,
        LogSource,
        LogStatus,
        Module,
        ModuleKind,
        ReportStatus,
        Role,
        User,
    )
    from lca.models.cohorts import cohort_instructors

    with app.app_context():
        newest = db.session.scalar(select(Cohort).order_by(Cohort.starts_on.desc()))
        enrolment = db.session.scalar(
            select(Enrolment)
            .where(Enrolment.cohort_id == newest.id, Enrolment.status == EnrolmentStatus.ACTIVE)
            .order_by(Enrolment.id)
        )
        waiting = (
            select(cohort_instructors.c.instructor_id, func.count(HourLog.id).label("n"))
            .join(Enrolment, Enrolment.cohort_id == cohort_instructors.c.cohort_id)
            .join(HourLog, HourLog.enrolment_id == Enrolment.id)
            .where(HourLog.status == LogStatus.PENDING, HourLog.source == LogSource.LEARNER)
            .group_by(cohort_instructors.c.instructor_id)
            .having(func.count(HourLog.id) >= 50)
            .order_by(cohort_instructors.c.instructor_id)
        )
        instructor_id = db.session.execute(waiting).first()[0]
        matrix_cohort = db.session.execute(
            select(cohort_instructors.c.cohort_id)
            .where(cohort_instructors.c.instructor_id == instructor_id)
            .where(
                select(func.count(Enrolment.id))
                .where(Enrolment.cohort_id == cohort_instructors.c.cohort_id)
                .scalar_subquery()
                == 50
            )
            .order_by(cohort_instructors.c.cohort_id.desc())
        ).first()[0]
        report_id = db.session.scalar(
            select(FieldReport.id)
            .join(Enrolment, FieldReport.enrolment_id == Enrolment.id)
            .join(cohort_instructors, cohort_instructors.c.cohort_id == Enrolment.cohort_id)
            .where(
                cohort_instructors.c.instructor_id == instructor_id,
                FieldReport.status == ReportStatus.SUBMITTED,
            )
            .order_by(FieldReport.id)
        )
        if report_id is None:
            report_id = db.session.scalar(
                select(FieldReport.id)
                .join(Enrolment, FieldReport.enrolment_id == Enrolment.id)
                .join(cohort_instructors, cohort_instructors.c.cohort_id == Enrolment.cohort_id)
                .where(cohort_instructors.c.instructor_id == instructor_id)
                .order_by(FieldReport.id.desc())
            )
        certificate = db.session.scalar(
            select(Certificate)
            .where(Certificate.status == CertificateStatus.VALID)
            .order_by(Certificate.id)
        )
        report_cohort = certificate.enrolment.cohort_id
        certificate_id, code = certificate.id, certificate.code
        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
        if admin is None:  # lca synth makes learners and instructors only
            admin = benchmark_admin("floor-admin@example.org", "ผู้ดูแลหลักสูตร ทดสอบ")
            db.session.flush()
        module_id = db.session.scalar(
            select(Module.id)
            .where(
                Module.kind != ModuleKind.FIELD,
                Module.version_id == newest.curriculum_version_id,
            )
            .order_by(Module.number)
        )
        sessions = {
            "learner": start_session(enrolment.learner),
            # staff's sessions are past the second step, as they are after signing in
            "instructor": start_session(db.session.get(User, instructor_id), second_factor="totp"),
            "admin": start_session(admin, second_factor="totp"),
        }
        first_day = newest.starts_on
        days = max((min(local_today(), newest.ends_on) - first_day).days, 0)
        submission = {
            "module_id": str(module_id),
            "first_day": first_day.isoformat(),
            "days": days,
            "enrolment_id": str(enrolment.id),
        }
        db.session.commit()
    pages = {
        "learner-home": ("learner home", "/learner", "learner"),
        "log-form": ("log form (GET)", "/hours/new", "learner"),
        "log-submission": ("log submission (POST)", "/hours/new", "learner"),
        "review-queue": ("review queue (50 waiting logs)", "/review", "instructor"),
        "cohort-matrix": (
            "cohort matrix (50 learners)",
            f"/cohorts/{matrix_cohort}/progress",
            "instructor",
        ),
        "field-report": ("field report grading page", f"/field-reports/{report_id}", "instructor"),
        "certificate": ("certificate page", f"/certificates/{certificate_id}", "admin"),
        "verify": ("verify page", f"/verify/{code}", None),
        "cohort-report": (
            "cohort report with its charts",
            f"/reports/cohorts/{report_cohort}",
            "admin",
        ),
        "audit": ("admin audit list", "/admin/audit", "admin"),
    }
    return sessions, {"pages": pages, "submission": submission}


class Submitter:
    """The log submission's form: a classroom module's hours on one of the cohort's days,
    each a different day, so that no day reaches the 12-hour rule."""

    def __init__(self, client, submission: dict):
        self.client = client
        self.submission = submission
        self.count = 0
        page = client.get("/hours/new").get_data(as_text=True)
        self.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page).group(1)

    def __call__(self):
        self.count += 1
        first = date.fromisoformat(self.submission["first_day"])
        worked_on = first + timedelta(days=self.count % max(self.submission["days"], 1))
        return self.client.post(
            "/hours/new",
            data={
                "csrf_token": self.csrf,
                "enrolment_id": self.submission["enrolment_id"],
                "module_id": self.submission["module_id"],
                "worked_on": worked_on.isoformat(),
                "hours": "0.25",
                "description": "อ่านเอกสารประกอบการเรียนและสรุปประเด็นสำคัญ (benchmark)",
                "mechanism_id": "0",
                "place": "",
            },
        )


def measure(app, sessions: dict, plan: dict, repeat: int, profile: str | None) -> dict:
    from jinja2 import Environment

    floor_template = Environment(autoescape=True).from_string(FLOOR_TEMPLATE)
    clients = {}
    for who in (None, "learner", "instructor", "admin"):
        client = app.test_client()
        if who:
            with client.session_transaction() as session:
                session["_user_id"], session["_fresh"] = sessions[who], True
        clients[who] = client
    health_client = app.test_client()
    results = {}
    for key, (name, path, who) in plan["pages"].items():
        client = clients[who]
        if key == "log-submission":
            request = Submitter(client, plan["submission"])
            expected = 302
        else:

            def request(client=client, path=path):
                return client.get(path)

            expected = 200
        answer = request()
        if answer.status_code != expected:
            raise SystemExit(f"{name}: {path} answered {answer.status_code}, not {expected}")
        body = answer.get_data(as_text=True)
        parts = html_parts(body)
        profiler = None
        if key == profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            profiler.start()
        best_page = best_health = best_emit = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            answer = request()
            best_page = min(best_page, time.perf_counter() - started)
            if answer.status_code != expected:
                raise SystemExit(f"{name}: {path} answered {answer.status_code}, not {expected}")
            if profiler is None:
                started = time.perf_counter()
                health_client.get("/healthz")
                best_health = min(best_health, time.perf_counter() - started)
                best_emit = min(best_emit, emit_time(floor_template, parts))
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False))
            continue
        floor = best_health + best_emit
        results[name] = {
            "path": path,
            "bytes": len(answer.get_data()),
            "best_ms": round(best_page * 1000, 2),
            "healthz_ms": round(best_health * 1000, 2),
            "emit_ms": round(best_emit * 1000, 2),
            "floor_ms": round(floor * 1000, 2),
            "ratio": round(best_page / floor, 2),
        }
        row = results[name]
        print(
            f"{name:<32} {row['bytes'] / 1000:6.1f} KB  page {row['best_ms']:7.2f} ms"
            f"  floor {row['floor_ms']:5.2f} ms ({row['healthz_ms']:.2f} + {row['emit_ms']:.2f})"
            f"  {row['ratio']:5.2f}×",
            flush=True,
        )
    return results


def table(result: dict) -> str:
    lines = [
        "| Page | KB | Best ms | Floor ms (/healthz + emit) | Page ÷ floor |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in result["pages"].items():
        lines.append(
            f"| {name} | {row['bytes'] / 1000:.1f} | {row['best_ms']:.2f} "
            f"| {row['floor_ms']:.2f} ({row['healthz_ms']:.2f} + {row['emit_ms']:.2f}) "
            f"| {row['ratio']:.2f}× |"
        )
    return "\n".join(lines)


def run(args, url: str, folder: Path) -> dict:
    import os

    if args.database:
        env = {"LCA_DATABASE_URL": url}
    else:
        env = prepare(url, folder / "data", args.learners)
    os.environ.update(
        {key: value for key, value in env.items() if key.startswith("LCA_")}
        # one person asks for each page again and again, from one address
        | {"LCA_ENV": "development", "LCA_VERIFY_RATE_LIMIT": "1000000 per minute"}
    )
    from lca import create_app

    app = create_app()
    sessions, plan = people_and_pages(app)
    return {
        "backend": args.backend,
        "learners": args.learners if not args.database else None,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": revision(),
        "repeat": args.repeat,
        "pages": measure(app, sessions, plan, args.repeat, args.profile),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--database",
        help="an existing lca synth database instead of a new one (a SQLite file is copied first)",
    )
    parser.add_argument("--profile", help="a page's key to profile with pyinstrument")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lca-floor-") as name:
        folder = Path(name)
        database = args.database
        if database and database.startswith("sqlite:///"):
            # the benchmark writes (an administrator, logs, audit events): it works on a copy,
            # and each run starts from the same data
            copy = folder / "lca.sqlite3"
            shutil.copyfile(database.removeprefix("sqlite:///"), copy)
            database = f"sqlite:///{copy}"
        with benchmark_database(args.backend, database, folder, "lca_floor") as url:
            result = run(args, url, folder)
    if args.profile:
        return 0
    print()
    print(table(result))
    if not args.database:
        out = ROOT / "bench" / "results" / f"page-floor-{args.backend}.json"
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
