"""The audit trail told as sentences for people: "ครูสมชาย อนุมัติ 2 ชั่วโมง (หมวด 3) ของ สมหญิง",
the object a link to its page, the details decoded (Thai reasons as written, dates as the
screen shows them). The trail itself keeps codes (lca.core.audit); this is only how it reads.

Every action that the code records has a name and a sentence here (tests/test_audit_log.py
finds the actions in the source and fails on one without)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import url_for
from markupsafe import Markup, escape
from sqlalchemy import select

from lca.core.dates import format_day
from lca.core.db import db
from lca.models import (
    AuditEvent,
    Certificate,
    City,
    ClassSession,
    Cohort,
    CurriculumVersion,
    Enrolment,
    FieldReport,
    GradeResult,
    HourLog,
    Message,
    Role,
    User,
)
from lca.web.i18n import LABELS, label, localized, minutes_as_hours, ngettext
from lca.web.i18n import gettext as _
from lca.web.i18n import lazy_gettext as _l

#: action → (its name in the filter and the export, the sentence); placeholders: %(actor)s,
#: %(object)s, %(learner)s (whose object it is), and the details' own values
ACTIONS: dict[str, tuple[Any, Any]] = {
    "attendance.correct": (
        _l("Attendance corrected"),
        _l("%(actor)s corrected a learner's attendance at %(object)s"),
    ),
    "attendance.record": (
        _l("Attendance taken"),
        _l("%(actor)s took attendance at %(object)s (%(learners)s learners)"),
    ),
    "auth.login": (_l("Signed in"), _l("%(actor)s signed in")),
    "auth.login_failed": (
        _l("Sign-in failed"),
        _l("Someone tried to sign in as %(email)s with a wrong password"),
    ),
    "auth.login_refused": (
        _l("Sign-in refused"),
        _l("%(actor)s could not sign in: the account is deactivated"),
    ),
    "auth.password_check_failed": (
        _l("Current password wrong"),
        _l("%(actor)s typed a wrong current password"),
    ),
    "auth.password_check_locked": (
        _l("Signed out after wrong passwords"),
        _l("%(actor)s was signed out after too many wrong current passwords"),
    ),
    "auth.temporary_password_expired": (
        _l("One-time password expired"),
        _l("%(actor)s could not sign in: the one-time password had expired"),
    ),
    "auth.password_reset_requested": (
        _l("Password reset asked for"),
        _l("A new password was asked for %(email)s"),
    ),
    "certificate.issue": (
        _l("Certificate issued"),
        _l("%(actor)s issued certificate %(object)s to %(learner)s"),
    ),
    "certificate.reissue": (
        _l("Certificate re-issued"),
        _l("%(actor)s re-issued certificate %(object)s as %(new_serial)s"),
    ),
    "certificate.revoke": (
        _l("Certificate revoked"),
        _l("%(actor)s revoked certificate %(object)s of %(learner)s"),
    ),
    "keys.rotate": (
        _l("Signing keys rotated"),
        _l(
            "%(actor)s replaced the issuer's signing keys; the old ones stay published, so "
            "credentials signed before still verify"
        ),
    ),
    "city.create": (_l("City added"), _l("%(actor)s added the city %(object)s")),
    "city.update": (_l("City changed"), _l("%(actor)s changed the city %(object)s")),
    "calendar_feed.renew": (
        _l("Calendar address renewed"),
        _l("%(actor)s renewed the address of their calendar feed"),
    ),
    "check_in.by_hand": (
        _l("Checked in or out by hand"),
        _l("%(actor)s checked a learner in or out by hand at %(object)s"),
    ),
    "check_in.close": (_l("Check-in closed"), _l("%(actor)s closed check-in at %(object)s")),
    "check_in.confirm_roster": (
        _l("Check-in roster confirmed"),
        _l(
            "%(actor)s confirmed the check-in roster of %(object)s (%(learners)s learners still "
            "checked in credited the session's hours)"
        ),
    ),
    "check_in.place_check": (
        _l("Place check changed"),
        _l("%(actor)s changed where phones checking in at %(object)s must be"),
    ),
    "check_in.point_add": (
        _l("Check-in point added"),
        _l("%(actor)s added the check-in point “%(name)s” to %(object)s"),
    ),
    "check_in.reopen": (_l("Check-in reopened"), _l("%(actor)s reopened check-in at %(object)s")),
    "class_session.cancel": (_l("Session cancelled"), _l("%(actor)s cancelled %(object)s")),
    "class_session.create": (_l("Session scheduled"), _l("%(actor)s scheduled %(object)s")),
    "class_session.update": (_l("Session changed"), _l("%(actor)s changed %(object)s")),
    "cohort.assign_instructor": (
        _l("Instructor assigned"),
        _l("%(actor)s made %(instructor)s an instructor of the cohort %(object)s"),
    ),
    "cohort.create": (_l("Cohort created"), _l("%(actor)s created the cohort %(object)s")),
    "cohort.curriculum_move": (
        _l("Cohort moved to another curriculum"),
        _l("%(actor)s moved the cohort %(object)s to another curriculum version"),
    ),
    "curriculum.reword": (
        _l("Curriculum reworded"),
        _l("%(actor)s reworded the curriculum %(object)s in place"),
    ),
    "curriculum.version_create": (
        _l("Curriculum version created"),
        _l("%(actor)s created the curriculum version %(object)s"),
    ),
    "cohort.import": (
        _l("Learners imported"),
        _l("%(actor)s imported %(rows)s learners into the cohort %(object)s"),
    ),
    "cohort.unassign_instructor": (
        _l("Instructor taken off"),
        _l("%(actor)s took %(instructor)s off the cohort %(object)s"),
    ),
    "cohort.update": (_l("Cohort changed"), _l("%(actor)s changed the cohort %(object)s")),
    "enrolment.create": (_l("Learner enrolled"), _l("%(actor)s enrolled %(object)s")),
    "enrolment.extend_field_window": (
        _l("Field window changed"),
        _l("%(actor)s set the last day of the field window of %(object)s to %(extended_to)s"),
    ),
    "enrolment.field_start": (
        _l("Field window moved"),
        _l("%(actor)s moved the field window of %(object)s"),
    ),
    "enrolment.reinstate": (_l("Learner reinstated"), _l("%(actor)s reinstated %(object)s")),
    "enrolment.withdraw": (_l("Learner withdrawn"), _l("%(actor)s withdrew %(object)s")),
    "field_report.grade": (
        _l("Field report graded"),
        _l("%(actor)s graded %(object)s of %(learner)s: %(result)s"),
    ),
    "field_report.reassign": (
        _l("Assessor changed"),
        _l("%(actor)s made %(assessor)s the assessor of %(object)s"),
    ),
    "field_report.reopen": (
        _l("Field report reopened"),
        _l("%(actor)s reopened %(object)s so that the learner may hand in a new one"),
    ),
    "field_report.resubmit": (
        _l("Field report handed in again"),
        _l("%(actor)s revised %(object)s and handed it in again"),
    ),
    "field_report.submit": (_l("Field report handed in"), _l("%(actor)s handed in %(object)s")),
    "field_report.update": (_l("Field report changed"), _l("%(actor)s changed %(object)s")),
    "hour_log.answer": (
        _l("Question answered"),
        _l("%(actor)s answered the question about %(object)s"),
    ),
    "hour_log.approve": (
        _l("Hours approved"),
        _l("%(actor)s approved %(object)s of %(learner)s"),
    ),
    "hour_log.reject": (
        _l("Hours not approved"),
        _l("%(actor)s did not approve %(object)s of %(learner)s"),
    ),
    "hour_log.resubmit": (
        _l("Hours sent again"),
        _l("%(actor)s changed %(object)s and sent it again"),
    ),
    "hour_log.return": (
        _l("Hours returned with a question"),
        _l("%(actor)s returned %(object)s of %(learner)s with a question"),
    ),
    "hour_log.submit": (_l("Hours logged"), _l("%(actor)s logged %(object)s")),
    "hour_log.update": (_l("Hour log changed"), _l("%(actor)s changed the log of %(object)s")),
    "hour_log.withdraw": (_l("Hour log withdrawn"), _l("%(actor)s withdrew %(object)s")),
    "evidence.retention": (
        _l("Evidence removed under the retention rule"),
        _l(
            "%(actor)s removed %(files)s evidence files of the cohort %(object)s "
            "under the retention rule"
        ),
    ),
    "message.retry": (_l("Message sent again"), _l("%(actor)s had %(object)s sent again")),
    "notifications.choose": (
        _l("Message choices changed"),
        _l("%(actor)s changed which messages they receive"),
    ),
    "notifications.unsubscribe": (
        _l("Unsubscribed"),
        _l("%(actor)s stopped one kind of e-mail from a link in an e-mail"),
    ),
    "personal_data.erase": (
        _l("Personal data erased"),
        _l("%(actor)s erased the personal data of %(object)s"),
    ),
    "personal_data.export": (
        _l("Personal data downloaded"),
        _l("%(actor)s downloaded the personal data of %(object)s"),
    ),
    "second_factor.failed": (
        _l("Second step failed"),
        _l("Someone gave a wrong second factor for the account of %(object)s"),
    ),
    "second_factor.locked": (
        _l("Second step locked"),
        _l("Too many wrong second-factor codes: the second step of %(object)s is locked for now"),
    ),
    "second_factor.passkey_added": (
        _l("Passkey added"),
        _l("%(actor)s added a passkey (%(name)s)"),
    ),
    "second_factor.passkey_removed": (
        _l("Passkey removed"),
        _l("%(actor)s removed a passkey (%(name)s)"),
    ),
    "second_factor.recovery_codes_made": (
        _l("Recovery codes made"),
        _l("%(actor)s made new recovery codes (the earlier ones stopped working)"),
    ),
    "second_factor.reset": (
        _l("Second factor reset"),
        _l("%(actor)s reset the second factor of %(object)s"),
    ),
    "second_factor.totp_enrolled": (
        _l("Authenticator app set up"),
        _l("%(actor)s set up an authenticator app"),
    ),
    "second_factor.totp_removed": (
        _l("Authenticator app removed"),
        _l("%(actor)s removed their authenticator app"),
    ),
    "user.activate": (
        _l("Account reactivated"),
        _l("%(actor)s reactivated the account of %(object)s"),
    ),
    "user.create": (_l("Account created"), _l("%(actor)s created the account of %(object)s")),
    "user.deactivate": (
        _l("Account deactivated"),
        _l("%(actor)s deactivated the account of %(object)s"),
    ),
    "user.invitation_resent": (
        _l("Invitation sent again"),
        _l("%(actor)s sent %(object)s a new invitation"),
    ),
    "user.password_change": (_l("Password changed"), _l("%(actor)s changed their password")),
    "user.password_reset": (
        _l("One-time password given"),
        _l("%(actor)s gave %(object)s a new one-time password"),
    ),
    "user.password_reset_by_link": (
        _l("Password reset by link"),
        _l("%(actor)s chose a new password from a reset link"),
    ),
    "user.password_setup": (
        _l("First password chosen"),
        _l("%(actor)s chose a password for the first time"),
    ),
    "user.sessions_ended": (
        _l("Signed out everywhere"),
        _l("%(actor)s ended %(sessions)s sessions of %(object)s"),
    ),
    "user.session_ended": (
        _l("Device signed out"),
        _l("%(actor)s signed one of their other devices out"),
    ),
    "user.update": (_l("Account changed"), _l("%(actor)s changed the account of %(object)s")),
}

#: the kinds of object in the trail (their table names), for the filter and the export
OBJECTS: dict[str, Any] = {
    "certificates": _l("Certificate"),
    "cities": _l("City"),
    "class_sessions": _l("Class session"),
    "cohorts": _l("Cohort"),
    "curriculum_versions": _l("Curriculum version"),
    "enrolments": _l("Enrolment"),
    "field_reports": _l("Field report"),
    "hour_logs": _l("Hour log"),
    "messages": _l("Message"),
    "users": _l("Account"),
}

#: names of the details' keys, as a person reads them
DETAIL_NAMES: dict[str, Any] = {
    "reason": _l("Reason"),
    "serial": _l("Serial"),
    "new_serial": _l("New serial"),
    "email": _l("E-mail address"),
    "role": _l("Role"),
    "minutes": _l("Minutes"),
    "module": _l("Module"),
    "changes": _l("Changes"),
    "result": _l("Result"),
    "total": _l("Total"),
    "previous": _l("Before"),
    "extended_to": _l("Extended to"),
    "outcome": _l("Outcome"),
    "error": _l("Error"),
    "file": _l("File"),
    "rows": _l("Rows"),
    "held_on": _l("Day"),
    "topic": _l("Topic"),
    "sessions": _l("Sessions"),
    "session": _l("Session"),
    "device": _l("Device"),
    "form": _l("Form"),
    "expired_at": _l("Expired at"),
    "logs": _l("Hour logs"),
    "rubric_version": _l("Rubric version"),
    "learners": _l("Learners"),
    "new_accounts": _l("New accounts"),
    "status": _l("Status"),
    "before": _l("Before"),
    "after": _l("After"),
    "starts": _l("Starts"),
    "ends": _l("Ends"),
    "bulk": _l("Decided with others at once"),
    "grade_id": _l("Grade set aside (number)"),
    "confirmed_far": _l("A far date, confirmed"),
    "via": _l("Made by"),
    "enrolment_id": _l("Enrolment number"),
    "cohort_id": _l("Cohort number"),
    "method": _l("Second factor"),
    "name": _l("Name"),
    "number": _l("Version number"),
    "hours": _l("Hours in all"),
    "curriculum": _l("Curriculum version"),
    "from_version": _l("From curriculum version"),
    "to_version": _l("To curriculum version"),
    "logs_moved": _l("Hour logs moved to the new version's modules"),
    "logs_carried_over": _l("Hour logs carried over"),
    "sessions_moved": _l("Class sessions moved to the new version's modules"),
    "certificates_stand": _l("Certificates already issued stand as issued"),
    "field_window_months": _l("Field window (months)"),
}

#: details whose values are codes, in words
CODED_VALUES: dict[str, dict[str, Any]] = {
    "role": {role.value: LABELS[role] for role in Role},
    "via": {"import": _l("an import from a spreadsheet")},
    "outcome": {
        "sent": _l("the link was sent"),
        "unknown": _l("no account has this address"),
        "inactive": _l("the account is deactivated"),
        "throttled": _l("too many requests: nothing sent"),
    },
    "method": {
        "totp": _l("authenticator app"),
        "passkey": _l("passkey"),
        "recovery": _l("recovery code"),
    },
}

MODELS: dict[str, type[Any]] = {
    model.__tablename__: model
    for model in (
        *(Certificate, City, ClassSession, Cohort, CurriculumVersion, Enrolment, FieldReport),
        *(HourLog, Message, User),
    )
}
USER_DETAILS = ("instructor_id", "assessor", "learner_id")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def action_name(action: str) -> str:
    """The action's name in the filter and the export ("Hours approved")."""
    known = ACTIONS.get(action)
    return str(known[0]) if known else action


def object_name(target_type: str | None) -> str:
    return str(OBJECTS.get(target_type, target_type)) if target_type else ""


@dataclass
class Told:
    """One event as it reads: the sentence (HTML with the object's link, and as plain text)
    and its details as (name, value) pairs."""

    event: AuditEvent
    html: Markup
    text: str
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def origin(self) -> str:
        """Where it came from: the client's address, or a command run on the server."""
        return origin_text(self.event.origin)


def origin_text(origin: str) -> str:
    """An event's origin as a person reads it ("cli" is an operator's command on the server)."""
    return _("A command on the server") if origin == "cli" else origin


@dataclass
class _Named:
    text: str
    url: str | None = None
    extras: dict[str, str] = field(default_factory=dict)


def _person(user: User | None) -> str:
    return localized(user, "full_name") if user is not None else ""


def _hours(minutes: int) -> str:
    whole = minutes // 60 if minutes % 60 == 0 else 2  # gettext counts in whole numbers: 1.5 hours
    return ngettext("%(num)s hour", "%(num)s hours", whole) % {"num": minutes_as_hours(minutes)}


def _describe(obj: Any) -> _Named:
    """What an object is called in a sentence, where its page is, and whose it is."""
    if isinstance(obj, HourLog):
        what = _(
            "%(hours)s in module %(module)s", hours=_hours(obj.minutes), module=obj.module.number
        )
        return _Named(
            what,
            url_for("hours.show_log", log_id=obj.id),
            {"learner": _person(obj.enrolment.learner)},
        )
    if isinstance(obj, User):
        return _Named(_person(obj), url_for("admin.edit_user", user_id=obj.id))
    if isinstance(obj, Cohort):
        return _Named(obj.code, url_for("cohorts.show", cohort_id=obj.id))
    if isinstance(obj, CurriculumVersion):
        return _Named(localized(obj, "name"), url_for("curriculum.index", version=obj.number))
    if isinstance(obj, City):
        return _Named(localized(obj, "name"), url_for("admin.edit_city", city_id=obj.id))
    if isinstance(obj, Enrolment):
        who = _(
            "%(learner)s of the cohort %(code)s", learner=_person(obj.learner), code=obj.cohort.code
        )
        return _Named(
            who, url_for("hours.enrolment", enrolment_id=obj.id), {"learner": _person(obj.learner)}
        )
    if isinstance(obj, FieldReport):
        return _Named(
            _("field report no. %(number)s", number=obj.id),
            url_for("assessment.report", report_id=obj.id),
            {"learner": _person(obj.enrolment.learner)},
        )
    if isinstance(obj, Certificate):
        return _Named(
            obj.serial,
            url_for("certificates.show", certificate_id=obj.id),
            {"learner": _person(obj.enrolment.learner)},
        )
    if isinstance(obj, ClassSession):
        what = _(
            "the session of module %(module)s on %(day)s",
            module=obj.module.number,
            day=format_day(obj.held_on, "short"),
        )
        return _Named(what, url_for("hours.attendance", session_id=obj.id))
    if isinstance(obj, Message):
        return _Named(_("message no. %(number)s", number=obj.id), url_for("admin.messages"))
    return _Named(str(getattr(obj, "id", "")))


def _value(value: Any) -> str:
    """A detail's value as a person reads it: dates as the screen shows them, Thai as written
    (never \\u escapes), a change as "before → after"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        if ISO_DAY.match(value):
            try:
                return format_day(date.fromisoformat(value), "short")
            except ValueError:
                return value
        return value
    if (
        isinstance(value, list)
        and len(value) == 2
        and not any(isinstance(v, (list, dict)) for v in value)
    ):
        return f"{_value(value[0])} → {_value(value[1])}"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_value(v)}" for key, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def _details(details: dict[str, Any], people: dict[int, User]) -> list[tuple[str, str]]:
    shown = []
    for key, value in (details or {}).items():
        if key in USER_DETAILS and isinstance(value, int) and value in people:
            shown.append(
                (str(DETAIL_NAMES.get(key, key.removesuffix("_id"))), _person(people[value]))
            )
        elif key in CODED_VALUES and isinstance(value, str) and value in CODED_VALUES[key]:
            shown.append((str(DETAIL_NAMES.get(key, key)), str(CODED_VALUES[key][value])))
        elif key == "changes" and isinstance(value, list):  # a list of what changed, not a pair
            shown.append((str(DETAIL_NAMES[key]), "; ".join(_value(v) for v in value) or "—"))
        elif key == "result" and isinstance(value, str) and value in {r.value for r in GradeResult}:
            shown.append((str(DETAIL_NAMES["result"]), label(GradeResult(value))))
        else:
            shown.append((str(DETAIL_NAMES.get(key, key)), _value(value)))
    return shown


class _Blank(dict[str, Any]):
    """Sentence values; one that an event lacks reads as a dash, never a KeyError."""

    def __missing__(self, key: str) -> str:
        return "—"


def _load(events: Sequence[AuditEvent]) -> tuple[dict[tuple[str, int], Any], dict[int, User]]:
    wanted: dict[str, set[int]] = {}
    user_ids: set[int] = set()
    for event in events:
        if event.target_type in MODELS and event.target_id is not None:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
        for key in USER_DETAILS:
            value = (event.details or {}).get(key)
            if isinstance(value, int):
                user_ids.add(value)
    objects: dict[tuple[str, int], Any] = {}
    for table, ids in wanted.items():
        model = MODELS[table]
        for obj in db.session.scalars(select(model).where(model.id.in_(ids))):
            objects[(table, obj.id)] = obj
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    return objects, people


def _link(url: str, text: str) -> Markup:
    """A link, its address and text escaped (an f-string: ``Markup.format`` was slow)."""
    return Markup(f'<a href="{escape(url)}">{escape(text)}</a>')  # noqa: S704 - escaped  # nosec B704


def tell(events: Sequence[AuditEvent]) -> list[Told]:
    """The events as sentences (objects and people they name are loaded once for all)."""
    objects, people = _load(events)
    told = []
    for event in events:
        details = event.details or {}
        target = objects.get((event.target_type or "", event.target_id or 0))
        named = _describe(target) if target is not None else None
        if event.actor is not None:
            actor = _person(event.actor)
            actor_html = _link(url_for("admin.edit_user", user_id=event.actor.id), actor)
        else:
            actor = _("The system") if event.origin == "cli" else _("Someone not signed in")
            actor_html = escape(actor)
        if named is None:
            gone = f"{object_name(event.target_type)} #{event.target_id}" if event.target_id else ""
            named = _Named(gone)
        values = _Blank({k: _value(v) for k, v in details.items()})
        for key in USER_DETAILS:
            if isinstance(details.get(key), int) and details[key] in people:
                values[key.removesuffix("_id")] = _person(people[details[key]])
        if details.get("result") in {r.value for r in GradeResult}:
            values["result"] = label(GradeResult(details["result"]))
        values.update(named.extras)
        template = ACTIONS.get(event.action, (None, _l("%(actor)s: %(action)s %(object)s")))[1]
        text_values = _Blank(values, actor=actor, object=named.text, action=event.action)
        text = str(template) % text_values
        link = _link(named.url, named.text) if named.url else escape(named.text)
        html = escape(str(template)) % _Blank(text_values, actor=actor_html, object=link)
        told.append(Told(event, html, text, _details(details, people)))
    return told


def tell_in_batches(events: Iterable[AuditEvent], size: int = 500) -> Iterator[Told]:
    """``tell`` over a long stream (an export), a batch at a time."""
    batch: list[AuditEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield from tell(batch)
            batch = []
    if batch:
        yield from tell(batch)
