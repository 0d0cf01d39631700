"""The load of ``make bench`` (bench/load.py runs it): one user class per key page.

bench/load.py runs locust once per class, headless, at a fixed number of users that never
wait between requests, and reads the page's row of locust's statistics. The people, cohorts
and certificate codes come from the plan file that bench/load.py writes after ``lca synth``
(``LCA_BENCH_PLAN``). A signed-in user signs in once, through the sign-in form, before its
first request; the sign-in is a row of its own ("sign-in") and not part of the page's figures.
"""

from __future__ import annotations

import json
import os
import random
import re
from datetime import date, timedelta
from pathlib import Path

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

PLAN = json.loads(Path(os.environ["LCA_BENCH_PLAN"]).read_text())
HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|enrolment_id)"[^>]*value="([^"]*)"')


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
        self.sign_in(random.choice(PLAN["instructors"]))

    @task
    def queue(self):
        self.expect("/review", "review queue")


class CohortMatrix(Page):
    def on_start(self):
        email, self.cohort_id = random.choice(PLAN["matrices"])
        self.sign_in(email)

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
