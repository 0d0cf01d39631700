"""Every limit counted once for all workers and servers: the counter table in the database
(``database://``, the default in production), its window arithmetic, the in-process counting
while a shared store cannot be reached, and the settings that refuse per-worker counting."""

from __future__ import annotations

import pytest
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import create_engine, text

from lca.core.config import ConfigError, load_config
from lca.web import rate_limits
from lca.web.extensions import limiter
from tests.factories import LearnerFactory
from tools.browser import Browser
from tools.instances import Gunicorn, flask, free_port, instance_env

WRONG = "อีเมลหรือรหัสผ่านไม่ถูกต้อง"
THROTTLED = "บัญชีนี้เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป"


# --- the counter table ------------------------------------------------------------------------


@pytest.fixture
def counters(new_database, tmp_path_factory):
    """A DatabaseStorage on a migrated database of the suite's engine, emptied afterwards."""
    url = new_database(f"lca_counters_{free_port()}")
    env = instance_env(url, tmp_path_factory.mktemp("data"), free_port())
    flask(env, "db", "upgrade")
    storage = rate_limits.DatabaseStorage("database://", url=url)
    yield storage
    storage.reset()
    storage.engine.dispose()


def test_the_counter_table_counts_windows(counters, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(rate_limits.time, "time", lambda: now[0])
    assert counters.check() is True
    assert [counters.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.incr("a", 60, amount=2) == 5
    assert counters.get("a") == 5 and counters.get("b") == 0
    assert counters.get_expiry("a") == 1_000_060.0
    now[0] += 59
    assert counters.incr("a", 60) == 6  # still the same window
    now[0] += 1
    assert counters.get("a") == 0  # the window has ended
    assert counters.incr("a", 60) == 1  # a new window, a new end
    assert counters.get_expiry("a") == 1_000_120.0
    counters.clear("a")
    assert counters.get("a") == 0


def test_long_expired_windows_are_removed_by_a_new_one(counters, monkeypatch):
    now = [2_000_000.0]
    monkeypatch.setattr(rate_limits.time, "time", lambda: now[0])
    counters.incr("old", 60)
    counters.incr("recent", 60)
    now[0] += 60 + rate_limits.KEEP_EXPIRED_SECONDS + 1  # "old" ended over an hour ago
    counters.incr("recent", 60)  # a new window, of another key
    with counters.engine.connect() as connection:
        keys = connection.execute(text("SELECT key FROM rate_limit_counters")).scalars().all()
    assert keys == ["recent"]


def test_the_limits_library_counts_a_limit_in_the_table(counters):
    counter = FixedWindowRateLimiter(counters)
    limit = parse("3 per 15 minutes")
    assert [counter.hit(limit, "sign-in", "x@example.org") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert counter.get_window_stats(limit, "sign-in", "x@example.org").remaining == 0
    assert counter.test(limit, "sign-in", "y@example.org") is True


def test_an_unreachable_database_fails_the_check():
    storage = rate_limits.DatabaseStorage(
        "database://", url="postgresql+psycopg://lca@127.0.0.1:1/none?connect_timeout=2"
    )
    assert storage.check() is False


# --- two servers, two workers each, one count ---------------------------------------------------


def _attempt(port: int, email: str) -> tuple[int, str]:
    """One wrong-password sign-in from a new browser, on a new connection."""
    browser = Browser(port, language="th")
    _status, _location, page = browser.request("GET", "/login")
    status, _location, page = browser.request(
        "POST",
        "/login",
        {"csrf_token": Browser.hidden(page, "csrf_token"), "email": email, "password": "guess"},
    )
    return status, page


def test_two_servers_count_each_limit_once_in_the_database(new_database, tmp_path):
    """Production's default store: 2 gunicorn servers of 2 workers each, one database."""
    url = new_database(f"lca_two_servers_{free_port()}")
    ports = [free_port(), free_port()]
    settings = {
        "LCA_LOGIN_ACCOUNT_RATE_LIMIT": "10 per 15 minutes",
        "LCA_LOGIN_RATE_LIMIT": "1000 per minute",
        "LCA_VERIFY_RATE_LIMIT": "6 per minute",
    }
    env = instance_env(url, tmp_path / "data", ports[0], **settings)
    flask(env, "db", "upgrade")
    servers = []
    try:
        for number, port in enumerate(ports):
            server_env = {**env, "LCA_PUBLIC_URL": f"http://127.0.0.1:{port}"}
            servers.append(Gunicorn(server_env, port, tmp_path / f"server-{number}.log", workers=2))
        for server in servers:
            server.wait_ready()
        answers = [_attempt(ports[n % 2], "target@example.org") for n in range(14)]
        assert [status for status, _page in answers] == [200] * 10 + [429] * 4
        assert all(WRONG in page for _status, page in answers[:10])
        assert all(THROTTLED in page for _status, page in answers[10:])
        # another account is not held up by the first one's count
        assert _attempt(ports[1], "bystander@example.org")[0] == 200

        looked_up = [
            Browser(ports[n % 2]).request("GET", "/verify/LCA-0000-0000")[0] for n in range(9)
        ]
        assert looked_up == [404] * 6 + [429] * 3  # no such certificate, then the limit
        engine = create_engine(url)
        with engine.connect() as connection:
            keys = connection.execute(text("SELECT key FROM rate_limit_counters")).scalars()
            assert any("target@example.org" in key for key in keys)
        engine.dispose()
    finally:
        for server in servers:
            server.stop()


# --- a shared store that cannot be reached -------------------------------------------------------


@pytest.fixture
def lost_redis(monkeypatch):
    """The limiter's store as a Redis nobody answers at (a closed port)."""
    storage = RedisStorage(
        f"redis://127.0.0.1:{free_port()}/0",
        wrap_exceptions=True,
        socket_connect_timeout=1,
        socket_timeout=1,
    )
    monkeypatch.setattr(limiter, "_storage", storage)
    monkeypatch.setattr(limiter, "_limiter", FixedWindowRateLimiter(storage))
    monkeypatch.setattr(limiter, "_storage_dead", False)
    monkeypatch.setattr(
        rate_limits, "_fallback", FixedWindowRateLimiter(rate_limits.MemoryStorage())
    )
    return storage


def test_a_lost_redis_counts_the_account_limit_in_the_process(
    app, client, db, monkeypatch, lost_redis, caplog
):
    monkeypatch.setitem(app.config, "LCA_LOGIN_ACCOUNT_RATE_LIMIT", "3 per 15 minutes")
    LearnerFactory(email="during-outage@example.org")
    for _ in range(3):
        page = client.post(
            "/login", data={"email": "during-outage@example.org", "password": "guess"}
        )
        assert page.status_code == 200 and WRONG in page.get_data(as_text=True)
    throttled = client.post(
        "/login", data={"email": "during-outage@example.org", "password": "guess"}
    )
    assert throttled.status_code == 429  # the account's count went on in this process
    assert "storage unreachable" in caplog.text  # Flask-Limiter's fallback, on the first route


def test_the_throttles_count_on_when_the_store_fails_under_them(app, lost_redis, caplog):
    """A store lost between two requests (Flask-Limiter has not noticed): the account
    throttle's own calls count in this process instead of failing the sign-in."""
    limit = parse("2 per 15 minutes")
    with app.test_request_context():
        assert rate_limits.hit(limit, "sign-in-account", "a@example.org") is True
        assert rate_limits.hit(limit, "sign-in-account", "a@example.org") is True
        assert rate_limits.test(limit, "sign-in-account", "a@example.org") is False
        _ends, remaining = rate_limits.window(limit, "sign-in-account", "a@example.org")
        assert remaining == 0
        rate_limits.clear(limit, "sign-in-account", "a@example.org")
        assert rate_limits.test(limit, "sign-in-account", "a@example.org") is True
    assert "Rate-limit storage unreachable, counting in this process" in caplog.text


# --- the settings ---------------------------------------------------------------------------------


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("LCA_ENV", "production")
    monkeypatch.setenv("LCA_SECRET_KEY", "x" * 64)
    monkeypatch.setenv("LCA_PUBLIC_URL", "https://lca.example.org")
    monkeypatch.delenv("LCA_RATELIMIT_STORAGE_URL", raising=False)


def test_production_counts_in_the_database_by_default(production, monkeypatch):
    monkeypatch.setenv("LCA_DATABASE_URL", "postgresql+psycopg://lca@db.example.org/lca")
    config = load_config()
    assert config["RATELIMIT_STORAGE_URI"] == "database://"
    assert config["RATELIMIT_STORAGE_OPTIONS"] == {"wrap_exceptions": True}


def test_production_refuses_counting_in_each_worker(production, monkeypatch):
    monkeypatch.setenv("LCA_RATELIMIT_STORAGE_URL", "memory://")
    with pytest.raises(ConfigError, match="counts each gunicorn worker on its own"):
        load_config()


def test_redis_gets_short_timeouts_and_other_stores_are_refused(production, monkeypatch):
    monkeypatch.setenv("LCA_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")
    options = load_config()["RATELIMIT_STORAGE_OPTIONS"]
    assert options == {"wrap_exceptions": True, "socket_timeout": 2, "socket_connect_timeout": 2}
    monkeypatch.setenv("LCA_RATELIMIT_STORAGE_URL", "memcached://127.0.0.1:11211")
    with pytest.raises(ConfigError, match="must be redis://"):
        load_config()


def test_the_store_is_named_without_its_password():
    assert rate_limits.storage_name("redis://:secret@10.0.0.5:6379/0") == "redis"
    assert rate_limits.storage_name("database://") == "database"
