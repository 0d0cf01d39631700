"""Settings come from LCA_* variables; a production start without a secret key fails clearly."""

from __future__ import annotations

import pytest

from lca import create_app
from lca.core.config import ConfigError, load_config


def test_missing_secret_key_outside_development_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("LCA_SECRET_KEY", raising=False)
    monkeypatch.setenv("LCA_ENV", "production")
    with pytest.raises(ConfigError, match="LCA_SECRET_KEY is not set"):
        load_config()


def test_development_runs_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("LCA_SECRET_KEY", raising=False)
    monkeypatch.setenv("LCA_ENV", "development")
    assert load_config()["SECRET_KEY"]


def test_unknown_environment_is_refused(monkeypatch):
    monkeypatch.setenv("LCA_ENV", "staging")
    with pytest.raises(ConfigError, match="LCA_ENV must be one of"):
        load_config()


def test_https_public_url_makes_cookies_secure_and_adds_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("LCA_PUBLIC_URL", "https://lca.example.org/")
    monkeypatch.setenv("LCA_SECRET_KEY", "x" * 64)
    monkeypatch.setenv("LCA_ENV", "production")
    config = load_config({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.sqlite3"})
    assert config["LCA_PUBLIC_URL"] == "https://lca.example.org"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax" and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_NAME"] == "__Host-lca_session"
    assert config["REMEMBER_COOKIE_NAME"] == "__Host-lca_remember"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.sqlite3",
            "LCA_DATA_DIR": tmp_path / "data",
        }
    )
    response = app.test_client().get("/healthz")  # the database is empty: unhealthy is fine
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_proxy_count_must_be_a_number(monkeypatch):
    monkeypatch.setenv("LCA_ENV", "development")
    monkeypatch.setenv("LCA_PROXY_COUNT", "two")
    with pytest.raises(ConfigError, match="LCA_PROXY_COUNT must be a whole number"):
        load_config()


def test_database_engine_settings(app, db):
    """SQLite enforces foreign keys and writes a WAL journal; PostgreSQL speaks UTF-8."""
    scalar = lambda sql: db.session.execute(db.text(sql)).scalar()  # noqa: E731
    if db.engine.dialect.name == "sqlite":
        assert scalar("PRAGMA foreign_keys") == 1
        assert scalar("PRAGMA journal_mode") == "wal"
    else:
        assert scalar("SHOW server_encoding") == "UTF8"


def test_maintenance_commands_need_no_secret_key(monkeypatch):
    """Migrating or seeding signs no cookies: it runs on a random key of its own."""
    monkeypatch.delenv("LCA_SECRET_KEY", raising=False)
    monkeypatch.setenv("LCA_ENV", "production")
    first, second = load_config(serving=False), load_config(serving=False)
    assert len(first["SECRET_KEY"]) == 64 and first["SECRET_KEY"] != second["SECRET_KEY"]
