"""Fuzzing every route with hostile input (hypothesis): never a server error, and a request that
is refused leaves the database exactly as it was.

Each route is posted or fetched by the person it is meant for, with values drawn from hostile
strategies: random Unicode, control and invisible characters, Thai combining marks alone, huge
strings, SQL, template and markup syntax, numbers out of every range, impossible dates, fields
missing or repeated or unknown, random files, and in the URL other people's ids, ids that do
not exist and ids beyond what the database can store.

``LCA_FUZZ_EXAMPLES`` sets the examples per route (default 20); the run's total is printed at
the end of the session.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

pytestmark = pytest.mark.fuzz  # `pytest -m "not fuzz"` leaves these out (make test keeps them)

EXAMPLES = int(os.environ.get("LCA_FUZZ_EXAMPLES", "20"))
RAN: dict[str, int] = {}  #: examples run per route, for the session's summary

#: successful POSTs that answer 200 with a page (a one-time password, a preview, a stream, an
#: unsubscribe's confirmation)
WRITES_ON_200 = {
    "admin.new_user",
    "admin.reset",
    "admin.preview_import",
    "admin.confirm_import",
    "certificates.issue_all",
    "notifications.unsubscribe",
}
#: a refused sign-in is audited, on purpose; so is a wrong current password (and after too
#: many, the session ends)
AUDITED_REFUSALS = {
    "auth.login": {"audit_events"},
    "auth.password": {"audit_events", "user_sessions"},
    "auth.sign_out_everywhere": {"audit_events", "user_sessions"},
    "auth.end_one_session": {"audit_events", "user_sessions"},
    "auth.confirm_password": {"audit_events", "user_sessions"},  # before a second-factor change
    # a wrong second-step code is audited (second_factor.failed)
    "auth.second_step": {"audit_events"},
    "auth.recovery_step": {"audit_events"},
}
#: the second step's forms are fuzzed by a sign-in that waits for them (an instructor whose
#: password was right), so that the codes are checked rather than sent back to the password
WAITING_FOR_SECOND_STEP = {"auth.second_step", "auth.recovery_step"}

#: the vowel signs and tone marks written above or below a consonant, here alone
THAI_MARKS = "\u0e31" + "".join(map(chr, [*range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)]))
NASTY = [
    "' OR '1'='1",
    "1; DROP TABLE users; --",
    "1 UNION SELECT password_hash FROM users",
    '"; SELECT pg_sleep(5); --',
    "{{ 7*7 }}",
    "{% for x in range(9999999) %}{% endfor %}",
    "${7*7}",
    "%(name)s %s %d {0}",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "../../../../etc/passwd",
    "\x00",
    "\u202e\u200b\ufeff",
    "๏" * 3,
    "-1",
    "0",
    "1e309",
    "NaN",
    "Infinity",
    str(2**31),
    str(2**63),
    "9" * 40,
    "2569-02-30",
    "0000-00-00",
    "9999-12-31",
    "2026-13-01",
    "25:61",
    "true",
    "[]",
    "{}",
]


class Huge(str):
    """A very long value that reports itself briefly when an example fails."""

    def __repr__(self) -> str:
        return f"Huge({self[0]!r} * {len(self)})"


hostile_text = st.one_of(
    st.text(max_size=60),
    st.text(
        alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), min_size=1, max_size=20
    ),
    st.text(alphabet=THAI_MARKS, min_size=1, max_size=12),
    st.text(max_size=20).map(lambda text: f"{text}\x00{text}"),  # PostgreSQL refuses NUL
    st.sampled_from(NASTY),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.sampled_from([Huge("x" * 70_000), Huge("ก" * 20_000), Huge("\u0e48" * 5_000)]),
)


def _fields_of(page: str) -> tuple[list[str], list[str]]:
    """The names of a page's form fields, and of its file inputs."""
    names = sorted(set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', page)))
    files = sorted(set(re.findall(r'<input[^>]*type="file"[^>]*name="([^"]+)"', page)))
    files += sorted(set(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="file"', page)))
    return [n for n in names if n != "csrf_token" and n not in files], sorted(set(files))


def every_form_field() -> list[str]:
    """The field names of every form class of the app, for routes without a form page."""
    from wtforms.fields.core import UnboundField

    from lca.web.forms import BaseForm

    names, classes = set(), [BaseForm]
    while classes:
        form_class = classes.pop()
        classes.extend(form_class.__subclasses__())
        names |= {
            name for name in dir(form_class) if isinstance(getattr(form_class, name), UnboundField)
        }
    return sorted(names)


def _actor(who: dict, ok: str) -> str:
    """The route's own user: the most privileged kind for whom it is meant."""
    return next(a for a in ("admin", "instructor", "learner", "anonymous") if who[a] == ok)


def _wait_for_second_step(client, user) -> None:
    """A sign-in of ``user`` (given an authenticator app) waiting for its second step, as
    after a right password (lca/auth/second_step.py keeps it in the session)."""
    from tests.factories import with_authenticator_app

    with_authenticator_app(user)
    with client.session_transaction() as session:
        session["second_step"] = {
            "user": user.id,
            "remember": False,
            "next": None,
            "at": int(time.time()),
        }


def _rule(app, endpoint):
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)


def _id_pool(world, url_arguments) -> list:
    """Ids to put in a URL: every object of the world (its own and other people's), and ids
    that do not exist or do not fit the database."""
    own = {value for value in url_arguments.values() if isinstance(value, int)}
    others = {obj.id for obj in world.values() if hasattr(obj, "id")}
    return sorted(own | others | {0, 1, 999_999, 2**31 - 1, 2**31, 2**63, 10**30})


def fingerprint(db) -> dict[str, str]:
    """A digest of every row of every table."""
    digests = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def test_hostile_input_never_breaks_a_route(
    app, client, login, db, world, url_arguments, permission_matrix, usable_route
):
    """Every route someone may use (``usable_route``, from the permission matrix)."""
    route = endpoint, method = usable_route
    who = _actor(permission_matrix.rows[route], permission_matrix.OK)
    if endpoint in WAITING_FOR_SECOND_STEP:  # not signed in yet: the password was right
        _wait_for_second_step(client, world["instructor"])
    elif world[who] is not None:
        login(world[who])
    rule = _rule(app, endpoint)
    good = {name: url_arguments[name] for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        page_url = url_for(endpoint, **good)
    form_page = client.get(page_url) if "GET" in rule.methods else None
    fields, files = (
        _fields_of(form_page.get_data(as_text=True))
        if form_page is not None
        and form_page.status_code == 200
        and form_page.content_type.startswith("text/html")
        else ([], [])
    )
    fields = fields or every_form_field()
    ids = _id_pool(world, url_arguments)

    url_argument = {
        name: (
            st.sampled_from(ids)
            if isinstance(value, int)
            else st.one_of(st.just(value), hostile_text.filter(bool))
        )
        for name, value in good.items()
    }
    values = st.lists(st.one_of(hostile_text, st.sampled_from(ids).map(str)), max_size=3)
    form = st.dictionaries(
        st.one_of(st.sampled_from(fields), st.sampled_from(["x", "id", "cohort_id", "role"])),
        values,
        max_size=len(fields) + 2,
    )
    uploads = st.dictionaries(
        st.sampled_from(files or ["files"]),
        st.lists(st.tuples(st.binary(max_size=2048), hostile_text), max_size=2),
        max_size=1 if files else 0,
    )

    @FUZZ_SETTINGS
    @given(arguments=st.fixed_dictionaries(url_argument), data=form, sent_files=uploads)
    def attempt(arguments, data, sent_files):
        url = rule.build(arguments, append_unknown=False)[1]
        RAN[endpoint] = RAN.get(endpoint, 0) + 1
        if method == "GET":
            response = client.get(url, query_string=[(k, v) for k, vs in data.items() for v in vs])
            assert response.status_code < 500, (url, data)
            return
        before = fingerprint(db)
        body = [(k, v) for k, vs in data.items() for v in vs]
        body += [
            (k, (io.BytesIO(content), name or "x"))
            for k, sent in sent_files.items()
            for content, name in sent
        ]
        response = client.open(url, method=method, data=_multidict(body))
        assert response.status_code < 500, (url, data)
        refused = response.status_code >= 400 or (
            response.status_code == 200 and endpoint not in WRITES_ON_200
        )
        if refused:
            after = fingerprint(db)
            changed = {t for t in before if before[t] != after[t]}
            assert changed <= AUDITED_REFUSALS.get(endpoint, set()), (url, data, changed)

    attempt()


def _multidict(pairs):
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)
