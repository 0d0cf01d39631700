"""The audit trail for administrators: browse and filter by person, action, object and date,
and export what the filter shows."""

from datetime import datetime, time, timedelta

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from lca.admin import bp
from lca.admin.audit_sentences import action_name, object_name, tell, tell_in_batches
from lca.admin.export_views import BATCH, export_kind
from lca.admin.services import escape_like
from lca.core.collation import thai_sorted
from lca.core.dates import programme_timezone
from lca.core.db import db
from lca.models import AuditEvent, Role, User
from lca.web.downloads import spreadsheet
from lca.web.forms import BaseForm, DayField, clean_text, max_length, options, read_filters
from lca.web.pages import MAX_DATABASE_INT, page_number, query_filters
from lca.web.permissions import role_required


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False

    person = StringField(
        _l("Person (e-mail or name)"),
        filters=[clean_text],
        validators=[Optional(), max_length(200)],
    )
    action = SelectField(_l("Action"), default="")
    target_type = SelectField(_l("Object"), default="")
    target_id = IntegerField(
        _l("Object number"),
        validators=[
            Optional(),
            NumberRange(0, MAX_DATABASE_INT, _l("Enter a number from %(min)s to %(max)s.")),
        ],
    )
    since = DayField(_l("From"), validators=[Optional()])
    until = DayField(_l("To"), validators=[Optional()])


def _filtered(form: AuditFilterForm):
    query = (
        select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    if form.person.data:
        pattern = f"%{escape_like(form.person.data.lower())}%"
        people = select(User.id).where(
            func.lower(User.email).like(pattern, escape="\\")
            | func.lower(User.full_name_th).like(pattern, escape="\\")
            | func.lower(User.full_name_en).like(pattern, escape="\\")
        )
        query = query.where(AuditEvent.actor_id.in_(people))
    if form.action.data:
        query = query.where(AuditEvent.action == form.action.data)
    if form.target_type.data:
        query = query.where(AuditEvent.target_type == form.target_type.data)
    if form.target_id.data is not None:
        query = query.where(AuditEvent.target_id == form.target_id.data)
    zone = programme_timezone()
    if form.since.data:
        query = query.where(
            AuditEvent.occurred_at >= datetime.combine(form.since.data, time(), tzinfo=zone)
        )
    if form.until.data:
        end = datetime.combine(form.until.data + timedelta(days=1), time(), tzinfo=zone)
        query = query.where(AuditEvent.occurred_at < end)
    return query


def _label(choice: tuple[str, str]) -> str:
    return choice[1]


def _form() -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    targets = db.session.scalars(
        select(AuditEvent.target_type)
        .distinct()
        .where(AuditEvent.target_type.is_not(None))
        .order_by(AuditEvent.target_type)
    )
    form.action.choices = options(
        [("", _("All actions")), *thai_sorted(((a, action_name(a)) for a in actions), _label)]
    )
    form.target_type.choices = options(
        [
            ("", _("All objects")),
            *thai_sorted(((t, object_name(t)) for t in targets if t is not None), _label),
        ]
    )
    read_filters(form)
    return form


#: the audit page's filters, carried into its next-page and export links
AUDIT_FILTERS = ("person", "action", "target_type", "target_id", "since", "until")


@bp.get("/audit")
@role_required(Role.ADMIN)
def audit():
    form = _form()
    page = db.paginate(
        _filtered(form),
        page=page_number(),
        per_page=current_app.config["LCA_PAGE_SIZE"],
        error_out=False,
    )
    arguments = query_filters(AUDIT_FILTERS)
    return render_template(
        "admin/audit.html", form=form, page=page, told=tell(page.items), arguments=arguments
    )


@bp.get("/audit.<kind>")
@role_required(Role.ADMIN)
def export_audit(kind: str):
    query = _filtered(_form()).execution_options(yield_per=BATCH)
    header = [
        _("When"),
        _("What happened"),
        _("Person"),
        _("Action"),
        _("Object"),
        _("Object number"),
        _("Details"),
        _("From"),
    ]

    def lines():
        for told in tell_in_batches(db.session.scalars(query)):
            event = told.event
            yield [
                event.occurred_at,
                told.text,
                event.actor.email if event.actor else "",
                action_name(event.action),
                object_name(event.target_type),
                event.target_id,
                "; ".join(f"{name}: {value}" for name, value in told.details),
                told.origin,
            ]

    return spreadsheet(export_kind(kind), header, lines(), "audit-log")
