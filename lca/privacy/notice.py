"""The privacy notice: who to ask, and showing it once after a person first signs in."""

from __future__ import annotations

from flask import current_app, request

from lca.certificates.issuer import load_issuer
from lca.core.db import db, utcnow
from lca.models import User

#: blueprints whose pages never send a person to the notice: signing in and out, one's
#: password and second factor, and the notice itself (so that no two gates send a person
#: back and forth)
NOT_BEFORE_BLUEPRINTS = frozenset({"privacy", "auth", "mfa", "second_factor"})
NOT_BEFORE_ENDPOINTS = frozenset(
    {"static", "home.healthz", "home.readyz", "home.metrics", "home.font", "home.favicon"}
)


def privacy_contact() -> dict[str, str]:
    """Who answers questions about personal data: LCA_PRIVACY_CONTACT (an e-mail address), or
    the issuer's address and name in seed/issuer.yaml."""
    issuer = load_issuer()["issuer"]
    email = current_app.config.get("LCA_PRIVACY_CONTACT") or issuer.get("email") or ""
    return {"email": email, "name_th": issuer["name_th"], "name_en": issuer["name_en"]}


def must_see_notice(user: User) -> bool:
    """A signed-in person who has not seen the notice is sent to it, once, on a normal page
    (a GET for a document, not a file, a form's answer or a page about signing in)."""
    if not user.is_authenticated or user.privacy_notice_seen_at is not None:
        return False
    if user.must_change_password or request.method != "GET":
        return False
    if request.headers.get("Sec-Fetch-Dest", "document") != "document":
        return False
    endpoint = request.endpoint or ""
    return endpoint not in NOT_BEFORE_ENDPOINTS and request.blueprint not in NOT_BEFORE_BLUEPRINTS


def acknowledge_notice(user: User) -> None:
    """The person has read the notice; it is not shown to them again. (The time is the record:
    it is in the person's data download; the audit log is not filled with it.)"""
    if user.privacy_notice_seen_at is None:
        user.privacy_notice_seen_at = utcnow()
        db.session.flush()
