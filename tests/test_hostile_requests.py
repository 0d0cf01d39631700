"""What an outside test sent, and what it must get back: query-string keys named like the
parameters of ``url_for``, forged and broken cookies, crafted paths and ``next=`` values that
would point off-site, one limit for every certificate look-up, and identical POSTs sent at the
same moment (real threads against an app whose transactions commit for real)."""

from __future__ import annotations

import re
import threading
import traceback
from html import unescape
from urllib.parse import unquote, urlsplit

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import func, select

from lca.certificates.keys import generate_keys
from lca.core.db import db as _db
from lca.models import Certificate, City, Cohort, Enrolment, User
from tests.factories import (
    PASSWORD,
    AdminFactory,
    CertificateFactory,
    LearnerFactory,
    eligible_enrolment,
)

# ----------------------------------------------------------------- query keys and url_for

#: keys that ``url_for`` takes as its own parameters, and view arguments of LCA's routes
HOSTILE_KEYS = {
    "endpoint": "admin.index",
    "_external": "1",
    "_scheme": "javascript",
    "_anchor": "x",
    "_method": "POST",
    "_host": "evil.example",
    "values": "x",
    "cohort_id": "999999",
    "user_id": "1",
    "log_id": "1",
    "kind": "zip",
    "code": "x",
    "page": "2",
    "select": "all",
}
LINK = re.compile(r'(?:href|action|formaction|src)="([^"]*)"')


def _links(page: str) -> list[str]:
    return [unescape(link) for link in LINK.findall(page)]


def _stays_on_site(link: str) -> bool:
    """A link a browser would follow to this same site (relative, or to the public address,
    with no changed scheme), also reading a backslash or a control character the way browsers
    do."""
    if link.startswith(("#", "data:image/")):  # inline images of QR codes and badges
        return True
    if "\\" in link or any(ord(c) < 33 for c in link) or link.startswith("//"):
        return False
    parts = urlsplit(link)
    if not parts.scheme and not parts.netloc:
        return True
    return parts.scheme in ("http", "https") and parts.hostname in ("localhost", "lca.example.org")


def _pages_of(permission_matrix, actor):
    return sorted(
        endpoint
        for (endpoint, method), who in permission_matrix.rows.items()
        if method == "GET" and who[actor] == permission_matrix.OK
    )


@pytest.mark.parametrize("actor", ["admin", "instructor", "learner", "anonymous"])
def test_query_keys_named_like_url_for_parameters_break_no_page_and_no_link(
    app, client, login, world, url_arguments, permission_matrix, actor
):
    """Every page the visitor may open, with every such key at once: an answer below 500,
    and no link, form action or redirect that leaves the site or changes its scheme."""
    if world[actor] is not None:
        login(world[actor])
    checked = 0
    for endpoint in _pages_of(permission_matrix, actor):
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        with app.test_request_context():
            from flask import url_for

            url = url_for(endpoint, **{name: url_arguments[name] for name in rule.arguments})
        plain = client.get(url)
        response = client.get(url, query_string=HOSTILE_KEYS)
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code in (301, 302, 303, 307, 308):
            assert _stays_on_site(response.headers["Location"]), (url, response.headers)
        if response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            off_site = {link for link in _links(page) if not _stays_on_site(link)}
            # the page's own links elsewhere (a LinkedIn share link) are as without the keys
            usual = {link for link in _links(plain.get_data(as_text=True))}
            assert off_site <= usual, (url, off_site - usual)
            checked += 1
    assert checked > 3


def test_the_audit_page_carries_only_its_own_filters_into_its_links(admin_client, db):
    page = admin_client.get(
        "/admin/audit",
        query_string={"action": "auth.login", "endpoint": "admin.index", "_external": "1"},
    ).get_data(as_text=True)
    exports = [link for link in _links(page) if "/admin/audit." in link]
    assert exports and all(link.startswith("/admin/audit.") for link in exports)
    assert all("action=auth.login" in link and "endpoint" not in link for link in exports)


# ----------------------------------------------------------------- cookies


def _cookie_header(name: str, value: str) -> dict[str, str]:
    # a header as a browser (or a tool) sends it: the value's bytes as they are
    return {"Cookie": f"{name}={value.encode().decode('latin-1')}"}


REMEMBER_VALUES = [
    "garbage",
    "1|2",
    "|",
    "a|b|c",
    "x" * 3000,
    "ไทย|ไทย",
    "abc|ไทย",
    '"\\377\\377|x"',
    "\x00|\x00",
    "%00|%ff",
]


@pytest.mark.parametrize("value", REMEMBER_VALUES, ids=range(len(REMEMBER_VALUES)))
def test_a_malformed_remember_me_cookie_is_not_a_sign_in(app, db, value):
    browser = app.test_client(use_cookies=False)  # the header goes as it is
    headers = _cookie_header(app.config["REMEMBER_COOKIE_NAME"], value)
    response = browser.get("/account", headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert browser.get("/", headers=headers).status_code == 200


@pytest.mark.parametrize("payload", ["x" * 3000, "ไทย", "{}", "1", "\x00", "%ff"])
def test_a_well_signed_remember_me_cookie_of_no_session_is_not_a_sign_in(app, db, payload):
    with app.test_request_context():
        value = encode_cookie(payload)
    browser = app.test_client(use_cookies=False)
    headers = _cookie_header(app.config["REMEMBER_COOKIE_NAME"], value)
    response = browser.get("/account", headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


SESSION_CONTENTS = [
    {"_user_id": 123},
    {"_user_id": {"a": 1}},
    {"_user_id": ["x"]},
    {"_user_id": True},
    {"_user_id": 1.5},
    {"_user_id": "\udcff"},
    {"_user_id": "x" * 3000},
    {"_user_id": "ไทย"},
    {"_user_id": "abc", "_remember": "set", "_remember_seconds": "forever"},
    {"_flashes": "not a list"},
    {"_flashes": [["error"]]},
    {"lang": {"th": 1}},
    {"csrf_token": 5},
]


@pytest.mark.parametrize("contents", SESSION_CONTENTS, ids=range(len(SESSION_CONTENTS)))
def test_a_well_signed_session_cookie_with_strange_contents_is_not_a_sign_in(app, db, contents):
    """Contents LCA never writes, under a good signature (as if the key had leaked): the
    visitor is simply not signed in."""
    browser = app.test_client()
    with browser.session_transaction() as session:
        session.update(contents)
    response = browser.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert browser.get("/").status_code == 200
    assert browser.get("/login").status_code == 200


@pytest.mark.parametrize("value", ["garbage", "a.b.c", "e30.e30.e30", "ไทย", "." * 3000])
def test_a_malformed_session_cookie_is_not_a_sign_in(app, db, value):
    browser = app.test_client(use_cookies=False)
    headers = _cookie_header(app.config["SESSION_COOKIE_NAME"], value)
    response = browser.get("/account", headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ----------------------------------------------------------------- crafted paths and next=

#: paths (as the server hands them to LCA, decoded) that a careless link would turn into one
#: to another host
HOSTILE_PATHS = [
    "/\\evil.example",
    "/\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/ /evil.example",
    "//evil.example",
    "///evil.example",
    "/\\/evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/\x0b/evil.example",
    "/ไทย\\evil.example",
]


def _wsgi(path: str) -> str:
    """A path as a WSGI server hands it over: its UTF-8 bytes as Latin-1 characters."""
    return path.encode().decode("latin-1")


def _language_links(page: str) -> list[str]:
    return [unescape(link) for link in re.findall(r'href="([^"]*lang=[^"]*)"', page)]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=range(len(HOSTILE_PATHS)))
def test_the_language_switch_on_a_crafted_path_stays_on_the_site(client, db, path):
    response = client.get("/", environ_overrides={"PATH_INFO": _wsgi(path)})
    assert response.status_code == 404
    links = _language_links(response.get_data(as_text=True))
    assert links, "the 404 page has its language switch"
    for link in links:
        assert _stays_on_site(link) and link.startswith("/") and link[1:2] not in "/\\", link


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=range(len(HOSTILE_PATHS)))
def test_saving_the_language_of_a_crafted_path_redirects_on_the_site(client, login, db, path):
    """A signed-in person's ``?lang=`` is saved, then the same page is shown without it."""
    login(LearnerFactory(preferred_language="th"))
    response = client.get(
        "/", environ_overrides={"PATH_INFO": _wsgi(path), "QUERY_STRING": "lang=en&a=1"}
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert _stays_on_site(location) and location[1:2] not in "/\\", location


HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/%2F%2Fevil.example",
    "/%2f%2fevil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%255Cevil.example",
    "/%0D%0ALocation:%20https://evil.example",
    "javascript:alert(1)",
    "/javascript:alert(1)%0A",
    " /evil",
    "/\x00",
    "http:/evil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT, ids=range(len(HOSTILE_NEXT)))
def test_next_after_signing_in_never_leaves_the_site(client, db, target):
    LearnerFactory(email="next@example.org")
    response = client.post(
        "/login",
        data={"email": "next@example.org", "password": PASSWORD},
        query_string={"next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/learner"


@pytest.mark.parametrize("target", ["/account", "/curriculum?x=1", "/cohorts/3#top", "/ไทย"])
def test_next_to_a_page_of_the_site_is_followed(client, db, target):
    LearnerFactory(email="next@example.org")
    response = client.post(
        "/login",
        data={"email": "next@example.org", "password": PASSWORD},
        query_string={"next": target},
    )
    assert unquote(response.headers["Location"]) == target


# ----------------------------------------------------------------- one limit for look-ups


def test_certificate_look_ups_share_one_limit_over_every_route(app, client, db, monkeypatch):
    """Five look-ups allowed: spread over the page, PDF, JSON, JWT, wallet file, badge, form
    and the file check, the sixth (whatever its route) is refused; another address is not."""
    monkeypatch.setitem(app.config, "LCA_VERIFY_RATE_LIMIT", "5 per minute")
    code = CertificateFactory().code
    address = {"REMOTE_ADDR": "198.51.100.77"}
    routes = [
        f"/verify/{code}",
        f"/verify/{code}/certificate.pdf",
        f"/verify/{code}/credential.json",
        f"/verify/{code}/credential.jwt",
        f"/verify?code={code}",
    ]
    answers = [client.get(url, environ_base=address).status_code for url in routes]
    assert 429 not in answers, answers
    refused = [
        client.get(f"/verify/{code}/wallet.json", environ_base=address).status_code,
        client.get(f"/verify/{code}/badge.png", environ_base=address).status_code,
        client.get(f"/verify/{code}/badge.svg", environ_base=address).status_code,
        client.get(f"/verify/{code}", environ_base=address).status_code,
        client.post("/verify/check", data={}, environ_base=address).status_code,
    ]
    assert refused == [429] * 5
    elsewhere = client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "198.51.100.78"})
    assert elsewhere.status_code == 200


# ----------------------------------------------------------------- identical POSTs at once


@pytest.fixture(scope="module")
def race_app(new_database, make_app, tmp_path_factory):
    """An app on a database of its own, whose transactions commit for real, as in production
    (what the races leave behind stays there)."""
    real = make_app(new_database("lca_hostile_races"), tmp_path_factory.mktemp("race-data"))
    with real.app_context():
        generate_keys()
        _db.session.commit()
    yield real
    with real.app_context():
        _db.engine.dispose()


def _admin_browsers(app, login_on, count: int) -> list:
    browsers = []
    with app.app_context():
        for _ in range(count):
            browser = app.test_client()
            login_on(browser, AdminFactory())
            browsers.append(browser)
        _db.session.commit()
    return browsers


def _refusal(browser, response, flashes, field_error) -> str:
    """What the person is told: the page's field errors and flashes (after a redirect, those
    of the page it leads to)."""
    if response.status_code == 302:
        response = browser.get(response.headers["Location"])
    page = response.get_data(as_text=True)
    errors = re.findall(r'id="([\w-]+)-error"', page)
    return " | ".join([*flashes(page), *(field_error(page, name) for name in errors)])


def _post_together(browsers, url: str, data: dict) -> list:
    """The same POST from each browser, released at the same moment; the responses (or what
    went wrong, for the assertion to show)."""
    barrier, answers = threading.Barrier(len(browsers)), [None] * len(browsers)

    def send(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            answers[number] = browsers[number].post(url, data=data)
        except Exception:  # reported by the test's assertion
            answers[number] = traceback.format_exc()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def _race(race_app, login_on, flashes, field_error, url, data, won, runners=3):
    """``runners`` identical POSTs at once: one wins (``won(response)``), the others get the
    message a fourth, sent afterwards, gets."""
    browsers = _admin_browsers(race_app, login_on, runners + 1)
    answers = _post_together(browsers[:runners], url, data)
    crashed = [a for a in answers if not hasattr(a, "status_code") or a.status_code >= 500]
    assert crashed == [], crashed
    winners = [n for n, a in enumerate(answers) if won(a)]
    assert len(winners) == 1, [a.status_code for a in answers]
    later = browsers[runners].post(url, data=data)
    expected = _refusal(browsers[runners], later, flashes, field_error)
    assert expected
    for number, answer in enumerate(answers):
        if number not in winners:
            assert _refusal(browsers[number], answer, flashes, field_error) == expected


def _count(app, query) -> int:
    with app.app_context():
        return _db.session.scalar(query)


def test_identical_new_cities_at_once_make_one_city(race_app, login_on, flashes, field_error):
    data = {"name_th": "เมืองแข่งกัน", "name_en": "Race Town", "gnlc_joined_year": "2567"}
    _race(
        race_app,
        login_on,
        flashes,
        field_error,
        "/admin/cities/new",
        data,
        won=lambda a: a.status_code == 302,
    )
    assert _count(race_app, select(func.count()).where(City.name_en == "Race Town")) == 1


def test_identical_new_cohorts_at_once_make_one_cohort(race_app, login_on, flashes, field_error):
    with race_app.app_context():
        city = _db.session.scalar(select(City.id).order_by(City.id).limit(1))
    data = {
        "code": "ca-race-01",
        "host_city_id": str(city),
        "starts_on": "2026-06-01",
        "ends_on": "2026-12-31",
        "field_starts_on": "2026-07-01",
        "field_window_months": "6",
    }
    _race(
        race_app,
        login_on,
        flashes,
        field_error,
        "/cohorts/new",
        data,
        won=lambda a: a.status_code == 302,
    )
    assert _count(race_app, select(func.count()).where(Cohort.code == "CA-RACE-01")) == 1


def test_identical_certificate_issues_at_once_make_one_certificate(
    race_app, login_on, flashes, field_error
):
    """Every answer redirects to the cohort page: the winner's says the certificate has been
    issued, the others' what a later issue of the same learner's says."""
    with race_app.app_context():
        enrolment = eligible_enrolment()
        _db.session.commit()
        enrolment_id = enrolment.id
    url = f"/enrolments/{enrolment_id}/certificate"
    browsers = _admin_browsers(race_app, login_on, 4)
    answers = _post_together(browsers[:3], url, {"language": "both"})
    assert [getattr(a, "status_code", a) for a in answers] == [302] * 3, answers
    said = [_refusal(b, a, flashes, field_error) for b, a in zip(browsers, answers, strict=False)]
    later = browsers[3].post(url, data={"language": "both"})
    expected = _refusal(browsers[3], later, flashes, field_error)
    assert expected and said.count(expected) == 2, (said, expected)
    query = select(func.count()).where(Certificate.enrolment_id == enrolment_id)
    assert _count(race_app, query) == 1


def test_identical_enrolments_at_once_make_one_enrolment(race_app, login_on, flashes, field_error):
    with race_app.app_context():
        cohort = _db.session.scalar(select(Cohort).where(Cohort.code == "CA-RACE-01"))
        if cohort is None:  # this test alone
            from tests.factories import CohortFactory

            cohort = CohortFactory()
        learner = LearnerFactory()
        _db.session.commit()
        cohort_id, email, learner_id = cohort.id, learner.email, learner.id
    _race(
        race_app,
        login_on,
        flashes,
        field_error,
        f"/cohorts/{cohort_id}/enrolments",
        {"email": email},
        won=lambda a: a.status_code == 302,
    )
    query = select(func.count()).where(
        Enrolment.cohort_id == cohort_id, Enrolment.learner_id == learner_id
    )
    assert _count(race_app, query) == 1


def test_identical_new_accounts_at_once_make_one_account(race_app, login_on, flashes, field_error):
    data = {
        "email": "race@example.org",
        "full_name_th": "นางสาวแข่ง พร้อมกัน",
        "full_name_en": "Race Together",
        "role": "learner",
        "city_id": "0",
        "preferred_language": "th",
    }
    _race(
        race_app,
        login_on,
        flashes,
        field_error,
        "/admin/users/new",
        data,
        won=lambda a: (
            a.status_code == 200
            and "race@example.org" in a.get_data(as_text=True)
            and "error-message" not in a.get_data(as_text=True)
        ),
    )
    query = select(func.count()).where(User.email == "race@example.org")
    assert _count(race_app, query) == 1


def test_identical_attendance_at_once_marks_each_learner_once(
    race_app, login_on, flashes, field_error
):
    """The roll of a class session saved by two people at once: each learner is marked and
    credited once; the other save reads as saving the same marks again."""
    from lca.models import Attendance, HourLog
    from tests.factories import ClassSessionFactory, EnrolmentFactory

    with race_app.app_context():
        first = EnrolmentFactory()
        second = EnrolmentFactory(cohort=first.cohort)
        session = ClassSessionFactory(cohort=first.cohort)
        _db.session.commit()
        session_id, enrolments = session.id, [first.id, second.id]
    browsers = _admin_browsers(race_app, login_on, 3)
    page = browsers[0].get(f"/sessions/{session_id}/attendance").get_data(as_text=True)
    rows = re.findall(r'name="(marks-\d+)-enrolment_id" type="hidden" value="(\d+)"', page)
    assert sorted(int(e) for _p, e in rows) == enrolments
    data = {}
    for prefix, enrolment_id in rows:
        data |= {f"{prefix}-enrolment_id": enrolment_id, f"{prefix}-status": "present"}
    url = f"/sessions/{session_id}/attendance"
    answers = _post_together(browsers[:2], url, data)
    assert [getattr(a, "status_code", a) for a in answers] == [302, 302], answers
    said = [_refusal(b, a, flashes, field_error) for b, a in zip(browsers, answers, strict=False)]
    again = _refusal(browsers[2], browsers[2].post(url, data=data), flashes, field_error)
    assert said.count(again) == 1, (said, again)
    assert "บันทึกใหม่ 2 คน" in next(s for s in said if s != again)  # the first save's answer
    marked = select(func.count()).where(Attendance.class_session_id == session_id)
    credited = select(func.count()).where(HourLog.class_session_id == session_id)
    assert (_count(race_app, marked), _count(race_app, credited)) == (2, 2)
