"""The learner's side of check-in: the link in the QR code, and what it leads to.

The link (``/c/<code>``) is checked at once, on the server's clock. The scan is then carried to
``/check-in`` in a signed value that holds when it was scanned, through the sign-in when the
phone is not signed in (a remembered device goes straight through), and bound to the browser
that scanned by a cookie, so that a forwarded link checks no one in. There, the learner is
checked in (or, when the session asks, first shares where the phone is); a learner already
checked in at that point is asked to confirm the check-out.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from lca.check_in import bp
from lca.check_in.forms import ScanForm
from lca.check_in.scans import (
    SCAN_KEEPS,
    Outcome,
    Position,
    Scan,
    active_enrolment,
    check_in,
    check_out,
    next_direction,
    read_scan,
    scan_from,
)
from lca.check_in.stays import Stay, points_of, stays_of
from lca.core.db import db
from lca.models import Attendance, ClassSession, ScanKind, UserSession
from lca.web.extensions import limiter
from lca.web.pages import perform
from lca.web.permissions import Role, get_or_404, public, role_required

SCAN_COOKIE = "lca_check_in"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        str(current_app.secret_key),
        salt="lca.check-in.scan",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def _refused(message: str | None, status: int = 400):
    """A page saying why nothing happened: ``message``, or the refusal flashed by ``perform``."""
    return render_template("check_in/refused.html", message=message), status


#: per address: generous, since a festival's learners may all come through the venue's one
#: address; a code's 96-bit signature cannot be guessed at any rate
SCAN_LIMIT = "600 per minute"


@bp.get("/c/<check_in_code>")
@limiter.limit(SCAN_LIMIT)
@public
def scan(check_in_code: str):
    """The link of a QR code: checked now, then carried to the check-in (through sign-in)."""
    return perform(  # reads only: a refusal is shown on a page of its own
        lambda: read_scan(check_in_code), then=_carry, fail=lambda: _refused(None)
    )


def _carry(found: Scan):
    """To the check-in, with the scan signed in the link and the browser's own cookie."""
    nonce = secrets.token_urlsafe(16)
    scanned_at = int(found.at.timestamp() * 1000)  # the server's time, to the millisecond
    carried = _serializer().dumps([found.point.id, found.step, _digest(nonce), scanned_at])
    response = redirect(url_for(".scanned", scan=carried))
    response.set_cookie(
        SCAN_COOKIE,
        nonce,
        max_age=int(SCAN_KEEPS.total_seconds()),
        path="/check-in",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()[:32]


def _carried_scan() -> Scan | None:
    """The scan this request carries, if it is still good and was made in this browser."""
    carried = request.values.get("scan", "")
    if not carried or len(carried) > 300:
        return None
    try:
        point_id, step, digest, scanned_at = _serializer().loads(
            carried, max_age=int(SCAN_KEEPS.total_seconds())
        )
    except (BadSignature, ValueError, TypeError):
        return None
    nonce = request.cookies.get(SCAN_COOKIE, "")
    if (
        not isinstance(digest, str)
        or not nonce
        or not secrets.compare_digest(_digest(nonce), digest)
    ):
        return None
    if not all(
        isinstance(n, int) and not isinstance(n, bool) for n in (point_id, step, scanned_at)
    ):
        return None
    try:
        at = datetime.fromtimestamp(scanned_at / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return scan_from(point_id, step, at)


def _device_id() -> int | None:
    """The signed-in device (its session row) making this request."""
    token = getattr(current_user, "session_token", None)
    if not token:
        return None
    return db.session.scalar(
        select(UserSession.id).where(
            UserSession.token_hash == hashlib.sha256(token.encode()).hexdigest()
        )
    )


@bp.route("/check-in", methods=["GET", "POST"])
@public
def scanned():
    """Check in (or out) with the scan this link carries."""
    found = _carried_scan()
    if found is None:  # a page to read, not an error: nothing happened
        return _refused(
            _(
                "There is no check-in waiting here, or it has waited too long (a scan is kept "
                "for 10 minutes). Scan the code on the session's screen again."
            ),
            200,
        )
    if not current_user.is_authenticated:
        flash(_("Sign in to finish checking in: your scan is kept for 10 minutes."), "info")
        return redirect(
            url_for("auth.login", next=url_for(".scanned", scan=request.values["scan"]))
        )
    return perform(  # reads only: whether this scan checks in or out, or why neither
        lambda: next_direction(found, current_user, _device_id()),
        then=lambda direction: _go_on(found, direction),
        fail=lambda: _refused(None, 403),
    )


def _go_on(found: Scan, direction: ScanKind):
    form = ScanForm()
    session = found.session
    asks_place = session.geofence_metres is not None
    if form.validate_on_submit():
        chosen = ScanKind(form.direction.data)
        return perform(
            lambda: _scan(found, chosen, form),
            fail=lambda: _scan_page(found, direction, form),
            then=lambda outcome: _done(session, outcome),
        )
    if direction is ScanKind.IN and not asks_place and request.method == "GET":
        return perform(
            lambda: _scan(found, ScanKind.IN, form),
            fail=lambda: _scan_page(found, direction, form, refused=True),
            then=lambda outcome: _done(session, outcome),
        )
    return _scan_page(found, direction, form)


def _scan(found: Scan, direction: ScanKind, form: ScanForm) -> Outcome:
    if direction is ScanKind.OUT:
        return check_out(found, current_user, _device_id())
    return check_in(found, current_user, _device_id(), _position(form))


def _position(form: ScanForm) -> Position | None:
    try:
        return Position(float(form.latitude.data or ""), float(form.longitude.data or ""))
    except ValueError:
        return None


def _scan_page(found: Scan, direction: ScanKind, form: ScanForm, refused: bool = False):
    session = found.session
    stay = _stay(session)
    return render_template(
        "check_in/scan.html",
        session=session,
        point=found.point,
        direction=direction,
        form=form,
        stay=stay,
        carried=request.values.get("scan", ""),
        refused=refused,
    ), (400 if refused else 200)


def _stay(session: ClassSession) -> Stay:
    enrolment = active_enrolment(session, current_user)
    if enrolment is None:
        return Stay()
    return stays_of(session, enrolment.id).get(enrolment.id, Stay())


def _done(session: ClassSession, outcome: Outcome):
    if outcome.kind is None and outcome.event is not None:
        flash(_("You are already checked in (one check-in is enough)."), "info")
    elif outcome.kind is ScanKind.OUT and outcome.credit is not None:
        if outcome.credit.kept_by_roll:
            flash(_("You have checked out. Your instructor has recorded your attendance."), "info")
        elif outcome.credit.cut_by_day_limit:
            flash(
                _(
                    "You have checked out. Only the hours your day still holds were credited: "
                    "a day holds at most 12 hours."
                ),
                "warning",
            )
    return redirect(url_for(".my_stay", session_id=session.id))


@bp.get("/sessions/<int:session_id>/my-check-in")
@role_required(Role.LEARNER)
def my_stay(session_id: int):
    """The learner's own check-in and check-out at a session, and the hours credited."""
    session = get_or_404(ClassSession, session_id)
    enrolment = active_enrolment(session, current_user)
    if enrolment is None:
        abort(403)
    stay = stays_of(session, enrolment.id).get(enrolment.id, Stay())
    attendance = db.session.scalar(
        select(Attendance).where(
            Attendance.class_session_id == session.id, Attendance.enrolment_id == enrolment.id
        )
    )
    points = points_of(session)
    return render_template(
        "check_in/my_stay.html",
        session=session,
        stay=stay,
        attendance=attendance,
        visited=[points[i] for i in stay.point_ids if i in points],
        several_points=len(points) > 1,
        now=datetime.now(UTC),
    )
