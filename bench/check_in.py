"""Benchmark (not a test): a festival morning at one check-in point, against gunicorn.

    .venv/bin/python bench/check_in.py [--backend sqlite|postgresql] [--learners 300]
                                       [--minutes 5] [--workers 4] [--poll 5] [--label L]

A throwaway production instance (SQLite file, or a throwaway PostgreSQL) gets one cohort of N
learners, each signed in on their own phone already (a remembered device), and a session that
started ten minutes ago. Then, against gunicorn:

1. the N learners check in at one point within ``--minutes`` (each at a random moment): the
   scan of the code of that moment (``/c/<code>``), the check-in it leads to, and the learner's
   check-in page;
2. their check-ins are moved an hour back in the database (an hour passes), and the N learners
   check out within ``--minutes`` again: the scan, the page asking to confirm, the press of
   "Check out", and the page with the hours credited;

while the instructor's screen polls the roster every ``--poll`` seconds and fetches each new
code, as lca/static/js/check-in-screen.js does. Each worker is warmed up first (not timed). It
reports the p50/p95/max of a whole check-in, a whole check-out and the roster, checks that every
learner was checked in once, out once and credited the hour, and writes
bench/results/check-in-<backend>[-label].json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import requests
from common import ROOT, machine, revision

from tools.instances import Gunicorn, ThrowawayPostgres, flask, free_port, instance_env

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SCAN = re.compile(r'name="scan" value="([^"]+)"')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict:
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "max_ms": round(max(values), 1),
    }


def prepare(env: dict, learners: int) -> dict:
    """The cohort, its learners' and instructor's sessions, and a session on now."""
    import os

    os.environ.update(env)
    from lca import create_app
    from lca.auth.sessions import start_session
    from lca.check_in.desk import ensure_points
    from lca.core.dates import programme_timezone
    from lca.core.db import db, utcnow
    from lca.curriculum.services import current_version, modules_of
    from lca.models import City, ClassSession, Cohort, Enrolment, Role, User, cohort_instructors
    from tests.factories import PASSWORD_HASH

    app = create_app()
    with app.app_context():
        city = City(code="bench-festival", name_th="เมืองงานมหกรรม", name_en="Festival Town")
        db.session.add(city)
        today = datetime.now(programme_timezone())
        version = current_version()
        cohort = Cohort(
            code="CA-BENCH-01",
            host_city=city,
            starts_on=(today - timedelta(days=30)).date(),
            ends_on=(today + timedelta(days=200)).date(),
            field_starts_on=(today - timedelta(days=20)).date(),
            field_window_months=6,
            curriculum_version=version,
        )
        db.session.add(cohort)

        def person(n: int, role: Role) -> User:
            return User(
                email=f"festival{n}@example.org",
                password_hash=PASSWORD_HASH,
                full_name_th=f"ผู้เข้าร่วม ทดลอง{n:04d}",
                full_name_en=f"Visitor Test{n:04d}",
                role=role,
                city=city,
                privacy_notice_seen_at=utcnow(),
            )

        instructor = person(0, Role.INSTRUCTOR)
        people = [person(n, Role.LEARNER) for n in range(1, learners + 1)]
        db.session.add_all([instructor, *people])
        db.session.flush()
        db.session.execute(
            cohort_instructors.insert().values(
                cohort_id=cohort.id, instructor_id=instructor.id, assigned_at=utcnow()
            )
        )
        db.session.add_all(Enrolment(cohort=cohort, learner=p) for p in people)
        start = today - timedelta(minutes=10)
        module = next(m for m in modules_of(version.id) if m.number == 2)
        session = ClassSession(
            cohort=cohort,
            module=module,
            held_on=start.date(),
            starts_at=start.time().replace(second=0, microsecond=0),
            minutes=180,
            place="ลานกิจกรรมเทศบาลนครพะเยา",
        )
        db.session.add(session)
        db.session.flush()
        [point] = ensure_points(session)
        signer = app.session_interface.get_signing_serializer(app)
        name = app.config["SESSION_COOKIE_NAME"]

        def cookie(user: User, second_factor: str | None = None) -> str:
            token = start_session(user, remember=True, second_factor=second_factor)
            return signer.dumps({"_user_id": token, "_fresh": True})

        plan = {
            "cookie_name": name,
            "instructor": cookie(instructor, "totp"),
            "learners": [cookie(p) for p in people],
            "session_id": session.id,
            "point_id": point.id,
            "point_secret": point.secret,
        }
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return plan


def code_now(plan: dict) -> str:
    from lca.check_in.codes import code_for, current_step
    from lca.models import CheckInPoint

    point = CheckInPoint(id=plan["point_id"], secret=plan["point_secret"])
    return code_for(point, current_step())


class Timings:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def add(self, name: str, ms: float) -> None:
        with self.lock:
            self.values.setdefault(name, []).append(ms)

    def fail(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def _client(plan: dict, cookie: str) -> requests.Session:
    client = requests.Session()
    client.cookies.set(plan["cookie_name"], cookie, domain="127.0.0.1")
    return client


def check_in(base: str, plan: dict, cookie: str, timings: Timings) -> None:
    client = _client(plan, cookie)
    started = time.perf_counter()
    scanned = client.get(f"{base}/c/{code_now(plan)}", allow_redirects=False)
    done = client.get(f"{base}{scanned.headers.get('Location', '/')}", allow_redirects=False)
    page = client.get(f"{base}{done.headers.get('Location', '/')}")
    elapsed = (time.perf_counter() - started) * 1000
    if scanned.status_code != 302 or done.status_code != 302 or page.status_code != 200:
        timings.fail(f"check-in: {scanned.status_code} {done.status_code} {page.status_code}")
        return
    timings.add("check-in", elapsed)


def check_out(base: str, plan: dict, cookie: str, timings: Timings) -> None:
    client = _client(plan, cookie)
    started = time.perf_counter()
    scanned = client.get(f"{base}/c/{code_now(plan)}", allow_redirects=False)
    asked = client.get(f"{base}{scanned.headers.get('Location', '/')}")
    token, carried = CSRF.search(asked.text), SCAN.search(asked.text)
    if scanned.status_code != 302 or asked.status_code != 200 or not token or not carried:
        timings.fail(f"check-out page: {scanned.status_code} {asked.status_code}")
        return
    pressed = client.post(
        f"{base}/check-in",
        data={"csrf_token": token[1], "scan": carried[1].replace("&amp;", "&"), "direction": "out"},
        allow_redirects=False,
    )
    page = client.get(f"{base}{pressed.headers.get('Location', '/')}")
    elapsed = (time.perf_counter() - started) * 1000
    if pressed.status_code != 302 or page.status_code != 200:
        timings.fail(f"check-out: {pressed.status_code} {page.status_code}")
        return
    timings.add("check-out", elapsed)


def screen(base: str, plan: dict, timings: Timings, stop: threading.Event, every: float) -> None:
    """The instructor's screen: the roster every ``every`` seconds, the code every 30."""
    client = _client(plan, plan["instructor"])
    session_id = plan["session_id"]
    last_code = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        answer = client.get(f"{base}/sessions/{session_id}/check-in/roster")
        timings.add("roster", (time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            timings.fail(f"roster: {answer.status_code}")
        if time.monotonic() - last_code >= 30:
            started = time.perf_counter()
            code = client.get(f"{base}/sessions/{session_id}/check-in/1/code")
            timings.add("code", (time.perf_counter() - started) * 1000)
            if code.status_code != 200:
                timings.fail(f"code: {code.status_code}")
            last_code = time.monotonic()
        stop.wait(every)


def warm_up(base: str, plan: dict, workers: int) -> None:
    """A server that has been up a while: each worker has loaded its templates and catalogues
    (a first request costs several times a later one), so the figures are of the morning, not
    of the start. Not timed."""
    staff = _client(plan, plan["instructor"])
    learner = _client(plan, plan["learners"][0])
    for _round in range(2 * workers):
        staff.get(f"{base}/sessions/{plan['session_id']}/check-in/roster")
        staff.get(f"{base}/sessions/{plan['session_id']}/check-in/1/code")
        learner.get(f"{base}/sessions/{plan['session_id']}/my-check-in")
        learner.get(f"{base}/check-in")


def crowd(action, base: str, plan: dict, timings: Timings, seconds: float) -> None:
    """Every learner does ``action`` once, at a random moment within ``seconds``."""
    moments = sorted(random.uniform(0, seconds) for _ in plan["learners"])
    cookies = list(plan["learners"])
    random.shuffle(cookies)
    start = time.monotonic()
    threads = []
    for moment, cookie in zip(moments, cookies, strict=True):
        delay = start + moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=action, args=(base, plan, cookie, timings))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


def an_hour_passes(env: dict, session_id: int) -> None:
    from lca import create_app
    from lca.core.db import db
    from lca.models import CheckIn

    app = create_app()
    with app.app_context():
        for event in db.session.scalars(
            db.select(CheckIn).where(CheckIn.class_session_id == session_id)
        ):
            event.at = event.at - timedelta(hours=1)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def verify(session_id: int, learners: int) -> dict:
    from sqlalchemy import func, select

    from lca import create_app
    from lca.core.db import db
    from lca.models import Attendance, CheckIn, ScanKind

    app = create_app()
    with app.app_context():
        counts = dict(
            db.session.execute(
                select(CheckIn.kind, func.count())
                .where(CheckIn.class_session_id == session_id)
                .group_by(CheckIn.kind)
            ).all()
        )
        credited = db.session.scalars(
            select(Attendance.minutes).where(Attendance.class_session_id == session_id)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return {
        "check_ins": counts.get(ScanKind.IN, 0),
        "check_outs": counts.get(ScanKind.OUT, 0),
        "credited": len(credited),
        "credited_minutes": sorted(set(credited)),
        "all_once": counts.get(ScanKind.IN, 0) == learners == counts.get(ScanKind.OUT, 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--poll", type=float, default=5, help="seconds between roster polls")
    parser.add_argument("--label", default="", help="added to the result's name (e.g. burst)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="lca-bench-check-in-"))
    postgres = ThrowawayPostgres().start() if args.backend == "postgresql" else None
    url = (
        postgres.create_database("lca_check_in")
        if postgres
        else f"sqlite:///{folder / 'lca.sqlite3'}"
    )
    port = free_port()
    env = instance_env(url, folder / "data", port)
    try:
        flask(env, "db", "upgrade")
        flask(env, "lca", "seed")
        plan = prepare(env, args.learners)
        gunicorn = Gunicorn(env, port, folder / "gunicorn.log", workers=args.workers)
        timings = Timings()
        try:
            gunicorn.wait_ready()
            warm_up(gunicorn.base, plan, args.workers)
            stop = threading.Event()
            poller = threading.Thread(
                target=screen, args=(gunicorn.base, plan, timings, stop, args.poll)
            )
            poller.start()
            print(f"{args.learners} learners check in within {args.minutes} minutes …", flush=True)
            crowd(check_in, gunicorn.base, plan, timings, args.minutes * 60)
            an_hour_passes(env, plan["session_id"])
            print(f"… and check out within {args.minutes} minutes, an hour later", flush=True)
            crowd(check_out, gunicorn.base, plan, timings, args.minutes * 60)
            stop.set()
            poller.join()
        finally:
            gunicorn.stop()
        server_errors = [
            line
            for line in (folder / "gunicorn.log").read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        checked = verify(plan["session_id"], args.learners)
    finally:
        if postgres:
            postgres.stop()
    result = {
        "backend": args.backend,
        "learners": args.learners,
        "minutes": args.minutes,
        "gunicorn_workers": args.workers,
        "roster_poll_seconds": args.poll,
        **{name: summary(values) for name, values in timings.values.items()},
        "roster_series_ms": [round(v, 1) for v in timings.values.get("roster", [])],
        "client_errors": timings.errors[:20],
        "server_errors": server_errors[:20],
        "database": checked,
        "machine": machine(),
        "revision": revision(),
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    label = f"-{args.label}" if args.label else ""
    out = ROOT / "bench" / "results" / f"check-in-{args.backend}{label}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for name in ("check-in", "check-out", "roster", "code"):
        if name in result:
            row = result[name]
            print(
                f"{name:<10} n={row['count']:<4} p50 {row['p50_ms']:>7.1f} ms  "
                f"p95 {row['p95_ms']:>7.1f} ms  max {row['max_ms']:>7.1f} ms"
            )
    print(f"database: {checked}; errors: {len(timings.errors)} client, {len(server_errors)} server")
    print(f"written to {out.relative_to(ROOT)}")
    ok = checked["all_once"] and not timings.errors and not server_errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
