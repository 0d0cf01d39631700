"""Verification for anyone, without an account: the QR code's page, the frozen PDF, the
Open Badges credential, the issuer's keys and profile, the revocation list."""

import hashlib
import json

from flask import Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from lca.certificates import bp
from lca.certificates.codes import normalise_code
from lca.certificates.credential import (
    ACHIEVEMENT_SLUG,
    CONTEXTS,
    SigningKeyMissing,
    credential_text,
    credential_token,
    issuer_profile,
    public_jwk,
    public_jwks,
    revocation_list,
)
from lca.certificates.credential import (
    achievement as credential_achievement,
)
from lca.certificates.did import did_document as issuer_did_document
from lca.certificates.did import serving_address
from lca.certificates.forms import VerifyForm
from lca.certificates.issuer import load_issuer
from lca.certificates.services import find_by_code
from lca.certificates.status_list import list_exists, status_list_credential
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
    """The credential exactly as signed at issue, with its embedded proof."""
    certificate = _certificate_or_404(code)
    try:
        text = credential_text(certificate)
    except SigningKeyMissing:
        abort(503)
    mimetype = "application/vc+ld+json" if request.args.get("ld") else "application/json"
    return Response(text, mimetype=mimetype)


@bp.get("/verify/<code>/credential.jwt")
@limiter.limit(_verify_limit)
@public
def credential_jwt(code: str):
    certificate = _certificate_or_404(code)
    try:
        token = credential_token(certificate)
    except SigningKeyMissing:
        abort(503)
    return Response(token, mimetype="application/jwt")


@bp.get("/.well-known/jwks.json")
@public
def jwks():
    """The public keys of the credentials' JWT form (current, then retired)."""
    return _public_document(public_jwks(serving_address()))


@bp.get("/issuer/keys/<thumbprint>")
@public
def issuer_key(thumbprint: str):
    """The one JWT key a credential's ``kid`` names."""
    key = public_jwk(serving_address(), thumbprint)
    if key is None:
        abort(404)
    return _public_document(key)


@bp.get("/.well-known/did.json")
@bp.get("/did.json")
@public
def did_document():
    """The issuer's DID document (did:web): its proof keys, current and retired. /did.json
    answers when LCA is served under a path (did:web:host:path)."""
    return _public_document(issuer_did_document(serving_address()), "application/did+ld+json")


@bp.get("/issuer")
@public
def issuer():
    return _public_document(issuer_profile())


def _public_document(document: dict, mimetype: str = "application/json") -> Response:
    """A public JSON document that verifiers fetch: cacheable, the same for everyone."""
    response = Response(json.dumps(document, ensure_ascii=False), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # wallets and verifiers in browsers
    return response


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


@bp.get("/credentials/status/<int:number>")
@limiter.exempt
@public
def status_list(number: int):
    """A revocation status list (W3C Bitstring Status List), signed. Public and cacheable:
    who fetched it is not recorded, nor counted (no rate limit), and it sets no cookie."""
    if not list_exists(number):
        abort(404)
    try:
        document = status_list_credential(serving_address(), number)
    except SigningKeyMissing:
        abort(503)
    response = _public_document(document, "application/vc+ld+json")
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    return response.make_conditional(request)


@bp.get("/credentials/revocations")
@public
def revocations():
    """The first round's revocation list, for credentials issued before the status lists:
    hashed identifiers only, no codes, no reasons."""
    ended = db.session.scalars(
        select(Certificate)
        .where(Certificate.status != CertificateStatus.VALID)
        .order_by(Certificate.id)
    ).all()
    return _public_document(revocation_list(list(ended), serving_address()))
