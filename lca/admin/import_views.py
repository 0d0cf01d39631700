"""Importing learners into a cohort: template, upload and preview, then all or nothing."""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms.validators import InputRequired

from lca.admin import bp
from lca.admin.imports import (
    MAX_IMPORT_BYTES,
    apply_import,
    plan_import,
    template_csv,
    template_xlsx,
)
from lca.auth.services import resend_invitation as resend_one
from lca.auth.services import resend_invitations as resend_all
from lca.auth.services import unused_invitations
from lca.core.db import db, utcnow
from lca.core.storage import delete_file_after_commit, storage
from lca.models import Role, User
from lca.web.forms import BaseForm
from lca.web.pages import is_local_path, perform
from lca.web.permissions import get_cohort_or_403, get_or_404, role_required

PENDING = "lca_import"  #: the session key of the upload waiting for confirmation
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(BaseForm):
    file = FileField(
        _l("Spreadsheet of learners (CSV or XLSX)"),
        description=_l(
            "At most 5 MB. Columns: email, full_name_th, and if you have them "
            "full_name_en, city, organisation."
        ),
        validators=[InputRequired(_l("Choose the file to import."))],
    )


class ConfirmForm(BaseForm):
    """Only the CSRF token: the file waiting is the one previewed."""


def _page(cohort, form=None, plan=None, status=200):
    """The import page; a file that cannot be imported as it is (with problem rows, or not
    readable at all: ``status``) answers 422, so that a tool sending it sees the refusal too."""
    if plan is not None and not plan.ok:
        status = 422
    return render_template(
        "admin/import.html",
        cohort=cohort,
        form=form or ImportForm(),
        plan=plan,
        confirm=ConfirmForm(formdata=None),
    ), status


@bp.get("/cohorts/<int:cohort_id>/import")
@role_required(Role.ADMIN)
def import_learners(cohort_id: int):
    return _page(get_cohort_or_403(cohort_id, current_user, action="manage"))


@bp.post("/cohorts/<int:cohort_id>/import")
@role_required(Role.ADMIN)
def preview_import(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    form = ImportForm()
    if form.validate_on_submit():
        return perform(
            lambda: _preview(cohort, form.file.data),
            form=form,
            field="file",  # a file that cannot be read at all: the message goes next to it
            fail=lambda: _page(cohort, form, status=422),
            then=lambda plan: _page(cohort, form, plan),
        )
    return _page(cohort, form)


def _preview(cohort, upload):
    """Check the file; a file with no problem waits (stored) for the confirmation. A new
    upload replaces the one waiting, even when it is refused: the confirmation never imports
    a file other than the one last sent."""
    _forget_pending()
    data = upload.stream.read(MAX_IMPORT_BYTES + 1)
    plan = plan_import(cohort, upload.filename or "", data)
    if plan.ok:
        session[PENDING] = {
            "key": storage().save(data, ".import"),
            "cohort": cohort.id,
            "name": upload.filename or "",
        }
    return plan


@bp.post("/cohorts/<int:cohort_id>/import/confirm")
@role_required(Role.ADMIN)
def confirm_import(cohort_id: int):
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    pending = session.get(PENDING)
    if (
        not ConfirmForm().validate_on_submit()
        or not pending
        or pending["cohort"] != cohort.id
        or not storage().exists(pending["key"])
    ):
        flash(_("Upload the file again: the preview has expired."), "error")
        return redirect(url_for(".import_learners", cohort_id=cohort.id))
    with storage().open(pending["key"]) as file:
        plan = plan_import(cohort, pending["name"], file.read())  # checked again
    if not plan.ok:  # something changed since the preview
        return _page(cohort, plan=plan)
    return perform(
        lambda: _apply(plan, pending["key"]),
        then=lambda done: _import_done(cohort, done),
        fail=url_for(".import_learners", cohort_id=cohort.id),
    )


def _apply(plan, key: str):
    """Import the plan; the uploaded file goes once the import is committed."""
    done = apply_import(plan, current_user)
    delete_file_after_commit(db.session, key)
    return done


def _import_done(cohort, done):
    session.pop(PENDING, None)
    return render_template(
        "admin/import_done.html",
        cohort=cohort,
        done=done,
        base=current_app.config["LCA_PUBLIC_URL"],
    )


@bp.get("/cohorts/<int:cohort_id>/invitations")
@role_required(Role.ADMIN)
def invitations(cohort_id: int):
    """The cohort's learners who have not yet chosen a password, to invite again."""
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    return render_template(
        "admin/invitations.html",
        cohort=cohort,
        waiting=unused_invitations(cohort.id),
        now=utcnow(),
    )


@bp.post("/cohorts/<int:cohort_id>/invitations/resend")
@role_required(Role.ADMIN)
def resend_invitations(cohort_id: int):
    """A new link to every learner of the cohort who has not chosen a password."""
    cohort = get_cohort_or_403(cohort_id, current_user, action="manage")
    then = url_for(".invitations", cohort_id=cohort.id)
    return perform(
        lambda: resend_all(unused_invitations(cohort.id), current_user),
        done=lambda count: ngettext(
            "%(num)d invitation sent again.", "%(num)d invitations sent again.", count
        ),
        then=then,
    )


@bp.post("/users/<int:user_id>/invitation")
@role_required(Role.ADMIN)
def resend_invitation(user_id: int):
    """A new set-password link by e-mail; the earlier one stops working."""
    user = get_or_404(User, user_id)
    target = request.form.get("next")
    then = target if target and is_local_path(target) else url_for(".edit_user", user_id=user.id)
    return perform(
        lambda: resend_one(user, current_user),
        done=_("A new invitation has been sent to %(email)s.", email=user.email),
        then=then,
    )


def _forget_pending() -> None:
    pending = session.pop(PENDING, None)
    if pending:
        storage().delete(pending["key"])


@bp.get("/import-template.<kind>")
@role_required(Role.ADMIN)
def import_template(kind: str):
    if kind == "xlsx":
        return Response(
            template_xlsx(),
            mimetype=XLSX,
            headers={"Content-Disposition": "attachment; filename=lca-learners.xlsx"},
        )
    if kind == "csv":
        return Response(
            template_csv(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=lca-learners.csv"},
        )
    abort(404)
