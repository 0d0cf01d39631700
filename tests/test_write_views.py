"""One way to write: every view that changes something goes through ``lca.web.pages.perform``
(service, one commit, message, redirect; a refusal undone and shown next to its field), and no
view module commits or catches a rule error itself."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
from flask import get_flashed_messages
from sqlalchemy import select
from wtforms import StringField

from lca.core.errors import RuleError
from lca.models import Attendance, AuditEvent, City, HourLog, User
from lca.web.forms import BaseForm
from lca.web.pages import perform
from tests.factories import (
    AdminFactory,
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    InstructorFactory,
    LearnerFactory,
    count_rows,
)

ROOT = Path(__file__).resolve().parent.parent
VIEW_MODULES = sorted([*ROOT.glob("lca/*/views.py"), *ROOT.glob("lca/*/*_views.py")])
#: where a commit may be written: the write helper, the server-side session store (the
#: user loader ends an expired session or notes its last activity before any view runs), the
#: worker's delivery (a claim, then each message's outcome, committed on its own; never in a
#: request), and the operators' commands
MAY_COMMIT = {"lca/web/pages.py", "lca/auth/sessions.py", "lca/notifications/delivery.py"}


class NameForm(BaseForm):
    name = StringField("Name")


def _new_city(code: str) -> City:
    city = City(code=code, name_th=f"เมือง {code}", name_en=f"Town {code}")
    from lca.core.db import db

    db.session.add(city)
    db.session.flush()
    return city


def _city(db, code: str) -> City | None:
    return db.session.scalar(select(City).where(City.code == code))


def test_a_refused_write_is_undone_and_its_message_is_next_to_its_field(app, db):
    with app.test_request_context("/", method="POST", data={"name": "x"}):
        form = NameForm()

        def write():
            _new_city("refused-town")  # written, then the rule refuses
            raise RuleError("This name is taken.", field="name")

        answer = perform(write, form=form, fail=lambda: "the form again", then="/done")
        assert answer == "the form again"
        assert form.name.errors == ["This name is taken."]
        assert get_flashed_messages() == []
    assert _city(db, "refused-town") is None


def test_a_refusal_without_a_field_is_shown_on_top_and_redirects(app, db):
    with app.test_request_context("/", method="POST"):
        form = NameForm()

        def write():
            _new_city("refused-too")
            raise RuleError("Not now.")

        answer = perform(write, form=form, done="Saved.", then="/done", fail="/back")
        assert (answer.status_code, answer.location) == (302, "/back")
        assert get_flashed_messages(with_categories=True) == [("error", "Not now.")]
        assert not form.name.errors
    assert _city(db, "refused-too") is None


def test_a_write_commits_once_says_so_and_redirects(app, db, monkeypatch):
    commits = []
    real_commit = db.session.commit
    monkeypatch.setattr(db.session, "commit", lambda: (commits.append(1), real_commit()))
    with app.test_request_context("/", method="POST"):
        answer = perform(
            lambda: _new_city("kept-town"),
            done=lambda city: f"{city.code} added.",
            then=lambda city: f"page of {city.code}",
            fail="/",
        )
        assert answer == "page of kept-town"
        assert get_flashed_messages(with_categories=True) == [("success", "kept-town added.")]
    assert commits == [1]
    assert _city(db, "kept-town") is not None


def test_a_refusal_worth_keeping_is_committed(app, db):
    """A failed sign-in: the rule refuses, and the audit of the attempt stays."""
    with app.test_request_context("/login", method="POST"):
        form = NameForm()

        def write():
            _new_city("kept-refusal")
            raise RuleError("Wrong password.")

        answer = perform(write, form=form, keep_refused=True, fail=lambda: "again", then="/")
        assert answer == "again"
        assert get_flashed_messages() == ["Wrong password."]
    assert _city(db, "kept-refusal") is not None


def test_a_batch_keeps_each_step_done_and_undoes_each_step_refused(app, db):
    def steps():
        for code in ("batch-1", "batch-2", "batch-3"):
            _new_city(code)
            yield code, code != "batch-2"  # the second one is refused

    with app.test_request_context("/", method="POST"):
        answer = perform(steps, each=lambda step: step[1], then=list, fail="/")
        assert answer == [("batch-1", True), ("batch-2", False), ("batch-3", True)]
    assert [_city(db, c) is not None for c in ("batch-1", "batch-2", "batch-3")] == [
        True,
        False,
        True,
    ]


def test_a_page_sent_back_needs_somewhere_to_go_on_refusal(app):
    with app.test_request_context("/"), pytest.raises(TypeError):
        perform(lambda: None, then=lambda _result: "a page")


def test_a_view_refused_half_way_writes_nothing(client, login, db, flashes):
    """The roll's first learner is recorded, then a stranger on the form is refused: the whole
    roll is undone and the message shown."""
    instructor = InstructorFactory()
    cohort = CohortFactory(instructors=[instructor])
    learner = EnrolmentFactory(cohort=cohort)
    stranger = EnrolmentFactory()
    session = ClassSessionFactory(cohort=cohort)
    login(instructor)
    data = {
        "marks-0-enrolment_id": str(learner.id),
        "marks-0-status": "present",
        "marks-1-enrolment_id": str(stranger.id),
        "marks-1-status": "present",
    }
    response = client.post(f"/sessions/{session.id}/attendance", data=data)
    assert response.status_code == 200
    assert "มีรายชื่อในแบบฟอร์มที่ไม่ใช่ผู้เรียนของรุ่นนี้" in "".join(flashes(response.get_data(as_text=True)))
    assert (count_rows(Attendance), count_rows(HourLog)) == (0, 0)


def test_a_view_shows_a_refusal_next_to_its_field_and_writes_nothing(
    client, admin, db, field_error
):
    taken = LearnerFactory()
    users, events = count_rows(User), count_rows(AuditEvent)
    page = client.post(
        "/admin/users/new",
        data={"email": taken.email.upper(), "full_name_th": "ใหม่", "role": "learner"},
    ).get_data(as_text=True)
    assert field_error(page, "email") == "อีเมลนี้มีผู้ใช้แล้ว"
    assert (count_rows(User), count_rows(AuditEvent)) == (users, events)


def test_choosing_a_language_signed_in_saves_it_once_then_shows_the_page(client, login, db):
    user = LearnerFactory(preferred_language="th")
    login(user)
    response = client.get("/curriculum?page=2&lang=en")
    assert (response.status_code, response.location) == (303, "/curriculum?page=2")
    db.session.refresh(user)
    assert user.preferred_language == "en"
    again = client.get("/curriculum?lang=en")  # already the preference: just the page
    assert again.status_code == 200 and '<html lang="en">' in again.get_data(as_text=True)


def test_choosing_a_language_anonymously_only_keeps_it_for_the_visit(client, db):
    events = count_rows(AuditEvent)
    response = client.get("/curriculum?lang=en")
    assert response.status_code == 200 and '<html lang="en">' in response.get_data(as_text=True)
    assert '<html lang="en">' in client.get("/curriculum").get_data(as_text=True)
    assert count_rows(AuditEvent) == events


def test_a_language_in_a_form_post_is_not_saved_by_a_request_hook(client, login, db):
    user = AdminFactory(preferred_language="th")
    login(user)
    response = client.post("/logout?lang=en")
    assert response.status_code == 302  # the view answered, no language redirect first
    db.session.refresh(user)
    assert user.preferred_language == "th"


def _catches(handler: ast.ExceptHandler, names: set[str]) -> bool:
    if handler.type is None:
        return False
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(k, ast.Name) and k.id in names)
        or (isinstance(k, ast.Attribute) and k.attr in names)
        for k in kinds
    )


@cache
def _rule_errors() -> frozenset[str]:
    """RuleError and the names of its subclasses anywhere in lca (ImportFileError…)."""
    names, found = {"RuleError", "StaleDataError"}, True
    trees = [ast.parse(p.read_text()) for p in ROOT.glob("lca/**/*.py")]
    while found:
        found = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {getattr(b, "id", getattr(b, "attr", None)) for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        found = True
    return frozenset(names)


def _is_commit(node: ast.AST) -> bool:
    """``….session.commit`` (``db.session.commit``, ``self.db.session.commit``…)."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "commit"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "session"
    )


def test_the_view_modules_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in VIEW_MODULES}
    assert {"lca/auth/views.py", "lca/hours/review_views.py", "lca/admin/views.py"} <= names


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_view_commits_or_catches_a_rule_error_itself(path):
    """Writes go through ``perform``: a view never commits, nor handles a refusal (or a
    stale-version conflict) on its own."""
    rule_errors = _rule_errors()
    tree = ast.parse(path.read_text())
    bypasses = []
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        for node in ast.walk(function):
            if _is_commit(node):
                bypasses.append(f"{function.name}, line {node.lineno}: commits")
            if isinstance(node, ast.Try) and any(_catches(h, rule_errors) for h in node.handlers):
                bypasses.append(f"{function.name}, line {node.lineno}: catches a rule error")
    assert bypasses == [], "use lca.web.pages.perform:\n" + "\n".join(bypasses)


def test_only_the_write_helper_and_the_session_store_commit():
    committing = set()
    for path in ROOT.glob("lca/**/*.py"):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith("lca/ops/") or name in MAY_COMMIT:
            continue
        if any(_is_commit(node) for node in ast.walk(ast.parse(path.read_text()))):
            committing.add(name)
    assert committing == set()
