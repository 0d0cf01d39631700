"""LCA, the course system of the City Administrator programme: the application factory."""

from __future__ import annotations

import importlib
import sqlite3

import click
from flask import Flask, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from lca.core.collation import register_sqlite_collation
from lca.core.config import ROOT, load_config
from lca.core.db import db, init_migrations
from lca.core.logs import configure_logging
from lca.core.request_ids import HEADER as REQUEST_ID_HEADER
from lca.core.request_ids import request_id
from lca.web.extensions import csrf, limiter, login_manager


def create_app(config: dict | None = None, serving: bool = True) -> Flask:
    """Build the application from the LCA_* environment, with ``config`` overriding it.

    ``serving=False`` for maintenance commands, which need no LCA_SECRET_KEY.
    """
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(load_config(config, serving))
    configure_logging(app.config["LCA_LOG_FORMAT"])
    if app.config["LCA_PROXY_COUNT"]:
        count = app.config["LCA_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign] # Flask's documented way
            app.wsgi_app, x_for=count, x_proto=count, x_host=count
        )
    app.config["LCA_DATA_DIR"].mkdir(parents=True, exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        ROOT.joinpath("instance").mkdir(exist_ok=True)

    from lca.auth.sessions import SignedCookieSessions
    from lca.web.pages import DatabaseIdConverter

    app.session_interface = SignedCookieSessions()
    app.url_map.converters["int"] = DatabaseIdConverter
    _init_extensions(app, serving)
    _register_blueprints(app)
    _add_request_hooks(app)

    from lca.web.error_pages import register_error_pages

    register_error_pages(app)
    app.cli.add_command(OperatorCommands("lca"))
    return app


class OperatorCommands(click.Group):
    """``flask lca …``: the operators' commands, imported only when one is run, so that a
    served worker never loads the operations floor (``lca.ops``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, help="LCA operations: seed data, demo data, accounts.")

    @staticmethod
    def _commands() -> click.Group:
        from lca.ops.commands import lca_group

        return lca_group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._commands().get_command(ctx, cmd_name)


def _init_extensions(app: Flask, serving: bool) -> None:
    from lca.auth.sessions import load_session
    from lca.core import storage
    from lca.web import i18n, metrics, rate_limits, widgets  # noqa: F401 - rate_limits registers database://

    widgets.install()
    db.init_app(app)
    if not serving or app.testing:
        init_migrations(app, str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    storage.init_app(app)
    metrics.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    login_manager.user_loader(load_session)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(connection, _record) -> None:
    """SQLite as a real database: foreign keys enforced, WAL journal, wait when busy."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()
        register_sqlite_collation(connection)


#: the modules whose routes make up the blueprints; importing one attaches its routes. The
#: blueprint packages do not import them themselves, so that a service can be imported alone.
VIEW_MODULES = (
    "lca.home.views",
    "lca.home.asset_views",
    "lca.auth.views",
    "lca.auth.second_factor_views",
    "lca.curriculum.views",
    "lca.cohorts.views",
    "lca.hours.calendar_views",
    "lca.hours.progress_views",
    "lca.hours.review_views",
    "lca.hours.session_views",
    "lca.hours.views",
    "lca.check_in.scan_views",
    "lca.check_in.screen_views",
    "lca.assessment.views",
    "lca.certificates.verify_views",
    "lca.certificates.views",
    "lca.reports.views",
    "lca.admin.audit_views",
    "lca.admin.export_views",
    "lca.admin.import_views",
    "lca.admin.message_views",
    "lca.admin.views",
    "lca.notifications.views",
    "lca.privacy.views",
)


def _register_blueprints(app: Flask) -> None:
    for name in VIEW_MODULES:
        importlib.import_module(name)
    from lca.admin import bp as admin_bp
    from lca.assessment import bp as assessment_bp
    from lca.auth import bp as auth_bp
    from lca.certificates import bp as certificates_bp
    from lca.check_in import bp as check_in_bp
    from lca.cohorts import bp as cohorts_bp
    from lca.curriculum import bp as curriculum_bp
    from lca.home import bp as home_bp
    from lca.hours import bp as hours_bp
    from lca.notifications import bp as notifications_bp
    from lca.privacy import bp as privacy_bp
    from lca.reports import bp as reports_bp

    for blueprint in (
        home_bp,
        auth_bp,
        curriculum_bp,
        cohorts_bp,
        hours_bp,
        check_in_bp,
        assessment_bp,
        certificates_bp,
        reports_bp,
        admin_bp,
        notifications_bp,
        privacy_bp,
    ):
        app.register_blueprint(blueprint)
    if app.config["LCA_ENV"] == "development":
        from lca.notifications.dev_mail import bp as dev_mail_bp  # the developer's mailbox

        app.register_blueprint(dev_mail_bp)


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
PASSWORD_CHANGE_ALLOWED = {
    "auth.password",
    "privacy.notice",
    "auth.logout",
    "static",
    "home.healthz",
    "home.readyz",
    "home.metrics",
    "home.font",
    "home.favicon",
}

#: what staff without a second factor may reach: setting one up, signing out (and the pages
#: open to everyone)
SECOND_FACTOR_SETUP_ALLOWED = PASSWORD_CHANGE_ALLOWED | {
    "auth.second_factor",
    "auth.start_totp",
    "auth.totp_setup",
    "auth.passkey_options",
    "auth.add_passkey",
    "auth.recovery_codes",
    "auth.confirm_password",  # the password again before a change to them (lca/auth/reauth.py)
    "privacy.acknowledge",  # the privacy notice's "I have read it" (issue 17, pdpa's part)
}


def _add_request_hooks(app: Flask) -> None:
    @app.before_request
    def require_new_password():
        """Someone holding a one-time password replaces it before doing anything else."""
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in PASSWORD_CHANGE_ALLOWED
        ):
            return redirect(url_for("auth.password"))
        return None

    @app.before_request
    def require_second_factor():
        """Staff pass a second factor: a session without one goes to the second step (an
        enrolled person) or to setting one up (until then, nothing else is open)."""
        if (
            not current_user.is_authenticated
            or current_user.must_change_password  # the password comes first
            or request.endpoint in SECOND_FACTOR_SETUP_ALLOWED
            # a page open to everyone (verification, set-password links) shows nothing more
            or getattr(app.view_functions.get(request.endpoint or ""), "lca_access", "") == "public"
        ):
            return None
        from lca.auth.second_factor_enforcement import step_up

        return step_up(current_user._get_current_object())  # the user, not the proxy

    @app.after_request
    def request_id_header(response):
        """The request's id goes back to the client (and the proxy's access log)."""
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure or app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        # is_anonymous, not is_authenticated: the latter reads the account's row, which a
        # commit in the view has expired (one more SELECT for every form sent)
        if not current_user.is_anonymous and request.endpoint != "static":
            # someone's own pages and files: not kept by the browser or any cache on the way
            response.headers.setdefault("Cache-Control", "no-store")
        return response
