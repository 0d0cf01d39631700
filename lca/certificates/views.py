"""Certificates for staff and learners: the cohort's page (who is eligible, why not), issuing
one or all, revoking, re-issuing, printing the cohort and downloading."""

import io
import zipfile

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    stream_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from lca.certificates import bp
from lca.certificates.forms import IssueForm, ReasonForm
from lca.certificates.services import (
    certificates_of_cohort,
    cohort_certificates,
    issue_certificate,
    issue_for_cohort,
    reissue_certificate,
    revoke_certificate,
)
from lca.core.db import db
from lca.core.storage import storage
from lca.models import Certificate, CertificateLanguage, Role
from lca.web.downloads import send_stored
from lca.web.forms import UnvalidatedForm
from lca.web.pages import perform
from lca.web.permissions import (
    get_certificate_or_403,
    get_cohort_or_403,
    get_enrolment_or_403,
    role_required,
    signed_in,
)

STAFF = (Role.ADMIN, Role.INSTRUCTOR)


@bp.get("/cohorts/<int:cohort_id>/certificates")
@role_required(*STAFF)
def cohort(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user)
    rows = cohort_certificates(cohort)
    return render_template(
        "certificates/cohort.html",
        cohort=cohort,
        rows=rows,
        eligible=sum(1 for row in rows if row.can_issue),
        issued=certificates_of_cohort(cohort),
        form=IssueForm(formdata=None),
    )


@bp.post("/enrolments/<int:enrolment_id>/certificate")
@role_required(Role.ADMIN)
def issue(enrolment_id: int):
    enrolment = get_enrolment_or_403(enrolment_id, current_user, action="manage")
    form = IssueForm()
    back = url_for(".cohort", cohort_id=enrolment.cohort_id)
    if not form.validate_on_submit():
        return redirect(back)
    language = CertificateLanguage(form.language.data)
    return perform(
        lambda: issue_certificate(enrolment, current_user, language),
        done=lambda issued: _("Certificate %(serial)s has been issued.", serial=issued.serial),
        then=back,
    )


@bp.post("/cohorts/<int:cohort_id>/certificates/issue")
@role_required(Role.ADMIN)
def issue_all(cohort_id: int):
    """Issue every eligible learner's certificate; the page shows each one as it is done."""
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    form = IssueForm()
    if not form.validate_on_submit():
        return redirect(url_for(".cohort", cohort_id=cohort_id))
    language, admin = CertificateLanguage(form.language.data), current_user._get_current_object()
    return perform(
        lambda: issue_for_cohort(cohort, admin, language),
        each=lambda step: step[1] is not None,  # a certificate is kept, a refusal undone
        then=lambda steps: Response(
            stream_template("certificates/batch.html", cohort=cohort, results=steps),
            mimetype="text/html",
        ),
        fail=url_for(".cohort", cohort_id=cohort_id),
    )


@bp.get("/cohorts/<int:cohort_id>/certificates.pdf")
@role_required(Role.ADMIN)
def print_cohort(cohort_id: int):
    """Every valid certificate of the cohort in one PDF, a page each, for the printer: the
    pages are the frozen PDFs themselves."""
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    valid = [c for c in certificates_of_cohort(cohort) if c.is_valid]
    if not valid:
        flash(_("This cohort has no valid certificate to print."), "error")
        return redirect(url_for(".cohort", cohort_id=cohort_id))
    return Response(
        merged_pdf(valid),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename=certificates-{cohort.code}.pdf",
            "Cache-Control": "private, no-store",
        },
    )


def merged_pdf(certificates: list[Certificate]) -> bytes:
    """The frozen PDFs of ``certificates`` as one document, in order."""
    from pypdf import PdfReader, PdfWriter  # 28 MB of modules, for this download alone

    writer = PdfWriter()
    for certificate in certificates:
        with storage().open(certificate.pdf_key) as file:
            writer.append(PdfReader(io.BytesIO(file.read())))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@bp.get("/cohorts/<int:cohort_id>/certificates.zip")
@role_required(Role.ADMIN)
def zip_cohort(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    valid = [c for c in certificates_of_cohort(cohort) if c.is_valid]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for certificate in valid:
            with storage().open(certificate.pdf_key) as file:
                archive.writestr(f"{certificate.serial}.pdf", file.read())
    return Response(
        out.getvalue(),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename=certificates-{cohort.code}.zip",
            "Cache-Control": "private, no-store",
        },
    )


def _certificate_page(certificate, revoke_form=None, reissue_form=None):
    revoke_form = revoke_form or ReasonForm(formdata=None)
    reissue_form = reissue_form or ReasonForm(formdata=None)
    # Two reason fields on one page: each needs an id of its own for its label to name it.
    for form, purpose in ((revoke_form, "revoke"), (reissue_form, "reissue")):
        form.reason.id = form.reason.label.field_id = f"{purpose}-reason"
    return render_template(
        "certificates/show.html",
        certificate=certificate,
        revoke_form=revoke_form,
        reissue_form=reissue_form,
        history=_history(certificate),
    )


def _history(certificate: Certificate) -> list[Certificate]:
    """The chain of re-issues this certificate belongs to, oldest first."""
    chain = [certificate]
    while chain[0].replaces_id:
        chain.insert(0, db.session.get_one(Certificate, chain[0].replaces_id))
    while chain[-1].superseded_by_id:
        chain.append(db.session.get_one(Certificate, chain[-1].superseded_by_id))
    return chain


@bp.get("/certificates/<int:certificate_id>")
@signed_in
def show(certificate_id: int):
    return _certificate_page(get_certificate_or_403(certificate_id, current_user))


@bp.get("/certificates/<int:certificate_id>/pdf")
@signed_in
def download(certificate_id: int):
    certificate = get_certificate_or_403(certificate_id, current_user)
    return send_stored(certificate.pdf_key, f"{certificate.serial}.pdf", "application/pdf")


@bp.post("/certificates/<int:certificate_id>/revoke")
@role_required(Role.ADMIN)
def revoke(certificate_id: int):
    certificate = get_certificate_or_403(certificate_id, current_user, action="manage")
    form = ReasonForm()
    if form.validate_on_submit():
        reason = form.reason.data
        if reason is None:
            raise UnvalidatedForm
        return perform(
            lambda: revoke_certificate(certificate, current_user, reason),
            form=form,
            fail=lambda: _certificate_page(certificate, revoke_form=form),
            done=_("Certificate %(serial)s has been revoked.", serial=certificate.serial),
            then=url_for(".show", certificate_id=certificate_id),
        )
    return _certificate_page(certificate, revoke_form=form)


@bp.post("/certificates/<int:certificate_id>/reissue")
@role_required(Role.ADMIN)
def reissue(certificate_id: int):
    certificate = get_certificate_or_403(certificate_id, current_user, action="manage")
    form = ReasonForm()
    if form.validate_on_submit():
        old, reason = certificate.serial, form.reason.data
        if reason is None:
            raise UnvalidatedForm
        return perform(
            lambda: reissue_certificate(certificate, current_user, reason),
            form=form,
            fail=lambda: _certificate_page(certificate, reissue_form=form),
            done=lambda new: _(
                "Certificate %(serial)s replaces %(old)s.", serial=new.serial, old=old
            ),
            then=lambda new: redirect(url_for(".show", certificate_id=new.id)),
        )
    return _certificate_page(certificate, reissue_form=form)
