from flask import redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.core.dates import local_today
from lca.models import Role, User
from lca.privacy import bp
from lca.privacy.erasure import erase_learner, erasure_refusal, erasure_summary
from lca.privacy.export import export_personal_data
from lca.privacy.forms import AcknowledgeForm, EraseForm
from lca.privacy.notice import acknowledge_notice, must_see_notice, privacy_contact
from lca.privacy.retention import retention_years
from lca.web.pages import is_local_path, perform, role_home_url
from lca.web.permissions import get_or_404, public, role_required, signed_in


@bp.before_app_request
def show_notice_once():
    """A person who has not seen the privacy notice is shown it after signing in, once."""
    if must_see_notice(current_user):
        return redirect(url_for("privacy.notice", next=request.full_path.rstrip("?")))
    return None


@bp.get("/privacy")
@public
def notice():
    target = request.args.get("next")
    form = AcknowledgeForm(next=target if is_local_path(target) else "")
    return render_template(
        "privacy/notice.html",
        form=form,
        contact=privacy_contact(),
        retention_years=retention_years(),
        asking=current_user.is_authenticated and current_user.privacy_notice_seen_at is None,
    )


@bp.post("/privacy/seen")
@signed_in
def acknowledge():
    form = AcknowledgeForm()
    target = form.next.data
    return perform(
        lambda: acknowledge_notice(current_user),
        then=lambda _done: redirect(
            target if is_local_path(target) else role_home_url(current_user)
        ),
        fail=lambda: redirect(url_for(".notice")),
    )


def _download(user: User):
    name = f"lca-personal-data-{user.id}-{local_today().isoformat()}.zip"

    def sent(spool):
        response = send_file(
            spool, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0
        )
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return perform(
        lambda: export_personal_data(user, current_user),
        then=sent,
        fail=lambda: redirect(url_for("auth.account")),
    )


@bp.get("/account/my-data.zip")
@signed_in
def my_data():
    """Everything LCA holds about the signed-in person (PDPA §30–31)."""
    return _download(current_user)


@bp.get("/admin/users/<int:user_id>/personal-data.zip")
@role_required(Role.ADMIN)
def user_data(user_id: int):
    """The same download, made by an administrator for a request on paper."""
    return _download(get_or_404(User, user_id))


@bp.route("/admin/users/<int:user_id>/erase", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def erase(user_id: int):
    user = get_or_404(User, user_id)
    form = EraseForm()

    def page():
        refusal = erasure_refusal(user, current_user)
        return render_template(
            "privacy/erase.html",
            form=form,
            user=user,
            refusal=refusal,
            summary=erasure_summary(user),
        )

    if form.validate_on_submit():
        return perform(
            lambda: erase_learner(user, current_user, form.reason.data or ""),
            form=form,
            fail=page,
            done=_(
                "The learner's personal data has been erased. Their certificates stay verifiable."
            ),
            then=url_for("admin.edit_user", user_id=user.id),
        )
    return page()
