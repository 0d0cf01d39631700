"""/readyz: whether this server can do its work now (a load balancer sends it requests only
then). Each check answers "ok" or a short reason that names no secret."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import text

from lca.certificates.keys import SigningKeyMissing, jwt_key, proof_key
from lca.core.config import ROOT
from lca.core.db import db
from lca.core.storage import storage
from lca.notifications.channels import mail_channel
from lca.web.extensions import limiter


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        raise RuntimeError("unreachable") from None


def _storage() -> None:
    storage().check()


def _signing_key() -> None:
    try:
        proof_key()
        jwt_key()
    except SigningKeyMissing:
        raise
    except Exception:
        raise RuntimeError("the issuer's key files cannot be read") from None


def _backend(uri: str) -> str:
    return urlsplit(uri).scheme.split("+")[0] or "unknown"


def rate_limit_backend() -> str:
    """The rate limits' storage kind (``redis``, ``memory``…), never its address or password."""
    return _backend(str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"))


def _rate_limits() -> None:
    backend = rate_limit_backend()
    try:
        answers = limiter.storage.check()
    except Exception:
        answers = False
    if not answers:
        raise RuntimeError(f"the {backend} storage does not answer")


def _mail() -> None:
    url = current_app.config["LCA_MAIL_URL"]
    try:
        mail_channel(url, current_app.config["LCA_MAIL_FROM"], ROOT)
    except ValueError:
        raise RuntimeError("LCA_MAIL_URL is not smtp://, smtps:// or file://") from None


def _reason(error: Exception) -> str:
    """What went wrong, short; for the checks that raise their own readable message."""
    return (str(error) or type(error).__name__)[:200]


def readiness() -> tuple[bool, dict[str, str]]:
    """Every check's answer, and whether all are "ok"."""
    checks: dict[str, Callable[[], None]] = {
        "database": _database,
        "storage": _storage,
        "signing_key": _signing_key,
        "rate_limits": _rate_limits,
    }
    if current_app.config["LCA_MAIL_URL"]:
        checks["mail"] = _mail
    answers: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # any failure makes the server not ready, with its reason
            answers[name] = _reason(error)
        else:
            answers[name] = "ok"
    return all(answer == "ok" for answer in answers.values()), answers
