"""The load of ``make bench`` (bench/load.py runs it): one user class per key page.

bench/load.py runs locust once per class, headless, at a fixed number of users that never
wait between requests, and reads the page's row of locust's statistics. The people, cohorts
and certificate codes come from the plan file that bench/load.py writes after ``lca synth``
(``LCA_BENCH_PLAN``). A signed-in user signs in once, through the sign-in form, before its
first request; the sign-in is a row of its own ("sign-in") and not part of the page's figures.

Synthetic staff pass a second step with a code of the published demo key (``lca synth`` gives
them ``DEMO_TOTP_SECRET``, the plan's ``totp_key``). LCA takes a code once per 30-second step
and account, so the users given the same instructor share one sign-in: the first signs in, the
others take its cookies.
A person who has not read the privacy notice is shown it once; the sign-in says it was read.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from datetime import date, timedelta
from http.cookiejar import Cookie
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyotp
from locust import FastHttpUser, constant, task
from locust.exception import StopUser

PLAN = json.loads(Path(os.environ["LCA_BENCH_PLAN"]).read_text())
HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|enrolment_id)"[^>]*value="([^"]*)"')
#: the cookies of each staff account's one sign-in, shared by the users given that account
SIGNED_IN: dict[str, list[Cookie]] = {}
SIGN_IN_LOCKS: dict[str, threading.Lock] = {}
#: the last time step whose code was used, per account (a step is taken once)
LAST_STEP: dict[str, int] = {}


def hidden_inputs(page: str) -> dict[str, str]:
    return dict(HIDDEN.findall(page))


class Page(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def expect(self, path: str, name: str, status: int = 200, **kwargs):
        method = kwargs.pop("method", "GET")
        with self.client.request(
            method, path, name=name, catch_response=True, allow_redirects=False, **kwargs
        ) as response:
            if response.status_code != status:
                response.failure(f"{response.status_code} instead of {status}")
            return response

    def sign_in(self, email: str) -> None:
        form = hidden_inputs(self.expect("/login", "sign-in").text)
        data = {"csrf_token": form["csrf_token"], "email": email, "password": PLAN["password"]}
        answer = self.expect("/login", "sign-in", 302, method="POST", data=data)
        if answer.status_code != 302:
            raise StopUser
        home = urlsplit(answer.headers.get("Location", "")).path
        if home == "/login/second-step":
            home = self.second_step(email)
        self.read_privacy_notice(home)

    def sign_in_staff(self, email: str) -> None:
        """One sign-in per staff account (its second step uses up a time step of the app's
        code); the other users given the account take the first one's cookies."""
        with SIGN_IN_LOCKS.setdefault(email, threading.Lock()):
            if email not in SIGNED_IN:
                self.sign_in(email)
                SIGNED_IN[email] = list(self.client.cookiejar)
                return
        for cookie in SIGNED_IN[email]:
            self.client.cookiejar.set_cookie(cookie)

    def second_step(self, email: str) -> str:
        """A code of the demo key for the account's next unused time step (one ahead of now at
        most, as LCA allows; later ones wait for their step), until one is taken. Where the
        sign-in leads."""
        totp = pyotp.TOTP(PLAN["totp_key"])
        for _attempt in range(4):
            now = int(time.time()) // totp.interval
            step = max(now, LAST_STEP.get(email, now - 1) + 1)
            LAST_STEP[email] = step
            if step > now + 1:
                time.sleep((step - 1) * totp.interval - time.time() + 1)
            form = hidden_inputs(self.expect("/login/second-step", "sign-in").text)
            data = {"csrf_token": form["csrf_token"], "code": totp.at(step * totp.interval)}
            answer = self.expect("/login/second-step", "sign-in", 302, method="POST", data=data)
            if answer.status_code == 302:
                return urlsplit(answer.headers.get("Location", "")).path
        raise StopUser

    def read_privacy_notice(self, home: str) -> None:
        """The first page after the sign-in brings the privacy notice the first time: its
        button says it was read."""
        with self.client.request(
            "GET", home, name="sign-in", catch_response=True, allow_redirects=False
        ) as answer:
            if answer.status_code not in (200, 302):
                answer.failure(f"{answer.status_code} instead of 200 or 302")
        where = urlsplit(answer.headers.get("Location") or "").path
        if answer.status_code == 302 and where == "/privacy":
            form = hidden_inputs(self.expect(f"/privacy?next={quote(home)}", "sign-in").text)
            data = {"csrf_token": form["csrf_token"], "next": home}
            self.expect("/privacy/seen", "sign-in", 302, method="POST", data=data)


class Healthz(Page):
    @task
    def healthz(self):
        self.expect("/healthz", "/healthz")


class LearnerHome(Page):
    def on_start(self):
        self.sign_in(random.choice(PLAN["learners"]))

    @task
    def home(self):
        self.expect("/learner", "learner home")


class ReviewQueue(Page):
    def on_start(self):
        self.sign_in_staff(random.choice(PLAN["instructors"]))

    @task
    def queue(self):
        self.expect("/review", "review queue")


class CohortMatrix(Page):
    def on_start(self):
        email, self.cohort_id = random.choice(PLAN["matrices"])
        self.sign_in_staff(email)

    @task
    def matrix(self):
        self.expect(f"/cohorts/{self.cohort_id}/progress", "cohort matrix (50 learners)")


class VerifyPage(Page):
    @task
    def verify(self):
        self.expect(f"/verify/{random.choice(PLAN['codes'])}", "verify page")


class LogSubmission(Page):
    """A learner sends hours of a classroom module for review (no evidence needed)."""

    def on_start(self):
        learner = random.choice(PLAN["loggers"])
        self.sign_in(learner["email"])
        self.form = hidden_inputs(self.expect("/hours/new", "sign-in").text)
        self.first_day = date.fromisoformat(learner["first_day"])
        self.days = (date.fromisoformat(PLAN["today"]) - self.first_day).days

    @task
    def submit(self):
        worked_on = self.first_day + timedelta(days=random.randint(0, self.days))
        data = {
            **self.form,
            "module_id": str(random.choice(PLAN["classroom_modules"])),
            "worked_on": worked_on.isoformat(),
            "hours": random.choice(("0.5", "1", "1.5", "2")),
            "description": "อ่านเอกสารประกอบการเรียนและสรุปประเด็นสำคัญ (benchmark)",
            "mechanism_id": "0",
            "place": "",
        }
        self.expect("/hours/new", "log submission", 302, method="POST", data=data)
