"""The error pages, in the visitor's language."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from lca.core.db import db

PAGES = {
    400: (
        _l("The request could not be understood"),
        _l("The form may have expired. Go back, reload the page and try again."),
    ),
    403: (
        _l("You do not have access to this page"),
        _l(
            "This page belongs to another person or role. If you think you should see it, "
            "contact the programme staff."
        ),
    ),
    404: (_l("Page not found"), _l("The address may be mistyped, or the page no longer exists.")),
    405: (
        _l("This action is not possible here"),
        _l("Use the buttons and forms of the site rather than typing the address."),
    ),
    410: (
        _l("This is no longer offered"),
        _l(
            "The certificate was revoked or replaced, so its badge and wallet file are no "
            "longer offered. Its verify page says what became of it."
        ),
    ),
    413: (_l("The upload is too large"), _l("Send a smaller file, or fewer files at once.")),
    429: (_l("Too many attempts"), _l("Please wait a minute before you try again.")),
    500: (
        _l("Something went wrong on our side"),
        _l(
            "Nothing was saved. Please try again in a moment; if it happens again, tell the "
            "programme staff."
        ),
    ),
    503: (
        _l("Not available yet"),
        _l(
            "This part of the site is not ready on this server yet. Please try again later; "
            "if it lasts, tell the programme staff."
        ),
    ),
}


def _wants_json() -> bool:
    if request.path in ("/healthz", "/readyz", "/metrics"):
        return True
    return request.accept_mimetypes.best == "application/json"


def _log_refusal() -> None:
    """A refused request goes to the security log (the server's log): who, what, from where."""
    current_app.logger.warning(
        "access refused: %s %s user=%s address=%s",
        request.method,
        request.path,
        getattr(current_user, "id", None),
        request.remote_addr,
    )


def register_error_pages(app: Flask) -> None:
    """Render 400/403/404/405/410/413/429/500/503 as pages of the site; roll back what
    failed."""

    def render(status: int) -> ResponseReturnValue:
        if _wants_json():
            return jsonify(status=status), status
        title, explanation = PAGES[status]
        page = render_template(
            "errors/error.html", status=status, title=title, explanation=explanation
        )
        return page, status

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render(400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code not in PAGES:
            return error
        if error.code == 403:
            _log_refusal()
        return render(error.code)

    @app.errorhandler(500)
    def server_error(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        return render(500)
