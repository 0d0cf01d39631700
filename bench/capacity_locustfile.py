"""The load of bench/capacity.py: people of a programme, each clicking every 5 to 15 seconds.

Learners (75 %) go round their home, the log form, a log sent for review (the form's POST,
answered by a redirect to the new log) and that log's page. Instructors (15 %) go round their
review queue, the approval of one waiting log through the queue's own form (its CSRF token, one
log ticked) and the progress matrix of a cohort they teach. Administrators (5 %) go round a
cohort's report, its progress export (CSV) and its certificates page. The public (5 %) opens
the verify page of a valid certificate.

Nobody signs in here: bench/capacity.py starts a session for each person on the database
(``start_session``, staff past their second step) and writes its signed session cookie to the
plan file (``LCA_CAPACITY_PLAN``); each virtual person takes the next cookie of their kind.

``StepShape`` adds ``LCA_CAPACITY_STEP`` people every ``LCA_CAPACITY_HOLD`` seconds, from
``LCA_CAPACITY_START`` up to ``LCA_CAPACITY_MAX``, and stops after the first step whose p95 is
above ``LCA_CAPACITY_P95_MS`` or that had an error (a failed request: a connection error, a 5xx
or any status other than the one expected). Locust's statistics add up over the whole run, so
each request is recorded here, in the step it ended in; the first ``LCA_CAPACITY_SETTLE``
seconds of a step (new people starting) are left out of its figures. The steps go to
``LCA_CAPACITY_OUT`` (JSON) when the test stops.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import re
import time
from datetime import date, timedelta
from http.cookiejar import Cookie
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from locust import FastHttpUser, LoadTestShape, between, events, task

PLAN = json.loads(Path(os.environ["LCA_CAPACITY_PLAN"]).read_text())
START = int(os.environ.get("LCA_CAPACITY_START", "200"))
STEP = int(os.environ.get("LCA_CAPACITY_STEP", "200"))
HOLD = float(os.environ.get("LCA_CAPACITY_HOLD", "60"))
MAX_PEOPLE = int(os.environ.get("LCA_CAPACITY_MAX", "5000"))
SETTLE = float(os.environ.get("LCA_CAPACITY_SETTLE", "20"))
P95_LIMIT_MS = float(os.environ.get("LCA_CAPACITY_P95_MS", "300"))
OUT = Path(os.environ["LCA_CAPACITY_OUT"])
#: the server's processes whose CPU each step records, with their children as they are at
#: each step: gunicorn's master (its workers), PostgreSQL's postmaster (its backends)
SERVER_PIDS = [int(p) for p in os.environ.get("LCA_CAPACITY_SERVER_PIDS", "").split() if p]
THINK = (5, 15)  #: seconds between a person's clicks

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
LOG_IDS = re.compile(r'name="log_ids" value="(\d+)"')

#: when the shape started (time.monotonic()); requests before it are not counted
STARTED: list[float] = []
#: per step: its requests' (response time in ms, name, failed, second of the run it ended in)
RECORDS: dict[int, list[tuple[float, str, bool, int]]] = {}
#: per step: answers that were not errors but not the intended outcome either
OUTCOMES: dict[int, dict[str, int]] = {}
#: per step: the steps' people, and CPU seconds of this process and of the server at its start
STEPS: list[dict] = []
NEXT = {kind: itertools.cycle(PLAN[kind]) for kind in ("learners", "instructors", "admins")}


def step_at(moment: float) -> tuple[int, bool]:
    """The step a moment falls in, and whether it is past the step's settling time."""
    elapsed = moment - STARTED[0]
    return int(elapsed // HOLD), elapsed % HOLD >= SETTLE


@events.request.add_listener
def record(name, response_time, exception, **_kwargs):
    if not STARTED:
        return
    now = time.monotonic()
    step, counted = step_at(now)
    if counted:
        second = int(now - STARTED[0])
        RECORDS.setdefault(step, []).append((response_time, name, exception is not None, second))


def note(outcome: str) -> None:
    if STARTED:
        step, _counted = step_at(time.monotonic())
        counts = OUTCOMES.setdefault(step, {})
        counts[outcome] = counts.get(outcome, 0) + 1


def cpu_seconds(pid: int | str) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores; /proc/stat, without idle and
    iowait): what others ran beside this run shows as busy time that is neither ours nor the
    server's."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def server_pids() -> list[int]:
    """The server's processes and their children, as they are now (a worker may have been
    replaced, a database connection opened)."""
    found = list(SERVER_PIDS)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in SERVER_PIDS:
                found.append(int(entry))
    return found


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(step: int) -> dict:
    records = RECORDS.get(step, [])
    times = [r[0] for r in records]
    counted_seconds = HOLD - SETTLE
    info = STEPS[step]
    ended = STEPS[step + 1] if step + 1 < len(STEPS) else None
    row = {
        "people": info["people"],
        "requests": len(records),
        "rps": round(len(records) / counted_seconds, 1),
        "p50_ms": round(percentile(times, 0.50), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1) if times else None,
        "max_ms": round(max(times), 1) if times else None,
        "errors": sum(1 for r in records if r[2]),
        "outcomes": OUTCOMES.get(step, {}),
        "by_page": {},
    }
    for name in sorted({r[1] for r in records}):
        page = [r[0] for r in records if r[1] == name]
        row["by_page"][name] = {
            "requests": len(page),
            "p50_ms": round(percentile(page, 0.50), 1),
            "p95_ms": round(percentile(page, 0.95), 1),
            "errors": sum(1 for r in records if r[1] == name and r[2]),
        }
    # each second's requests and slowest answer: a stall shows as a second of slow answers
    row["seconds"] = [
        [second, len(found), round(max(found), 1)]
        for second in sorted({r[3] for r in records})
        for found in [[r[0] for r in records if r[3] == second]]
    ]
    if ended:
        wall = ended["at"] - info["at"]
        row["locust_cpu_percent"] = round(100 * (ended["cpu"] - info["cpu"]) / wall, 1)
        row["server_cpu_percent"] = round(
            100 * (ended["server_cpu"] - info["server_cpu"]) / wall, 1
        )
        # of all cores (200 % on two): busy time of everything, and of what was not this run
        machine = 100 * (ended["machine_cpu"] - info["machine_cpu"]) / wall
        row["machine_cpu_percent"] = round(machine, 1)
        row["other_cpu_percent"] = round(
            max(0.0, machine - row["locust_cpu_percent"] - row["server_cpu_percent"]), 1
        )
        row["load_average_1min"] = ended["load"]
    return row


def held(row: dict) -> bool:
    return row["requests"] > 0 and row["errors"] == 0 and row["p95_ms"] <= P95_LIMIT_MS


class StepShape(LoadTestShape):
    """START people, then STEP more every HOLD seconds; stops after the first step that is not
    held (p95 above the limit, or an error) or when the next step would pass MAX_PEOPLE."""

    def tick(self):
        now = time.monotonic()
        if not STARTED:
            STARTED.append(now)
        step = int((now - STARTED[0]) // HOLD)
        while len(STEPS) <= step:
            STEPS.append(
                {
                    "people": START + STEP * len(STEPS),
                    "at": now,
                    "cpu": time.process_time(),
                    "server_cpu": sum(cpu_seconds(pid) for pid in set(server_pids())),
                    "machine_cpu": machine_cpu_seconds(),
                    "load": round(os.getloadavg()[0], 2),
                }
            )
            if len(STEPS) >= 2:
                finished = summary(len(STEPS) - 2)
                print(format_row(finished), flush=True)
                if not held(finished) or finished["people"] + STEP > MAX_PEOPLE:
                    return None
        people = STEPS[step]["people"]
        return people, max(STEP, START) / 2


def format_row(row: dict) -> str:
    return (
        f"{row['people']:>6} people  {row['requests']:>6} requests  {row['rps']:>6.1f} req/s"
        f"  p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  max {row['max_ms']} ms"
        f"  {row['errors']} errors  locust CPU {row.get('locust_cpu_percent')} %"
        f"  server CPU {row.get('server_cpu_percent')} %"
        f"  others' CPU {row.get('other_cpu_percent')} %"
        f"  {row['outcomes']}"
    )


@events.test_stop.add_listener
def write_steps(**_kwargs):
    finished = [summary(step) for step in range(len(STEPS) - 1)]
    OUT.write_text(json.dumps({"steps": finished}, indent=2, ensure_ascii=False) + "\n")


class Person(FastHttpUser):
    abstract = True
    wait_time = between(*THINK)
    kind = ""

    def on_start(self):
        self.person = next(NEXT[self.kind]) if self.kind else {}
        if self.person:
            host = urlsplit(self.host).hostname or "127.0.0.1"
            self.client.cookiejar.set_cookie(session_cookie(PLAN["cookie_name"], self.person, host))
        self.clicks = itertools.cycle(self.round)
        # the first click somewhere within a think time: no herd at the start of a step
        gevent.sleep(random.uniform(0, THINK[1]))

    @task
    def click(self):
        getattr(self, next(self.clicks))()

    def expect(self, path: str, name: str, status: int = 200, text: str = "", **kwargs):
        method = kwargs.pop("method", "GET")
        with self.client.request(
            method, path, name=name, catch_response=True, allow_redirects=False, **kwargs
        ) as response:
            if response.status_code != status:
                response.failure(f"{response.status_code} instead of {status}")
            elif text and text not in (response.text or ""):
                response.failure(f"{text!r} not in the page")
            return response


def session_cookie(name: str, person: dict, host: str) -> Cookie:
    return Cookie(
        version=0,
        name=name,
        value=person["cookie"],
        port=None,
        port_specified=False,
        domain=host,
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={"HttpOnly": ""},
    )


class Learner(Person):
    weight = 75
    kind = "learners"
    round = ("home", "log_form", "send_log", "view_log")

    def home(self):
        self.expect("/learner", "learner home", text='href="/hours/new"')

    def log_form(self):
        page = self.expect("/hours/new", "log form").text or ""
        found = CSRF.search(page)
        self.csrf = found.group(1) if found else ""

    def send_log(self):
        person = self.person
        first, last = (
            date.fromisoformat(person["first_day"]),
            date.fromisoformat(person["last_day"]),
        )
        worked_on = first + timedelta(days=random.randint(0, max((last - first).days, 0)))
        data = {
            "csrf_token": self.csrf,
            "enrolment_id": str(person["enrolment_id"]),
            "module_id": str(random.choice(person["modules"])),
            "worked_on": worked_on.isoformat(),
            "hours": "0.5",
            "description": "อ่านเอกสารประกอบการเรียนและสรุปประเด็นสำคัญ (capacity benchmark)",
            "mechanism_id": "0",
            "place": "",
        }
        with self.client.request(
            "POST",
            "/hours/new",
            name="log submission (POST)",
            data=data,
            catch_response=True,
            allow_redirects=False,
        ) as answer:
            where = urlsplit(answer.headers.get("Location") or "").path
            if answer.status_code == 302 and re.fullmatch(r"/hours/\d+", where):
                self.log_path = where
                note("log sent")
            elif answer.status_code == 200 and 'class="error' in (answer.text or ""):
                note("log refused by a rule (the form's message)")  # e.g. the day's 12 hours
            else:
                answer.failure(f"{answer.status_code} to {where or 'nowhere'}")

    def view_log(self):
        path = getattr(self, "log_path", None)
        if path:
            self.expect(path, "one of their logs")
        else:
            self.expect("/hours", "their logs")


class Instructor(Person):
    weight = 15
    kind = "instructors"
    round = ("queue", "approve", "matrix")

    def queue(self):
        page = self.expect("/review", "review queue").text or ""
        found = CSRF.search(page)
        self.csrf = found.group(1) if found else ""
        self.waiting = LOG_IDS.findall(page)

    def approve(self):
        waiting = getattr(self, "waiting", [])
        if not waiting:
            note("queue empty: nothing to approve")
            return self.matrix()
        data = {"csrf_token": self.csrf, "log_ids": random.choice(waiting), "body": ""}
        answer = self.expect(
            "/review/approve", "approve a log (POST)", 302, method="POST", data=data
        )
        if answer.status_code == 302:
            note("log approved (or already reviewed by another)")
        return None

    def matrix(self):
        self.expect(f"/cohorts/{self.person['cohort_id']}/progress", "cohort matrix")


class Administrator(Person):
    weight = 5
    kind = "admins"
    round = ("report", "export", "certificates")

    def report(self):
        self.cohort_id = random.choice(PLAN["report_cohorts"])
        self.expect(f"/reports/cohorts/{self.cohort_id}", "cohort report")

    def export(self):
        self.expect(f"/admin/exports/progress-{self.cohort_id}.csv", "progress export (CSV)")

    def certificates(self):
        self.expect(f"/cohorts/{self.cohort_id}/certificates", "certificates of a cohort")


class Public(Person):
    weight = 5
    round = ("verify",)

    def verify(self):
        self.expect(f"/verify/{random.choice(PLAN['codes'])}", "verify page")
