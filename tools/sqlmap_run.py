"""A repeatable sqlmap run against a throwaway local LCA (security check, not a test).

    .venv/bin/python tools/sqlmap_run.py [--backend sqlite|postgresql] [--jobs 2] [--only TEXT]

What it does, start to end:

1. Makes a throwaway instance: a temporary LCA_DATA_DIR, a SQLite file there (or a throwaway
   PostgreSQL server from ``tools/instances.py`` with ``--backend postgresql``), then
   ``flask --app wsgi db upgrade``, ``lca seed``, ``lca demo``, ``lca keys generate`` and
   ``lca certificates issue`` (the graduate's certificate, so that /verify has a real code).
   A few fixtures the demo lacks are added (through the services where there is one): a file on
   a field report, set-password and forgot-password links, a second instructor and spare
   learners for the state-changing POSTs (one to erase), a spare instructor with the demo's
   authenticator-app key, a passkey row of the demo instructor, another session of learner01.
2. Serves it with gunicorn (2 workers) on 127.0.0.1, LCA_ENV=production. Production is fine over
   plain http here: the session cookie is Secure only when LCA_PUBLIC_URL is https, and it is
   http://127.0.0.1:PORT. The rate limits (every LCA_*_RATE_LIMIT of lca/core/config.py) are raised
   so that sqlmap is tested, not throttled.
3. Enumerates the targets from ``app.url_map``: every rule with an argument (<int:…>, <code>,
   <token>, <kind>…), each method, the path arguments filled with real ids from the demo data and
   marked with ``*`` (URI injection points); plus the query-string filters (review queue, audit
   log, people search, exports, report list…), the sign-in form and the verify form.
4. Signs in with the demo account the route is for (the view's ``lca_access``; for GETs the
   first account whose page answers 200) through the forms — staff's second step with a code of
   ``DEMO_TOTP_SECRET``, the privacy notice's button the first time — and hands sqlmap the
   session cookie (one session per account, shared by its targets). POSTs carry the
   session's CSRF token; the sign-in form is tested with --csrf-token/--csrf-url.
5. Runs sqlmap on each target (--batch, --flush-session, --dbms matching the backend), reads its
   output for the verdict, counts the requests each target made in gunicorn's access log (every
   sqlmap request carries an X-LCA-Target header), collects 5xx answers and tracebacks, and
   writes bench/results/sqlmap-<backend>.json. Exit status: 0 nothing injectable, 1 something
   injectable, 2 a target could not be tested.

Levels and risk: level 2, risk 1 for the URI and query points (more boundaries and payloads than
level 1; the Cookie header that level 2 adds is the signed Flask session, and sqlmap skips
headers when injection points are marked). Level 3 for the sign-in form, the verify form and the
public string arguments (/verify/<code>…, /set-password/<token>): the sign-in and verify forms
are tested without marks, so level 3 also tests the Cookie, User-Agent and Referer headers
there. Risk stays 1: risk 2-3 adds heavy time-based queries and OR payloads that, in an UPDATE,
rewrite every row.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.routing.converters import NumberConverter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.instances import (  # noqa: E402 - once the repository is on sys.path
    Gunicorn,
    ThrowawayPostgres,
    flask,
    free_port,
    instance_env,
)

BIN = Path(sys.executable).parent
PASSWORD = "demo-pass-2569"  # noqa: S105 - the documented demo password, throwaway database
ACCOUNTS = {
    "admin": "admin@example.org",
    "instructor": "instructor@example.org",
    "learner": "learner@example.org",
    "graduate": "graduate@example.org",
    "learner01": "learner01@example.org",
}
#: least privileged first: a GET target is tested with the first of these its page answers
PROBE_ORDER = ("learner", "graduate", "learner01", "instructor", "admin")
ROLE_OF_ACCOUNT = {
    "admin": "admin",
    "instructor": "instructor",
    "learner": "learner",
    "graduate": "learner",
    "learner01": "learner",
}
SPARE_PASSWORD = PASSWORD + "-spare"
SPARE_INSTRUCTOR = "sqlmap-instructor@example.org"
SPARE_LEARNER = "sqlmap-learner@example.org"
SETUP_LEARNER = "sqlmap-setup@example.org"
#: staff with the demo key whose sign-ins wait for the second step (its forms' targets)
SPARE_STAFF = "sqlmap-staff@example.org"
#: a learner whose personal data the erasure target erases
ERASED_LEARNER = "sqlmap-erase@example.org"
RAISED_LIMIT = "1000000 per minute"
TARGET_HEADER = "X-LCA-Target"
SENTINEL = 987650000

#: query-string parameters each endpoint reads (request.args or a GET form), with real values
#: (placeholders in braces are ids from the demo data) so that the page has rows to compare
QUERY_PARAMETERS: dict[str, dict[str, str]] = {
    "hours.queue": {
        "cohort": "{cohort_id}",
        "module": "{module_id}",
        "status": "pending",
        "page": "1",
    },
    "admin.audit": {
        "person": "learner",
        "action": "auth.login",
        "target_type": "user",
        "target_id": "{learner_id}",
        "since": "2020-01-01",
        "until": "2100-12-31",
        "page": "1",
    },
    "admin.export_audit": {
        "person": "learner",
        "action": "auth.login",
        "target_type": "user",
        "target_id": "{learner_id}",
        "since": "2020-01-01",
        "until": "2100-12-31",
    },
    "admin.users": {"q": "learner", "role": "learner", "status": "active", "page": "1"},
    "admin.export_hour_logs": {"cohort": "{cohort_id}"},
    "assessment.reports": {"status": "submitted", "cohort": "{cohort_id}", "page": "1"},
    "assessment.my_report": {"enrolment": "{learner_enrolment_id}"},
    "hours.cohort_matrix": {"sort": "name", "dir": "desc"},
    "certificates.credential_json": {"ld": "1"},
    "home.learner": {"lang": "en"},  # ?lang= is read on every page; saved to the account
}
#: POST form fields that name a database row (looked up by the view), tested with the path
FORM_FIELDS: dict[str, dict[str, str]] = {
    "cohorts.enrol": {"email": "learner02@example.org"},
    "cohorts.assign": {"instructor_id": "{spare_instructor_id}"},
    "assessment.assign": {"assessor_id": "{instructor_id}"},
    "hours.bulk_approve": {"log_ids": "{pending_log_2_id}"},
    # another session of the account (a fixture), ended with the account's password
    "auth.end_one_session": {"session_id": "{other_session_id}", "current_password": PASSWORD},
    # the forms of the second step, posted by a sign-in that waits for it (SPARE_STAFF)
    "auth.second_step": {"code": "123456"},
    "auth.recovery_step": {"code": "abcd-efgh-jkmn"},
    "privacy.acknowledge": {"next": "/account"},
    "privacy.erase": {"reason": "sqlmap", "confirm": "y"},
}
#: targets signed in as this account, whatever the route's access allows
ACCOUNT_OF_ENDPOINT = {
    "auth.delete_passkey": "instructor",  # the fixture passkey is the demo instructor's
    "auth.end_one_session": "learner01",  # the fixture session is learner01's
}
#: targets whose session waits for the second step of SPARE_STAFF
WAITING_ENDPOINTS = {"auth.second_step", "auth.recovery_step"}
#: arguments whose value depends on the endpoint (the default comes from ARGUMENT_DEFAULTS)
ARGUMENT_OVERRIDES: dict[str, dict[str, str]] = {
    "admin.edit_user": {"user_id": "spare_learner_id"},
    "admin.reset": {"user_id": "spare_learner_id"},
    "admin.deactivate": {"user_id": "spare_learner_id"},
    "admin.activate": {"user_id": "spare_learner_id"},
    # ends every session of the account: not one that other targets are signed in with
    "admin.sign_out": {"user_id": "spare_learner_id"},
    "cohorts.unassign": {"user_id": "spare_instructor_id"},
    "admin.reset_second_factor": {"user_id": "spare_instructor_id"},
    "privacy.erase": {"user_id": "erased_learner_id"},
    "cohorts.withdraw": {"enrolment_id": "spare_enrolment_id"},
    "certificates.issue": {"enrolment_id": "graduate_enrolment_id"},
    "hours.show_log": {"log_id": "evidence_log_id"},
    "hours.evidence": {"log_id": "evidence_log_id"},
    "hours.thumbnail": {"log_id": "evidence_log_id"},
    "hours.edit_log": {"log_id": "returned_log_id"},
    "hours.answer": {"log_id": "returned_log_id"},
    "hours.withdraw": {"log_id": "pending_log_id"},
    "hours.approve": {"log_id": "pending_log_2_id"},
    "hours.reject": {"log_id": "pending_log_2_id"},
    "hours.send_back": {"log_id": "pending_log_2_id"},
}
ARGUMENT_DEFAULTS = {
    "cohort_id": "cohort_id",
    "user_id": "learner_id",
    "city_id": "city_id",
    "enrolment_id": "learner_enrolment_id",
    "log_id": "evidence_log_id",
    "evidence_id": "evidence_id",
    "session_id": "session_id",
    "report_id": "report_id",
    "file_id": "report_file_id",
    "certificate_id": "certificate_id",
    "code": "certificate_code",
    "token": "setup_token",
    "kind": "kind",
    "passkey_id": "passkey_id",
    "reset_token": "reset_token",
    "thumbprint": "jwt_thumbprint",
    "name": "font_name",
}
#: routes not tested, and why
EXCLUDED = {
    "static": "<path:filename> is a file name served from lca/static by send_from_directory; "
    "no database query",
}
#: public string arguments: tested at level 3 (they go straight into a database lookup)
LEVEL3_ENDPOINTS = {
    "certificates.verify",
    "certificates.verify_pdf",
    "certificates.credential_json",
    "certificates.credential_jwt",
    "auth.set_password",
    "auth.reset_password_link",
}


# --------------------------------------------------------------------------- the instance


def rate_limit_variables() -> list[str]:
    """Every LCA_…_RATE_LIMIT setting lca/core/config.py reads (read, not hard-coded: the list
    grows)."""
    source = (ROOT / "lca" / "core" / "config.py").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"\"(LCA_[A-Z_]*RATE_LIMIT)\"", source)))


def instance_environment(database_url: str, data_dir: Path, port: int) -> dict[str, str]:
    """A throwaway production instance whose rate limits do not throttle sqlmap."""
    return instance_env(
        database_url, data_dir, port, **dict.fromkeys(rate_limit_variables(), RAISED_LIMIT)
    )


def prepare_database(env: dict[str, str]) -> None:
    flask(env, "db", "upgrade")
    flask(env, "lca", "seed")
    flask(env, "lca", "demo", "--allow-production")
    flask(env, "lca", "keys", "generate")
    # the issue command refuses an address only this machine reaches (it would be frozen into
    # the certificate for good); this throwaway certificate only needs a code to look up
    flask(
        {**env, "LCA_PUBLIC_URL": "https://lca-sqlmap.example.org"},
        "lca",
        "certificates",
        "issue",
        "--cohort",
        "CA-2569-01",
        "--email",
        ACCOUNTS["graduate"],
    )


def add_fixtures_and_read_ids(app, notes: list[str]) -> dict[str, str]:
    """What the demo lacks for a complete run, then the ids the targets are filled with."""
    from sqlalchemy import select

    from lca.certificates.keys import jwt_keys
    from lca.core.db import db, utcnow
    from lca.home.asset_views import FONT_WEIGHTS
    from lca.models import (
        Certificate,
        ClassSession,
        Cohort,
        Enrolment,
        EvidenceFile,
        FieldReport,
        HourLog,
        LogStatus,
        Module,
        Passkey,
        ReportFile,
        Role,
        User,
        UserSession,
    )
    from lca.ops.demo import DEMO_TOTP_SECRET

    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.code == "CA-2569-01"))
        users = {u.email: u for u in db.session.scalars(select(User))}

        def step(name, action):
            try:
                action()
                db.session.commit()
            except Exception as error:  # a missing fixture is reported, not fatal
                db.session.rollback()
                notes.append(f"fixture {name!r} not made: {type(error).__name__}: {error}")

        def people():
            from lca.auth.services import Profile, create_user
            from lca.cohorts.services import assign_instructor, enrol_learner

            city = cohort.host_city
            for email, role in (
                (SPARE_INSTRUCTOR, Role.INSTRUCTOR),
                (SPARE_LEARNER, Role.LEARNER),
                (SETUP_LEARNER, Role.LEARNER),
                (SPARE_STAFF, Role.INSTRUCTOR),
                (ERASED_LEARNER, Role.LEARNER),
            ):
                if email not in users:
                    profile = Profile(email, "ทดสอบ sqlmap", "sqlmap test", role, city, "sqlmap")
                    users[email] = create_user(profile, SPARE_PASSWORD, None)[0]
            db.session.flush()
            assign_instructor(cohort, users[SPARE_INSTRUCTOR], users[ACCOUNTS["admin"]])
            enrol_learner(cohort, users[SPARE_LEARNER], users[ACCOUNTS["admin"]])
            enrol_learner(cohort, users[ERASED_LEARNER], users[ACCOUNTS["admin"]])
            # staff's second factor, as the demo staff's: the demo key, confirmed
            for email in (SPARE_STAFF, SPARE_INSTRUCTOR):
                users[email].totp_secret, users[email].totp_confirmed_at = (
                    DEMO_TOTP_SECRET,
                    utcnow(),
                )

        token: list[str] = []
        reset: list[str] = []

        def setup_link():
            from lca.auth.services import new_setup_token

            token.append(new_setup_token(users[SETUP_LEARNER]))

        def reset_link():
            from lca.auth.services import new_reset_token

            reset.append(new_reset_token(users[SETUP_LEARNER]))

        def report_file():
            from lca.assessment.services import (
                ReportDraft,
                load_report,
                report_of,
                update_report,
            )
            from lca.core.uploads import Upload
            from lca.ops.demo import demo_photo

            learner = users[ACCOUNTS["learner01"]]
            enrolment = db.session.scalar(
                select(Enrolment).where(
                    Enrolment.cohort_id == cohort.id, Enrolment.learner_id == learner.id
                )
            )
            report = load_report(report_of(enrolment))  # as the view loads it
            draft = ReportDraft(report.summary, [log.id for log in report.logs])
            update_report(
                report, draft, [Upload("field.jpg", demo_photo("teal", 3))], set(), learner
            )

        def passkey():
            # a passkey row of the demo instructor (made as the browser's answer would be
            # stored; only its id is used, by the removal target)
            db.session.add(
                Passkey(
                    user=users[ACCOUNTS["instructor"]],
                    credential_id=os.urandom(32),
                    public_key=os.urandom(77),
                    name="sqlmap",
                )
            )

        def other_session():
            from lca.auth.sessions import start_session

            with app.test_request_context(headers={"User-Agent": "sqlmap fixture"}):
                start_session(users[ACCOUNTS["learner01"]])

        step("spare accounts", people)
        step("set-password link", setup_link)
        step("forgot-password link", reset_link)
        step("field report file", report_file)
        step("passkey", passkey)
        step("another session", other_session)

        def jwt_thumbprint() -> str:
            keys = jwt_keys()  # the keys `lca keys generate` made
            return keys[0].thumbprint() if keys else ""

        def first(query):
            value = db.session.scalar(query.limit(1))
            return "" if value is None else str(value)

        def enrolment_of(email):
            return first(
                select(Enrolment.id)
                .join(User, User.id == Enrolment.learner_id)
                .where(User.email == email, Enrolment.cohort_id == cohort.id)
            )

        learner_enrolment = enrolment_of(ACCOUNTS["learner"])

        def log_in(status, offset=0):
            return first(
                select(HourLog.id)
                .where(HourLog.enrolment_id == int(learner_enrolment), HourLog.status == status)
                .order_by(HourLog.id)
                .offset(offset)
            )

        report_id = first(select(ReportFile.field_report_id).order_by(ReportFile.id)) or first(
            select(FieldReport.id).order_by(FieldReport.id)
        )
        ids = {
            "cohort_id": str(cohort.id),
            "module_id": first(select(Module.id).order_by(Module.number)),
            "city_id": str(cohort.host_city_id),
            "learner_id": str(users[ACCOUNTS["learner"]].id),
            "instructor_id": str(users[ACCOUNTS["instructor"]].id),
            "spare_learner_id": str(users[SPARE_LEARNER].id)
            if SPARE_LEARNER in users
            else str(users[ACCOUNTS["learner"]].id),
            "spare_instructor_id": str(users[SPARE_INSTRUCTOR].id)
            if SPARE_INSTRUCTOR in users
            else str(users[ACCOUNTS["instructor"]].id),
            "learner_enrolment_id": learner_enrolment,
            "graduate_enrolment_id": enrolment_of(ACCOUNTS["graduate"]),
            "spare_enrolment_id": enrolment_of(SPARE_LEARNER) or learner_enrolment,
            "evidence_log_id": first(
                select(EvidenceFile.hour_log_id)
                .join(HourLog, HourLog.id == EvidenceFile.hour_log_id)
                .where(HourLog.enrolment_id == int(learner_enrolment))
                .order_by(EvidenceFile.id)
            ),
            "pending_log_id": log_in(LogStatus.PENDING),
            "pending_log_2_id": log_in(LogStatus.PENDING, 1) or log_in(LogStatus.PENDING),
            "returned_log_id": log_in(LogStatus.RETURNED),
            "session_id": first(select(ClassSession.id).where(ClassSession.cohort_id == cohort.id)),
            "report_id": report_id,
            "report_file_id": first(select(ReportFile.id).order_by(ReportFile.id)),
            "certificate_id": first(select(Certificate.id).order_by(Certificate.id)),
            "certificate_code": first(select(Certificate.code).order_by(Certificate.id)),
            "setup_token": token[0] if token else "no-setup-token",
            "kind": "csv",
            "reset_token": reset[0] if reset else "no-reset-token",
            "jwt_thumbprint": jwt_thumbprint(),
            "font_name": sorted(FONT_WEIGHTS)[0],
            "erased_learner_id": str(users[ERASED_LEARNER].id) if ERASED_LEARNER in users else "",
            "passkey_id": first(select(Passkey.id).order_by(Passkey.id.desc())),
            "other_session_id": first(
                select(UserSession.id)
                .where(
                    UserSession.user_id == users[ACCOUNTS["learner01"]].id,
                    UserSession.user_agent == "sqlmap fixture",
                )
                .order_by(UserSession.id.desc())
            ),
        }
        ids["evidence_id"] = first(
            select(EvidenceFile.id)
            .where(EvidenceFile.hour_log_id == int(ids["evidence_log_id"] or 0))
            .order_by(EvidenceFile.id)
        )
        db.session.remove()
        db.engine.dispose()
    missing = sorted(k for k, v in ids.items() if not v)
    if missing:
        notes.append(f"no demo data for: {', '.join(missing)} (those targets use 1)")
        for key in missing:
            ids[key] = "1"
    return ids


ACCESS_FORMAT = f'%(t)s "%({{{TARGET_HEADER.lower()}}}i)s" %(s)s %(m)s "%(U)s" "%(q)s" %(B)s %(L)s'


# --------------------------------------------------------------------------- HTTP client


class DemoCodes:
    """Codes of the demo staff's authenticator-app key (``DEMO_TOTP_SECRET``). LCA takes a code
    once per 30-second step and account, and the steps either side of now: each sign-in gets
    the next unused step of its account, waiting when the one after now is used already."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: dict[str, int] = {}

    def next(self, email: str) -> str:
        import pyotp

        from lca.ops.demo import DEMO_TOTP_SECRET

        totp = pyotp.TOTP(DEMO_TOTP_SECRET)
        with self.lock:
            now = int(time.time()) // totp.interval
            step = max(now, self.last.get(email, now - 1) + 1)
            if step > now + 1:  # wait until that step is at most one ahead of now
                time.sleep((step - 1) * totp.interval - time.time() + 1)
            self.last[email] = step
            return totp.at(step * totp.interval)


CODES = DemoCodes()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """urllib with a cookie jar, redirects not followed (a redirect is an answer too)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - local http
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, answer.read().decode("utf-8", "replace"), ""
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            return error.code, text, error.headers.get("Location", "")

    def csrf_token(self, path: str) -> str:
        _status, text, _ = self.request(path)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', text
        )
        if not found:
            raise RuntimeError(f"no csrf_token on {path}")
        return found.group(1)

    def sign_in(self, account: str) -> None:
        """The sign-in form, the second step for staff (a code of the demo key) and the privacy
        notice the first time, as a person goes through them."""
        email = ACCOUNTS.get(account, account)
        token = self.csrf_token("/login")
        status, _text, location = self.request(
            "/login", {"csrf_token": token, "email": email, "password": PASSWORD}
        )
        if status != 302:
            raise RuntimeError(f"sign-in as {email} answered {status}, not 302")
        if "/account/password" in location:
            raise RuntimeError(f"{email} must change the password first")
        if urllib.parse.urlsplit(location).path == "/login/second-step":
            location = self.second_step(email)
        self.read_privacy_notice(urllib.parse.urlsplit(location).path)

    def begin_sign_in(self, email: str, password: str) -> None:
        """The password only: the sign-in then waits (5 minutes) for its second step."""
        token = self.csrf_token("/login")
        status, _text, location = self.request(
            "/login", {"csrf_token": token, "email": email, "password": password}
        )
        if status != 302 or urllib.parse.urlsplit(location).path != "/login/second-step":
            raise RuntimeError(f"sign-in as {email} did not ask for a second step ({status})")

    def second_step(self, email: str) -> str:
        """A code of the demo key; a code is refused once its time step was used for the
        account, so a refused one is followed by the next step's (CODES waits for it). Where
        the sign-in leads."""
        for _attempt in range(4):
            token = self.csrf_token("/login/second-step")
            status, _text, location = self.request(
                "/login/second-step", {"csrf_token": token, "code": CODES.next(email)}
            )
            if status == 302:
                return location
        raise RuntimeError(f"the second step of {email} refused four codes in a row")

    def read_privacy_notice(self, home: str) -> None:
        """The first page after the sign-in (``home``) brings the privacy notice the first
        time: its button says it was read (POST /privacy/seen), and the page then answers."""
        status, _text, location = self.request(home)
        if status == 302 and urllib.parse.urlsplit(location).path == "/privacy":
            token = self.csrf_token("/privacy?next=" + urllib.parse.quote(home))
            self.request("/privacy/seen", {"csrf_token": token, "next": home})
            status, _text, location = self.request(home)
        if status != 200:
            raise RuntimeError(f"{home} answered {status} {location} after signing in")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


#: one signed-in session per account, shared by its targets (a staff sign-in uses up a time
#: step of the authenticator app, so signing in anew for each target would wait for codes)
_SESSIONS: dict[str, Client] = {}
_SESSIONS_LOCK = threading.Lock()


def session_for(base: str, account: str | None) -> Client:
    """A signed-in session for ``account`` (an anonymous one for None)."""
    if account is None:
        client = Client(base)
        client.request("/login")  # an anonymous session, holding the CSRF secret
        return client
    with _SESSIONS_LOCK:
        client = _SESSIONS.get(account)
        if client is not None and client.request("/account")[0] == 200:
            return client  # still signed in
        client = Client(base)
        client.sign_in(account)
        _SESSIONS[account] = client
        return client


def waiting_session(base: str, email: str) -> Client:
    """A session whose sign-in waits for its second step (the password was right)."""
    client = Client(base)
    client.begin_sign_in(email, SPARE_PASSWORD)
    return client


def session_csrf_token(client: Client, target: Target) -> str:
    """The session's CSRF token (Flask-WTF: one secret per session, any page's token works,
    no time limit here): from the form's own page if it has a GET, else a page that has one."""
    pages = [target.probe_path, "/account" if target.account else "/login", "/login"]
    for page in pages:
        with contextlib.suppress(RuntimeError):
            return client.csrf_token(page)
    raise RuntimeError(f"no csrf_token on {', '.join(pages)}")


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    number: int
    endpoint: str
    rule: str
    method: str
    url: str  #: with * after each value to test (absent for the unmarked forms)
    data: str | None = None
    parameters: list[str] = field(default_factory=list)  #: what each * in the URL stands for
    form_parameters: list[str] = field(default_factory=list)  #: each * in the POST data
    access: str = ""
    account: str | None = None
    level: int = 2
    csrf_url: str | None = None
    marked: bool = True
    #: follow redirects as a browser does (GET, cookies kept), to see the flashed outcome
    follow: bool = False
    probe_path: str = ""  #: the URL without marks, for the baseline GET
    # results
    baseline_status: int | None = None
    verdict: str = "not run"
    injectable_lines: list[str] = field(default_factory=list)
    rejected_candidates: list[str] = field(default_factory=list)  #: sqlmap's false positives
    heuristic_lines: list[str] = field(default_factory=list)
    tested: list[str] = field(default_factory=list)
    sqlmap_http_errors: list[str] = field(default_factory=list)
    requests: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    problem: str = ""


def access_of(app, endpoint: str) -> str | tuple:
    access = getattr(app.view_functions[endpoint], "lca_access", "unknown")
    return access if isinstance(access, str) else tuple(r.value for r in access)


def candidate_accounts(access) -> list[str | None]:
    if access == "public":
        return [None]
    if access == "signed-in" or access == "unknown":
        return list(PROBE_ORDER)
    return [a for a in PROBE_ORDER if ROLE_OF_ACCOUNT[a] in access]


def build_targets(app, ids: dict[str, str], base: str) -> tuple[list[Target], list[dict]]:
    targets: list[Target] = []
    excluded = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        query = QUERY_PARAMETERS.get(rule.endpoint)
        form = FORM_FIELDS.get(rule.endpoint)
        if rule.endpoint in EXCLUDED:
            excluded.append({"rule": rule.rule, "reason": EXCLUDED[rule.endpoint]})
            continue
        if not rule.arguments and query is None and form is None:
            continue
        access = access_of(app, rule.endpoint)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if query is not None and method != "GET":
                continue
            if not rule.arguments and not (
                (query and method == "GET") or (form and method == "POST")
            ):
                continue
            sentinels, real = {}, {}
            for number, name in enumerate(sorted(rule.arguments)):
                key = ARGUMENT_OVERRIDES.get(rule.endpoint, {}).get(name) or ARGUMENT_DEFAULTS.get(
                    name, ""
                )
                real[name] = ids.get(key, "1")
                is_int = isinstance(rule._converters[name], NumberConverter)
                sentinels[name] = SENTINEL + number if is_int else f"zzsentinel{number}zz"
            _domain, path = rule.build(sentinels, append_unknown=False)
            marks = sorted(rule.arguments, key=lambda n: path.index(str(sentinels[n])))
            marked, plain = path, path
            for name in marks:
                marked = marked.replace(str(sentinels[name]), real[name] + "*")
                plain = plain.replace(str(sentinels[name]), urllib.parse.quote(real[name]))
            parameters = [f"path <{name}>" for name in marks]
            if query:
                filled = {k: v.format(**ids) for k, v in query.items()}
                marked += "?" + "&".join(f"{k}={urllib.parse.quote(v)}*" for k, v in filled.items())
                plain += "?" + urllib.parse.urlencode(filled)
                parameters += [f"query {k}" for k in filled]
            data, form_parameters = None, []
            if method == "POST":
                fields = {k: v.format(**ids) for k, v in (form or {}).items()}
                data = "csrf_token=TOKEN" + "".join(
                    f"&{k}={urllib.parse.quote(v)}*" for k, v in fields.items()
                )
                form_parameters = [f"form {k}" for k in fields]
            targets.append(
                Target(
                    number=0,
                    endpoint=rule.endpoint,
                    rule=rule.rule,
                    method=method,
                    url=base + marked,
                    data=data,
                    parameters=parameters,
                    form_parameters=form_parameters,
                    follow=bool(form_parameters),
                    access=access if isinstance(access, str) else ",".join(access),
                    level=3 if rule.endpoint in LEVEL3_ENDPOINTS else 2,
                    probe_path=plain,
                )
            )
    # the two forms, unmarked so that sqlmap also tests the headers at level 3
    targets.append(
        Target(
            number=0,
            endpoint="auth.login",
            rule="/login",
            method="POST",
            url=f"{base}/login?next=%2Fhome",
            data=f"csrf_token=TOKEN&email={urllib.parse.quote(ACCOUNTS['learner'])}"
            f"&password={PASSWORD}&remember=y",
            parameters=["query next"],
            form_parameters=["form email", "form password", "form remember"],
            access="public",
            level=3,
            csrf_url=f"{base}/login",
            marked=False,
            probe_path="/login",
        )
    )
    targets.append(
        Target(
            number=0,
            endpoint="certificates.verify_form",
            rule="/verify",
            method="GET",
            url=f"{base}/verify?code={ids['certificate_code']}",
            parameters=["query code"],
            access="public",
            level=3,
            marked=False,
            probe_path=f"/verify?code={ids['certificate_code']}",
        )
    )
    # the sign-in form first (the longest: a password hash per request), then the GETs, and the
    # state-changing POSTs after them
    targets.sort(key=lambda t: (t.endpoint != "auth.login", t.method != "GET", t.rule))
    for number, target in enumerate(targets, 1):
        target.number = number
    return targets, excluded


def choose_account(target: Target, app, base: str) -> Client:
    """Sign in as the account the route is for; for a GET, the first whose page answers 200."""
    access = (
        target.access
        if target.access in ("public", "signed-in", "unknown")
        else tuple(target.access.split(","))
    )
    if target.endpoint in WAITING_ENDPOINTS:
        target.account = f"{SPARE_STAFF} (waiting for the second step)"
        return waiting_session(base, SPARE_STAFF)
    if target.endpoint in ACCOUNT_OF_ENDPOINT:
        target.account = ACCOUNT_OF_ENDPOINT[target.endpoint]
        return session_for(base, target.account)
    accounts = candidate_accounts(access)
    if target.method != "GET":
        order = {"admin": 0, "instructor": 1, "learner": 2, "graduate": 3, "learner01": 4}
        if target.endpoint.startswith("hours.") and "learner" in accounts:
            accounts = ["learner"]  # learners' own log actions
        elif target.endpoint in {"assessment.grade"}:
            accounts = ["instructor"]
        else:
            accounts = sorted(accounts, key=lambda a: order.get(a or "", 9))
        client = session_for(base, accounts[0])
        target.account = accounts[0]
        return client
    best: tuple[Client, str | None, int] | None = None
    for account in accounts:
        client = session_for(base, account)
        status, _text, _ = client.request(target.probe_path)
        if best is None:
            best = (client, account, status)
        if status == 200:
            best = (client, account, status)
            break
    client, target.account, target.baseline_status = best
    return client


# --------------------------------------------------------------------------- sqlmap


def sqlmap_version() -> str:
    result = subprocess.run(  # noqa: S603 - our venv's sqlmap
        [str(BIN / "sqlmap"), "--version"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


def sqlmap_command(target: Target, dbms: str, cookie: str, out: Path, threads: int) -> list[str]:
    command = [
        str(BIN / "sqlmap"),
        "-u",
        target.url,
        "--batch",
        "--flush-session",
        f"--dbms={dbms}",
        f"--level={target.level}",
        "--risk=1",
        "--technique=BEUSTQ",
        f"--threads={1 if target.csrf_url else threads}",  # --csrf-token needs 1
        "--timeout=30",
        "--retries=2",
        "--disable-coloring",
        f"--output-dir={out}",
        f"--cookie={cookie}",
        f"--headers={TARGET_HEADER}: {target.number}",
        "-v",
        "1",
    ]
    if target.follow:
        # the outcome of a form is a message on the page it redirects to, kept in the session
        command.append("--answers=follow=Y,resend=N,merge=Y")
    else:
        # a redirect is an answer; the session stays the one signed in
        command += ["--drop-set-cookie", "--answers=follow=N"]
    if target.data is not None:
        command.append(f"--data={target.data}")
    if target.csrf_url:
        command += ["--csrf-token=csrf_token", f"--csrf-url={target.csrf_url}"]
    return command


CONFIRMED = re.compile(
    r"is vulnerable\. Do you want|sqlmap identified the following injection point", re.IGNORECASE
)
CANDIDATE = re.compile(r"parameter '([^']+)' (?:is|appears to be) '.+' injectable")
REJECTED = re.compile(r"\] ((?:\(custom\) )?[A-Za-z-]+ )?parameter '([^']+)' does not seem to be")
HEURISTIC = re.compile(r"might be injectable|might be vulnerable to", re.IGNORECASE)
NOT_INJECTABLE = "all tested parameters do not appear to be injectable"


def read_verdict(target: Target, output: str) -> None:
    """sqlmap's verdict: a candidate ("appears to be … injectable") counts only if sqlmap's own
    false-positive check kept it; "does not seem to be injectable" after it means rejected."""
    lines = [line.strip() for line in output.splitlines()]
    candidates, rejected, tested = {}, set(), []
    for line in lines:
        if found := CANDIDATE.search(line):
            candidates.setdefault(found.group(1), []).append(line)
        if found := REJECTED.search(line):
            rejected.add(found.group(2))
            name = f"{found.group(1) or ''}parameter '{found.group(2)}'"
            if target.marked and (mark := re.fullmatch(r"#(\d+)\*", found.group(2))):
                number = int(mark.group(1))
                names = target.form_parameters if "POST" in name else target.parameters
                if number <= len(names):
                    name += f" = {names[number - 1]}"
            tested.append(name)
    target.tested = tested
    target.injectable_lines = [
        line for name, found in candidates.items() if name not in rejected for line in found
    ] + [line for line in lines if CONFIRMED.search(line)]
    target.rejected_candidates = [
        line for name, found in candidates.items() if name in rejected for line in found
    ]
    target.heuristic_lines = [line for line in lines if HEURISTIC.search(line)]
    codes = re.search(r"HTTP error codes detected during run:\s*\n(.*)", output)
    if codes:
        target.sqlmap_http_errors = [c.strip() for c in codes.group(1).split(",")]
    if target.injectable_lines:
        target.verdict = "injectable"
    elif NOT_INJECTABLE in output:
        target.verdict = "not injectable"
    else:
        critical = [line for line in lines if "[CRITICAL]" in line or "[ERROR]" in line]
        target.verdict = "inconclusive"
        target.problem = " | ".join(critical[-3:]) or "no verdict line in sqlmap's output"


def run_target(target: Target, context: dict) -> Target:
    started = time.monotonic()
    out = context["tmp"] / "sqlmap" / f"{target.number:03d}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        client = choose_account(target, context["app"], context["base"])
        if target.data and "TOKEN" in target.data:
            target.data = target.data.replace("TOKEN", session_csrf_token(client, target))
        command = sqlmap_command(
            target, context["dbms"], client.cookie_header(), out, context["threads"]
        )
        result = subprocess.run(  # noqa: S603 - our venv's sqlmap, arguments built here
            command,
            env={**os.environ, "TERM": "dumb"},
            capture_output=True,
            text=True,
            check=False,
            timeout=context["target_timeout"],
            stdin=subprocess.DEVNULL,
        )
        output = result.stdout + result.stderr
        (out / "sqlmap-output.txt").write_text(output, encoding="utf-8")
        read_verdict(target, output)
    except subprocess.TimeoutExpired:
        target.verdict = "inconclusive"
        target.problem = f"sqlmap ran longer than {context['target_timeout']} s"
    except Exception as error:  # one target's failure is reported, the run goes on
        target.verdict = "inconclusive"
        target.problem = f"{type(error).__name__}: {error}"
    target.seconds = round(time.monotonic() - started, 1)
    with context["lock"]:
        context["done"] += 1
        print(
            f"[{context['done']:3d}/{context['total']}] {target.method:4} {target.url} "
            f"as {target.account or 'anonymous'}: {target.verdict} ({target.seconds} s)",
            flush=True,
        )
    return target


def read_access_log(path: Path, targets: list[Target]) -> None:
    by_number = {t.number: t for t in targets}
    line_format = re.compile(r'^\[[^]]+\] "([^"]*)" (\d{3}) (\w+) "([^"]*)" "([^"]*)"')
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = line_format.match(line)
        if not found or not found.group(1).isdigit():
            continue
        target = by_number.get(int(found.group(1)))
        if target is None:
            continue
        status = found.group(2)
        if target.requests == 0 and target.baseline_status is None:
            target.baseline_status = int(status)  # sqlmap's first request: the original page
        target.requests += 1
        target.status_counts[status] = target.status_counts.get(status, 0) + 1
        if status.startswith("5") and len(target.server_errors) < 20:
            query = f"?{found.group(5)}" if found.group(5) else ""
            target.server_errors.append(f"{status} {found.group(3)} {found.group(4)}{query}")


def tracebacks(path: Path) -> list[str]:
    """The exceptions gunicorn's error log holds (Flask logs 'Exception on /path [GET]')."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    blocks, current = [], []
    for line in text.splitlines():
        starts = re.match(r"^\[[^]]+\] \[\d+\] \[(ERROR|CRITICAL|WARNING)\]", line) or (
            "Exception on " in line
        )
        if starts:
            if current:
                blocks.append("\n".join(current))
            current = [line]
        elif current and (line.startswith((" ", "Traceback")) or re.match(r"^\w+(\.\w+)*:", line)):
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return [b for b in blocks if "Traceback" in b or "Exception" in b or "ERROR" in b]


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=2, help="sqlmap processes at once")
    parser.add_argument("--threads", type=int, default=2, help="sqlmap --threads")
    parser.add_argument("--only", help="only targets whose URL or endpoint contains this")
    parser.add_argument("--target-timeout", type=int, default=1800)
    parser.add_argument("--out", type=Path, help="the JSON summary (default bench/results/…)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--list", action="store_true", help="list the targets, run nothing")
    options = parser.parse_args()
    out_file = options.out or ROOT / "bench" / "results" / f"sqlmap-{options.backend}.json"

    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="lca-sqlmap-"))
    port = free_port()
    postgres = server = None
    notes: list[str] = []
    try:
        if options.backend == "postgresql":
            postgres = ThrowawayPostgres().start()
            database_url = postgres.create_database("lca_sqlmap")
            dbms = "PostgreSQL"
        else:
            database_url = f"sqlite:///{tmp / 'lca.sqlite3'}"
            dbms = "SQLite"
        env = instance_environment(database_url, tmp / "data", port)
        print(f"preparing {options.backend} in {tmp}", flush=True)
        prepare_database(env)
        os.environ.update({k: v for k, v in env.items() if k.startswith("LCA_")})
        from lca import create_app

        app = create_app(serving=False)
        ids = add_fixtures_and_read_ids(app, notes)
        base = f"http://127.0.0.1:{port}"
        targets, excluded = build_targets(app, ids, base)
        if options.only:
            targets = [t for t in targets if options.only in t.url or options.only in t.endpoint]
        for note in notes:
            print(f"note: {note}", flush=True)
        if options.list:
            for target in targets:
                data = f"  data: {target.data}" if target.data else ""
                print(f"{target.number:3d} {target.method:4} L{target.level} {target.url}{data}")
            shutil.rmtree(tmp, ignore_errors=True)
            return 0
        prepared = time.monotonic() - started

        access_log = tmp / "gunicorn-access.log"
        server = Gunicorn(
            env,
            port,
            tmp / "gunicorn.log",
            workers=2,
            access_log=access_log,
            access_format=ACCESS_FORMAT,
        )
        server.wait_ready()
        context = {
            "tmp": tmp,
            "app": app,
            "base": base,
            "dbms": dbms,
            "threads": options.threads,
            "target_timeout": options.target_timeout,
            "lock": threading.Lock(),
            "done": 0,
            "total": len(targets),
        }
        scan_started = time.monotonic()
        gets = [t for t in targets if t.method == "GET" or t.endpoint == "auth.login"]
        posts = [t for t in targets if t not in gets]
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            list(pool.map(lambda t: run_target(t, context), gets))
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            list(pool.map(lambda t: run_target(t, context), posts))
        scan_seconds = time.monotonic() - scan_started
        server.stop()
        read_access_log(access_log, targets)
        errors = tracebacks(server.log)
    finally:
        if server is not None:
            server.stop()
        if postgres is not None:
            postgres.stop()

    injectable = [t for t in targets if t.verdict == "injectable"]
    inconclusive = [t for t in targets if t.verdict not in ("injectable", "not injectable")]
    summary = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": options.backend,
        "sqlmap_version": sqlmap_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "app": "gunicorn --workers 2, LCA_ENV=production, plain http (cookie not Secure-only)",
        "options": {
            "common": f"--batch --flush-session --dbms={dbms} --risk=1 --technique=BEUSTQ "
            f"--threads={options.threads} (1 with --csrf-token) --timeout=30 --retries=2",
            "redirects": "not followed, Set-Cookie dropped (--drop-set-cookie "
            "--answers=follow=N): the redirect is the answer and the session stays signed in; "
            "for the POST forms with tested fields followed as a browser does "
            "(--answers=follow=Y,resend=N,merge=Y) so the flashed outcome is compared",
            "level": "3 for the sign-in form, the verify form and the public string arguments, "
            "2 for the rest",
            "injection_points": "path arguments and query values marked with *; the sign-in "
            "(POST, --csrf-token=csrf_token --csrf-url=/login) and verify (GET) forms unmarked, "
            "so that at level 3 the Cookie, User-Agent and Referer headers are tested too",
            "parallel_sqlmap_processes": options.jobs,
            "rate_limits_raised": {name: RAISED_LIMIT for name in rate_limit_variables()},
        },
        "seconds": {
            "prepare": round(prepared, 1),
            "scan": round(scan_seconds, 1),
            "total": round(time.monotonic() - started, 1),
        },
        "totals": {
            "targets": len(targets),
            "injectable": len(injectable),
            "not_injectable": sum(1 for t in targets if t.verdict == "not injectable"),
            "inconclusive": len(inconclusive),
            "requests": sum(t.requests for t in targets),
            "server_errors_5xx": sum(
                n for t in targets for s, n in t.status_counts.items() if s.startswith("5")
            ),
        },
        "excluded": excluded,
        "notes": notes,
        "server_tracebacks": errors[:50],
        "targets": [
            {
                k: v
                for k, v in asdict(t).items()
                if k not in ("marked", "probe_path") and v not in (None, "", [], {})
            }
            for t in targets
        ],
    }
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"{len(targets)} targets, {len(injectable)} injectable, {len(inconclusive)} inconclusive, "
        f"{summary['totals']['requests']} requests, {summary['totals']['server_errors_5xx']} "
        f"5xx answers, {summary['seconds']['total']} s; summary in {out_file}"
    )
    if options.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if injectable:
        return 1
    return 2 if inconclusive else 0


if __name__ == "__main__":
    sys.exit(main())
