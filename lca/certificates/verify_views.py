"""Verification for anyone, without an account: the QR code's page, the frozen PDF, the
Open Badges credential, the issuer's keys and profile, the revocation list."""

from flask import Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lca.certificates import bp
from lca.certificates.codes import normalise_code
from lca.certificates.credential import (
    ACHIEVEMENT_SLUG,
    CONTEXTS,
    SigningKeyMissing,
    build_credential,
    issuer_profile,
    public_keys,
    revocation_list,
    sign_credential,
)
from lca.certificates.credential import (
    achievement as credential_achievement,
)
from lca.certificates.forms import VerifyForm
from lca.certificates.issuer import load_issuer
from lca.certificates.services import find_by_code
from lca.core.db import db
from lca.models import Certificate, CertificateStatus
from lca.web.addresses import public_url
from lca.web.downloads import send_stored
from lca.web.extensions import limiter
from lca.web.permissions import public


def _verify_limit() -> str:
    return current_app.config["LCA_VERIFY_RATE_LIMIT"]


def _certificate_or_404(code: str) -> Certificate:
    """One answer for every code that is not a certificate's, however close it comes."""
    certificate = find_by_code(normalise_code(code))
    if certificate is None:
        abort(404)
    return certificate


@bp.get("/verify")
@limiter.limit(_verify_limit)
@public
def verify_form():
    # Only a submitted code is checked: /verify?lang=en (switching language first) is the
    # empty form, not a missing code.
    if "code" not in request.args:
        return render_template("certificates/verify_form.html", form=VerifyForm(formdata=None))
    form = VerifyForm(request.args)
    if form.validate():
        code = normalise_code(form.code.data)
        if code is not None:
            return redirect(url_for(".verify", code=code))
        return render_template("certificates/verify_unknown.html", form=form), 404
    return render_template("certificates/verify_form.html", form=form)


@bp.get("/verify/<code>")
@limiter.limit(_verify_limit)
@public
def verify(code: str):
    certificate = find_by_code(normalise_code(code))
    if certificate is None:
        return render_template(
            "certificates/verify_unknown.html", form=VerifyForm(formdata=None)
        ), 404
    return render_template(
        "certificates/verify.html", certificate=certificate, snapshot=certificate.snapshot
    )


@bp.get("/verify/<code>/certificate.pdf")
@limiter.limit(_verify_limit)
@public
def verify_pdf(code: str):
    certificate = _certificate_or_404(code)
    return send_stored(certificate.pdf_key, f"{certificate.serial}.pdf", "application/pdf")


@bp.get("/verify/<code>/credential.json")
@limiter.limit(_verify_limit)
@public
def credential_json(code: str):
    response = jsonify(build_credential(_certificate_or_404(code)))
    response.mimetype = "application/vc+ld+json" if request.args.get("ld") else "application/json"
    return response


@bp.get("/verify/<code>/credential.jwt")
@limiter.limit(_verify_limit)
@public
def credential_jwt(code: str):
    certificate = _certificate_or_404(code)
    try:
        token = sign_credential(build_credential(certificate))
    except SigningKeyMissing:
        abort(503)
    return Response(token, mimetype="application/vc+jwt")


@bp.get("/.well-known/jwks.json")
@public
def jwks():
    return jsonify(public_keys())


@bp.get("/issuer")
@public
def issuer():
    return jsonify(issuer_profile())


def _achievement(language: str) -> Response:
    document = credential_achievement(load_issuer()["course"], public_url(), language)
    return jsonify({"@context": CONTEXTS, **document})


@bp.get(f"/achievements/{ACHIEVEMENT_SLUG}")
@public
def achievement():
    """The achievement in English; it names the Thai one as related."""
    return _achievement("en")


@bp.get(f"/achievements/{ACHIEVEMENT_SLUG}/th")
@public
def achievement_th():
    """The achievement in Thai; it names the English one as related."""
    return _achievement("th")


@bp.get("/credentials/revocations")
@public
def revocations():
    ended = db.session.scalars(
        select(Certificate)
        .where(Certificate.status != CertificateStatus.VALID)
        .options(joinedload(Certificate.superseded_by))
        .order_by(Certificate.id)
    ).all()
    return jsonify(revocation_list(list(ended)))
