"""Importing learners into a cohort: template, upload and preview, then all or nothing."""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms.validators import InputRequired

from lca.admin import bp
from lca.admin.imports import (
    MAX_IMPORT_BYTES,
    ImportFileError,
    apply_import,
    plan_import,
    template_csv,
    template_xlsx,
)
from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.storage import delete_file_after_commit, storage
from lca.models import Role
from lca.web.forms import BaseForm
from lca.web.permissions import get_cohort_or_403, role_required

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
    form, plan = ImportForm(), None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(MAX_IMPORT_BYTES + 1)
        try:
            plan = plan_import(cohort, upload.filename or "", data)
        except ImportFileError as error:
            form.file.errors = [error.message]
        else:
            _forget_pending()
            if plan.ok:
                session[PENDING] = {
                    "key": storage().save(data, ".import"),
                    "cohort": cohort.id,
                    "name": upload.filename or "",
                }
    return _page(cohort, form, plan)


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
    try:
        done = apply_import(plan, current_user)
    except RuleError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for(".import_learners", cohort_id=cohort.id))
    delete_file_after_commit(db.session, pending["key"])
    db.session.commit()
    session.pop(PENDING, None)
    return render_template(
        "admin/import_done.html",
        cohort=cohort,
        done=done,
        base=current_app.config["LCA_PUBLIC_URL"],
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
