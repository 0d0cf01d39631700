"""The memory of a gunicorn worker after it has served every kind of page (issue 21).

    .venv/bin/python bench/worker_memory.py [--learners 1000] [--workers 4] [--limit 100]

A throwaway SQLite instance is migrated, seeded and filled by ``lca synth --learners N``
through the real commands, given the issuer's keys (``lca keys generate``), and served by
gunicorn (LCA_ENV=production, ``--workers`` sync workers) twice: without ``--preload`` and
with it. Each worker's RSS and PSS (``/proc/<pid>/smaps_rollup``) are read

- once every worker has started (and answered /healthz);
- after the public pages: the sign-in page, the verify form, a certificate's verify page, the
  issuer's page;
- after every kind of page: the learner home, the log form and a log submission, the review
  queue, a cohort matrix, a field report's grading page, a certificate's page, a cohort
  report, the audit list, the progress exports (CSV and XLSX) and the audit list's XLSX;
- after certificates are issued: an administrator re-issues certificates (each new PDF drawn
  and signed with fpdf2 and pyHanko, its credential signed) and downloads the new PDFs.

Each page is asked for by 8 clients at once, without keep-alive, until every worker has
served it (the access log names the worker of each request). The sessions are minted as
bench/page_floor.py mints them and sent as the signed session cookie.

Results: a table per mode on standard output and bench/results/worker-memory.json (with the
largest worker's RSS after each page). Exit status 1 when a worker's RSS after every kind of
page is above ``--limit`` MB; the issuing is reported, not held to the limit: only the
workers that issue certificates load the PDF libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, revision
from page_floor import people_and_pages

from tools.instances import Gunicorn, flask, free_port, instance_env, worker_pids

CLIENTS = 8  #: requests in flight at once
MOST = 160  #: requests for one page at most, whichever workers answer them
ACCESS_FORMAT = "%(p)s %(m)s %(U)s %(s)s"
PID = re.compile(r"^<(\d+)> ")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
STAGES = ("started", "public pages", "every page", "certificates issued")


def memory_of(pid: int) -> dict[str, float]:
    """RSS and PSS in MB, from /proc/<pid>/smaps_rollup."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("Rss", "Pss"):
            figures[name.lower()] = round(int(value.split()[0]) / 1024, 1)
    return figures


def prepare(folder: Path, learners: int) -> dict[str, str]:
    port = free_port()
    env = instance_env(
        f"sqlite:///{folder / 'lca.sqlite3'}",
        folder / "data",
        port,
        # many requests from one address
        LCA_VERIFY_RATE_LIMIT="1000000 per minute",
        LCA_LOGIN_RATE_LIMIT="1000000 per minute",
    )
    print(f"preparing {learners:,} learners …", flush=True)
    flask(env, "db", "upgrade")
    flask(env, "lca", "seed")
    flask(env, "lca", "synth", "--learners", str(learners), "--allow-production")
    flask(env, "lca", "keys", "generate")
    return env


def plan_of(env: dict[str, str]) -> dict:
    """The people's session cookies, the pages, and the certificates each mode re-issues. The
    sessions are started as bench/page_floor.py starts them, in an app of this process on the
    instance's database, and their cookies signed with the instance's secret key."""
    os.environ.update(
        {key: value for key, value in env.items() if key.startswith("LCA_")}
        | {"LCA_ENV": "development"}
    )
    from sqlalchemy import select

    from lca import create_app
    from lca.core.db import db
    from lca.models import Certificate, CertificateStatus

    app = create_app()
    sessions, plan = people_and_pages(app)
    serializer = app.session_interface.get_signing_serializer(app)
    cookies = {
        who: {
            app.config["SESSION_COOKIE_NAME"]: serializer.dumps({"_user_id": token, "_fresh": True})
        }
        for who, token in sessions.items()
    }
    pages = plan["pages"]
    shown = int(pages["certificate"][1].rsplit("/", 1)[1])
    with app.app_context():
        valid = db.session.scalars(
            select(Certificate.id)
            .where(Certificate.status == CertificateStatus.VALID, Certificate.id != shown)
            .order_by(Certificate.id)
        ).all()
    report_cohort = int(pages["cohort-report"][1].rsplit("/", 1)[1])
    return {
        "cookies": cookies,
        "pages": pages,
        "submission": plan["submission"],
        # each mode re-issues certificates of its own
        "reissue": [list(valid[::2]), list(valid[1::2])],
        "report_cohort": report_cohort,
    }


class Requester:
    """Requests to the served instance with a person's cookies (none: anonymous), without
    keep-alive, each answer's status checked."""

    def __init__(self, base: str, cookies: dict | None, expected: int = 200):
        self.base, self.cookies, self.expected = base, cookies or {}, expected

    def check(self, response: requests.Response, what: str) -> requests.Response:
        if response.status_code != self.expected:
            raise SystemExit(f"{what} answered {response.status_code}, not {self.expected}")
        return response

    def get(self, path: str) -> requests.Response:
        return self.check(
            requests.get(
                self.base + path,
                cookies=self.cookies,
                headers={"Connection": "close"},
                allow_redirects=False,
                timeout=60,
            ),
            path,
        )

    def post(self, path: str, data: dict) -> requests.Response:
        return self.check(
            requests.post(
                self.base + path,
                data=data,
                cookies=self.cookies,
                headers={"Connection": "close"},
                allow_redirects=False,
                timeout=60,
            ),
            f"POST {path}",
        )


def csrf_cookies(base: str, cookies: dict, path: str) -> tuple[dict, str]:
    """The session cookie with a CSRF token in it, and the form's token, from ``path``."""
    response = requests.get(base + path, cookies=cookies, allow_redirects=False, timeout=60)
    token = CSRF.search(response.text)
    if response.status_code != 200 or token is None:
        raise SystemExit(f"{path} answered {response.status_code} without a form")
    return {**cookies, **response.cookies.get_dict()}, token.group(1)


def served_by(log: Path, offset: int) -> set[int]:
    with log.open("rb") as file:
        file.seek(offset)
        lines = file.read().decode(errors="replace").splitlines()
    return {int(match.group(1)) for line in lines if (match := PID.match(line))}


def serve_everywhere(send: Callable[[int], object], log: Path, workers: set[int]) -> int:
    """Call ``send(0)``, ``send(1)``… 8 at a time until every worker has answered one; how many
    were sent."""
    offset = log.stat().st_size
    sent = 0
    with ThreadPoolExecutor(CLIENTS) as pool:
        while sent < MOST:
            list(pool.map(send, range(sent, sent + CLIENTS)))
            sent += CLIENTS
            time.sleep(0.05)  # the access log is written after the response
            if workers <= served_by(log, offset):
                return sent
    raise SystemExit(f"{MOST} requests did not reach every worker")


def public_pages(base: str, plan: dict, mode: int) -> dict[str, Callable[[int], object]]:
    anonymous = Requester(base, None)
    verify = plan["pages"]["verify"][1]
    return {
        "sign-in page": lambda i: anonymous.get("/login"),
        "verify form": lambda i: anonymous.get("/verify"),
        "verify page": lambda i: anonymous.get(verify),
        "issuer page": lambda i: anonymous.get("/issuer"),
    }


def signed_in_pages(base: str, plan: dict, mode: int) -> dict[str, Callable[[int], object]]:
    cookies, pages = plan["cookies"], plan["pages"]
    learner = Requester(base, cookies["learner"])
    instructor = Requester(base, cookies["instructor"])
    admin = Requester(base, cookies["admin"])
    people = {"learner": learner, "instructor": instructor, "admin": admin}
    sends: dict[str, Callable[[int], object]] = {}
    for key in (
        "learner-home",
        "log-form",
        "review-queue",
        "cohort-matrix",
        "field-report",
        "certificate",
        "cohort-report",
        "audit",
    ):
        _name, path, who = pages[key]
        sends[key] = lambda i, asker=people[who], path=path: asker.get(path)

    submission = plan["submission"]
    form_cookies, form_token = csrf_cookies(base, cookies["learner"], "/hours/new")
    submitter = Requester(base, form_cookies, expected=302)
    first = date.fromisoformat(submission["first_day"])

    def submit(i: int) -> object:
        day = first + timedelta(days=(i + mode * MOST) % max(submission["days"], 1))
        return submitter.post(
            "/hours/new",
            {
                "csrf_token": form_token,
                "enrolment_id": submission["enrolment_id"],
                "module_id": submission["module_id"],
                "worked_on": day.isoformat(),
                "hours": "0.25",
                "description": "อ่านเอกสารประกอบการเรียนและสรุปประเด็นสำคัญ (benchmark)",
                "mechanism_id": "0",
                "place": "",
            },
        )

    sends["log-submission"] = submit
    cohort = plan["report_cohort"]
    sends["progress CSV"] = lambda i: admin.get(f"/admin/exports/progress-{cohort}.csv")
    sends["progress XLSX"] = lambda i: admin.get(f"/admin/exports/progress-{cohort}.xlsx")
    sends["audit XLSX"] = lambda i: admin.get("/admin/audit.xlsx")

    return sends


def issuing(base: str, plan: dict, mode: int) -> dict[str, Callable[[int], object]]:
    """An administrator re-issues certificates (each one's PDF drawn and signed, its
    credential signed) and downloads the new PDFs."""
    cookies, shown = plan["cookies"]["admin"], plan["pages"]["certificate"][1]
    admin = Requester(base, cookies)
    admin_cookies, admin_token = csrf_cookies(base, cookies, shown)
    reissuer = Requester(base, admin_cookies, expected=302)
    reissued: list[str] = []

    def reissue(i: int) -> object:
        if i >= len(plan["reissue"][mode]):
            raise SystemExit("no certificate left to re-issue")
        certificate = plan["reissue"][mode][i]
        response = reissuer.post(
            f"/certificates/{certificate}/reissue",
            {"csrf_token": admin_token, "reason": "ชื่อสะกดผิด (benchmark)"},
        )
        reissued.append(urlsplit(response.headers["Location"]).path)
        return response

    return {
        "certificate re-issued": reissue,
        "certificate PDF": lambda i: admin.get(f"{reissued[i % len(reissued)]}/pdf"),
    }


def measure_mode(env: dict[str, str], folder: Path, plan: dict, args, preload: bool) -> dict:
    mode = "preload" if preload else "no preload"
    log, access = folder / f"gunicorn-{int(preload)}.log", folder / f"access-{int(preload)}.log"
    access.touch()
    server = Gunicorn(
        env,
        int(env["LCA_PUBLIC_URL"].rsplit(":", 1)[1]),
        log,
        workers=args.workers,
        preload=preload,
        access_log=access,
        access_format=ACCESS_FORMAT,
    )
    figures: dict[int, dict[str, dict[str, float]]] = {}
    requests_sent: dict[str, int] = {}
    after: dict[str, float] = {}  #: the largest worker's RSS after each page
    try:
        server.wait_ready()
        workers = set(worker_pids(server.process.pid))
        time.sleep(1)
        for pid in workers:
            figures[pid] = {"started": memory_of(pid)}
        for stage, pages in (
            ("public pages", public_pages),
            ("every page", signed_in_pages),
            ("certificates issued", issuing),
        ):
            for name, send in pages(server.base, plan, int(preload)).items():
                requests_sent[name] = serve_everywhere(send, access, workers)
                after[name] = max(memory_of(pid)["rss"] for pid in workers)
                print(
                    f"[{mode}] {name}: {requests_sent[name]} requests, the largest worker"
                    f" {after[name]:.1f} MB RSS",
                    flush=True,
                )
            now = set(worker_pids(server.process.pid))
            if now != workers:
                raise SystemExit(f"[{mode}] a worker was replaced: {workers} → {now}")
            for pid in workers:
                figures[pid][stage] = memory_of(pid)
        master = memory_of(server.process.pid)
    except SystemExit:
        print(f"[{mode}] the end of gunicorn's log:", *log.read_text().splitlines()[-40:], sep="\n")
        raise
    finally:
        server.stop()
    return {
        "preload": preload,
        "master": master,
        "workers": {str(pid): stages for pid, stages in figures.items()},
        "requests": requests_sent,
        "max_rss_mb_after": after,
        "max_rss_mb": max(stages["every page"]["rss"] for stages in figures.values()),
        "max_pss_mb": max(stages["every page"]["pss"] for stages in figures.values()),
    }


def table(mode: str, measured: dict) -> str:
    head = " | ".join(f"{stage}: RSS / PSS MB" for stage in STAGES)
    lines = [f"### {mode}", "", f"| Worker | {head} |", "|---|" + "---:|" * len(STAGES)]
    for pid, stages in measured["workers"].items():
        cells = " | ".join(f"{stages[s]['rss']:.1f} / {stages[s]['pss']:.1f}" for s in STAGES)
        lines.append(f"| {pid} | {cells} |")
    tops = " | ".join(
        f"{max(w[s]['rss'] for w in measured['workers'].values()):.1f} / "
        f"{max(w[s]['pss'] for w in measured['workers'].values()):.1f}"
        for s in STAGES
    )
    lines.append(f"| **max** | {tops} |")
    master = measured["master"]
    lines.append(f"\nThe master: {master['rss']:.1f} MB RSS, {master['pss']:.1f} MB PSS.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--limit", type=float, default=100, help="MB of RSS a worker may use")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lca-memory-") as name:
        folder = Path(name)
        env = prepare(folder, args.learners)
        plan = plan_of(env)
        modes = {
            "no preload": measure_mode(env, folder, plan, args, preload=False),
            "preload": measure_mode(env, folder, plan, args, preload=True),
        }
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "commit": revision(),
        "learners": args.learners,
        "workers": args.workers,
        "limit_mb": args.limit,
        "modes": modes,
    }
    out = ROOT / "bench" / "results" / "worker-memory.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print()
    for mode, measured in modes.items():
        print(table(mode, measured), end="\n\n")
    over = {mode: m["max_rss_mb"] for mode, m in modes.items() if m["max_rss_mb"] > args.limit}
    if over:
        print(f"over {args.limit:.0f} MB RSS after every page: {over}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
