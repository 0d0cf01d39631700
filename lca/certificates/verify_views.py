"""Verification for anyone, without an account: the QR code's page, the frozen PDF, the
Open Badges credential, the issuer's keys and profile, the revocation list."""

import hashlib
import json

from flask import Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.utils import secure_filename

from lca.certificates import bp
from lca.certificates.badge import Lines, achievement_images, badge_png, badge_svg
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
from lca.certificates.file_check import MAX_CHECK_BYTES, FileCheck, check_file
from lca.certificates.forms import CheckFileForm, VerifyForm
from lca.certificates.issuer import load_issuer
from lca.certificates.services import find_by_code
from lca.certificates.sharing import credential_url as sharing_credential_url
from lca.certificates.sharing import linkedin_url
from lca.certificates.status_list import list_exists, status_list_credential
from lca.core.db import db
from lca.models import Certificate, CertificateStatus
from lca.web.addresses import public_url
from lca.web.downloads import send_stored
from lca.web.extensions import limiter
from lca.web.permissions import public


@bp.errorhandler(SigningKeyMissing)
def _keys_missing(error: SigningKeyMissing):
    """A credential cannot be signed (the operator has not made the keys yet): not ready."""
    current_app.logger.error("credential requested without issuer keys: %s", error)
    return current_app.handle_http_exception(ServiceUnavailable())


def _verify_limit() -> str:
    return current_app.config["LCA_VERIFY_RATE_LIMIT"]


#: one count of look-ups per address over every route that looks a certificate up (the page,
#: its PDF, JSON, JWT, wallet file, badges, the code form and the file check): spreading the
#: look-ups over them gives no more than ``LCA_VERIFY_RATE_LIMIT`` in all
lookup_limit = limiter.shared_limit(_verify_limit, scope="certificate-lookups")


def _certificate_or_404(code: str) -> Certificate:
    """One answer for every code that is not a certificate's, however close it comes."""
    certificate = find_by_code(normalise_code(code))
    if certificate is None:
        abort(404)
    return certificate


@bp.get("/verify")
@lookup_limit
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
@lookup_limit
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
@lookup_limit
@public
def verify_pdf(code: str):
    certificate = _certificate_or_404(code)
    return send_stored(certificate.pdf_key, f"{certificate.serial}.pdf", "application/pdf")


@bp.get("/verify/<code>/credential.json")
@lookup_limit
@public
def credential_json(code: str):
    """The credential exactly as signed at issue, with its embedded proof."""
    certificate = _certificate_or_404(code)
    text = credential_text(certificate)
    mimetype = "application/vc+ld+json" if request.args.get("ld") else "application/json"
    return _readable_anywhere(Response(text, mimetype=mimetype))


@bp.get("/verify/<code>/credential.jwt")
@lookup_limit
@public
def credential_jwt(code: str):
    certificate = _certificate_or_404(code)
    token = credential_token(certificate)
    return _readable_anywhere(Response(token, mimetype="application/jwt"))


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
    return _readable_anywhere(response)


def _readable_anywhere(response: Response) -> Response:
    """What a wallet or a verifier running in someone's browser fetches from another site
    (a credential, the DID document, a status list): readable by any origin, without cookies."""
    response.headers["Access-Control-Allow-Origin"] = "*"
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
    document = status_list_credential(serving_address(), number)
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


# -- issue 16, learner: LinkedIn, wallets, baked badges, checking a file --------------------
# (new routes only; the ones above are the credential's own)

bp.add_app_template_global(linkedin_url, "linkedin_url")
bp.add_app_template_global(sharing_credential_url, "credential_url")
bp.add_app_template_global(lambda: CheckFileForm(formdata=None), "check_file_form")


def _valid_or_gone(code: str) -> Certificate:
    """A valid certificate's: a revoked or replaced one offers no badge or wallet file."""
    certificate = _certificate_or_404(code)
    if not certificate.is_valid:
        abort(410)
    return certificate


def _attachment(data: bytes, mimetype: str, name: str, inline: bool = False) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = _content_disposition(name, inline)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _content_disposition(name: str, inline: bool = False) -> str:
    safe = secure_filename(name) or "download"
    return f"{'inline' if inline else 'attachment'}; filename={safe}"


@bp.get("/verify/<code>/wallet.json")
@lookup_limit
@public
def credential_download(code: str):
    """The credential as a file for a wallet: the exact text served, named after the serial."""
    certificate = _valid_or_gone(code)
    text = credential_text(certificate).encode("utf-8")
    return _attachment(text, "application/json", f"{certificate.serial}.json")


def _badge_lines(certificate: Certificate) -> Lines:
    snapshot = certificate.snapshot
    learner = snapshot["learner"]
    return Lines(
        snapshot["course"],
        snapshot["issuer"],
        learner.get("name_th") or "",
        learner.get("name_en") or "",
        certificate.serial,
    )


@bp.get("/verify/<code>/badge.png")
@lookup_limit
@public
def badge_png_file(code: str):
    """The learner's badge, baked with the credential (OB 3.0 PNG baking)."""
    certificate = _valid_or_gone(code)
    png = badge_png(_badge_lines(certificate), credential_text(certificate))
    inline = not request.args.get("download")
    return _attachment(png, "image/png", f"{certificate.serial}-badge.png", inline)


@bp.get("/verify/<code>/badge.svg")
@lookup_limit
@public
def badge_svg_file(code: str):
    """The learner's badge, baked with the credential (OB 3.0 SVG baking)."""
    certificate = _valid_or_gone(code)
    svg = badge_svg(_badge_lines(certificate), credential_text(certificate)).encode("utf-8")
    inline = not request.args.get("download")
    return _attachment(svg, "image/svg+xml", f"{certificate.serial}-badge.svg", inline)


def _achievement_image(index: int, mimetype: str, name: str) -> Response:
    issuer = load_issuer()
    image = achievement_images(issuer["course"], issuer["issuer"])[index]
    data = image if isinstance(image, bytes) else image.encode("utf-8")
    response = _attachment(data, mimetype, name, inline=True)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get(f"/achievements/{ACHIEVEMENT_SLUG}/image.png")
@public
def achievement_image_png():
    """The achievement's own image (unbaked), which the credential names."""
    return _achievement_image(0, "image/png", f"{ACHIEVEMENT_SLUG}.png")


@bp.get(f"/achievements/{ACHIEVEMENT_SLUG}/image.svg")
@public
def achievement_image_svg():
    return _achievement_image(1, "image/svg+xml", f"{ACHIEVEMENT_SLUG}.svg")


def _check_page(form: CheckFileForm, result: FileCheck | None = None, status: int = 200):
    return render_template("certificates/check_file.html", check_form=form, result=result), status


@bp.post("/verify/check")
@lookup_limit
@public
def check_file_upload():
    """Check an uploaded file against what LCA issued. Nothing is stored and nothing is
    recorded: the upload is read into memory, checked and forgotten."""
    too_large = FileCheck(None, problem="too_large")
    # The body is parsed (within the app's MAX_CONTENT_LENGTH, files past 500 KB spooled to
    # a temporary file) before this view, by the CSRF check; 5 MB is this check's own limit.
    if (request.content_length or 0) > MAX_CHECK_BYTES + 64 * 1024:  # the form's own bytes
        return _check_page(CheckFileForm(formdata=None), too_large, 413)
    form = CheckFileForm()
    if not form.validate_on_submit():
        return _check_page(form)
    upload = form.file.data
    data = upload.stream.read(MAX_CHECK_BYTES + 1)
    upload.close()  # a large upload is spooled to a temporary file: let it go now
    if len(data) > MAX_CHECK_BYTES:
        return _check_page(CheckFileForm(formdata=None), too_large, 413)
    return _check_page(CheckFileForm(formdata=None), check_file(data))
