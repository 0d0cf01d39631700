"""Fixtures: the app on a real database (SQLite file or a throwaway PostgreSQL), each test in a
transaction that is rolled back, a client, a ``login`` helper and a statement counter."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event

from lca import create_app
from lca.core.db import db as _db
from lca.ops.seeding import seed_all
from tools.instances import PostgresUnavailable, ThrowawayPostgres

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("LCA_TEST_BACKEND", "sqlite"),
        help="the database engine the suite runs on",
    )


def pytest_report_header(config):
    return f"LCA database backend: {config.getoption('--backend')}"


def unavailable(reason: str):
    """A missing real component: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the suite must not skip it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--backend")


@pytest.fixture(scope="session")
def postgres_server(backend) -> Iterator[ThrowawayPostgres | None]:
    if backend != "postgresql":
        yield None
        return
    try:
        server = ThrowawayPostgres().start()
    except PostgresUnavailable as error:
        unavailable(str(error))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def new_database(backend, postgres_server, tmp_path_factory):
    """Make an empty database of the chosen engine and return its URL."""

    def make(name: str) -> str:
        if postgres_server is not None:
            return postgres_server.create_database(name)
        return f"sqlite:///{tmp_path_factory.mktemp('db') / (name + '.sqlite3')}"

    return make


def make_app(database_url: str, data_dir, **overrides):
    """An LCA app in testing mode on ``database_url``, migrated and seeded."""
    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "LCA_DATA_DIR": data_dir,
            **overrides,
        }
    )
    with app.app_context():
        upgrade()
        seed_all()
        _db.session.commit()
        _db.session.remove()
    return app


def _sqlite_real_transactions(engine) -> None:
    """Let pysqlite run real BEGIN/SAVEPOINT so each test can be rolled back (SQLAlchemy recipe)."""

    @event.listens_for(engine, "connect")
    def no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def explicit_begin(connection):
        connection.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def app(new_database, tmp_path_factory):
    app = make_app(new_database("lca_test"), tmp_path_factory.mktemp("data"))
    with app.app_context():
        engine = _db.engine
        if engine.dialect.name == "sqlite":
            engine.dispose()
            _sqlite_real_transactions(engine)
        _db.session.configure(join_transaction_mode="create_savepoint")
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app) -> Iterator:
    """The database, inside a transaction rolled back after the test; commits become savepoints."""
    with app.app_context():
        engines = _db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection
        try:
            yield _db
        finally:
            _db.session.remove()
            engines[None] = engine
            transaction.rollback()
            connection.close()


class IsolatedClient(FlaskClient):
    """Each request in an application context of its own, as in production: its own ``g`` and
    its own database session (on the test's connection), not the test's."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # read the whole body and close what it streamed
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def login(client):
    """``login(user)`` signs ``user`` in on ``client`` as Flask-Login would."""

    def sign_in(user) -> None:
        from lca.auth.sessions import start_session

        token = start_session(user)
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True

    return sign_in


@pytest.fixture
def admin(client, login):
    """An administrator, signed in on ``client``."""
    from tests.factories import AdminFactory

    user = AdminFactory()
    login(user)
    return user


class StatementCounter:
    IGNORED = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)", re.IGNORECASE)

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement, *_args) -> None:
        if not self.IGNORED.match(statement):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(app, db):
    """``with count_statements() as counter: …`` counts the SQL statements run inside."""
    from contextlib import contextmanager

    engine = db.engines[None].engine

    @contextmanager
    def counting():
        counter = StatementCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


def pytest_terminal_summary(terminalreporter):
    """How many hostile examples the fuzz tests ran (tests/test_fuzz.py)."""
    fuzz = sys.modules.get("test_fuzz") or sys.modules.get("tests.test_fuzz")
    if fuzz is not None and fuzz.RAN:
        terminalreporter.write_line(
            f"fuzzing: {sum(fuzz.RAN.values())} hostile examples over {len(fuzz.RAN)} routes"
        )
