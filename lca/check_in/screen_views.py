"""The instructor's side of check-in: the screen with the rotating code and the live roster (for
a projector or a tablet at the door), and the desk's actions."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, jsonify, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lca.check_in import bp
from lca.check_in.codes import code_for, current_step, seconds_left
from lca.check_in.desk import (
    add_point,
    close_check_in,
    confirm_roster,
    ensure_points,
    mark_by_hand,
    reopen_check_in,
    roster_can_be_confirmed,
    set_place_check,
)
from lca.check_in.forms import DeskForm, HandMarkForm, PlaceCheckForm, PointForm
from lca.check_in.scans import Position
from lca.check_in.stays import points_of, roster
from lca.core.dates import current_language
from lca.models import CheckInPoint, ClassSession, ScanKind
from lca.web.addresses import public_url
from lca.web.pages import perform
from lca.web.permissions import Role, get_session_or_403, role_required

STAFF = (Role.ADMIN, Role.INSTRUCTOR)
NO_STORE = {"Cache-Control": "no-store"}


def _chosen(points: list[CheckInPoint], number: int) -> CheckInPoint:
    chosen = next((p for p in points if p.number == number), None)
    if chosen is None:
        abort(404)
    return chosen


def _code(point: CheckInPoint) -> dict[str, object]:
    import segno  # the QR code's drawing: loaded by the check-in screens alone

    step = current_step()
    link = f"{public_url()}{url_for('check_in.scan', check_in_code=code_for(point, step))}"
    return {
        "qr": segno.make(link, error="m").svg_data_uri(scale=8, border=2, dark="#000"),
        "step": step,
        "refresh_in": seconds_left(),
    }


@bp.get("/sessions/<int:session_id>/check-in")
@bp.get("/sessions/<int:session_id>/check-in/<int:point_number>")
@role_required(*STAFF)
def screen(session_id: int, point_number: int = 1):
    """A point's code, the session's name and place, and the roster, refreshing by itself."""
    session = get_session_or_403(session_id, current_user)
    place = PlaceCheckForm(
        latitude=Decimal(str(session.latitude)) if session.latitude is not None else None,
        longitude=Decimal(str(session.longitude)) if session.longitude is not None else None,
        metres=session.geofence_metres,
    )
    # a session's first point is made on the first visit of its screen (once: a second visit
    # at the same moment finds it)
    return perform(
        lambda: ensure_points(session),
        then=lambda points: _screen_page(
            session, points, _chosen(points, point_number), place_form=place
        ),
        fail=lambda: redirect(url_for("hours.sessions", cohort_id=session.cohort_id)),
    )


def _form_again(session: ClassSession, point_form=None, place_form=None):
    """The screen of the first point again, with a form's errors."""
    points = list(points_of(session).values())
    if not points:
        return redirect(_back(session))
    return _screen_page(session, points, points[0], point_form, place_form)


def _screen_page(session, points, point, point_form=None, place_form=None):
    response = make_response(
        render_template(
            "check_in/screen.html",
            session=session,
            points=points,
            point=point,
            code=_code(point),
            roster=roster(session, english=current_language() == "en"),
            desk_form=DeskForm(),
            point_form=point_form or PointForm(),
            place_form=place_form or PlaceCheckForm(),
            can_confirm=roster_can_be_confirmed(session),
        )
    )
    response.headers.update(NO_STORE)
    return response


@bp.get("/sessions/<int:session_id>/check-in/<int:point_number>/code")
@role_required(*STAFF)
def code(session_id: int, point_number: int):
    """The point's current code, for the screen's script to show the next one."""
    session = get_session_or_403(session_id, current_user)
    point = _chosen(list(points_of(session).values()), point_number)
    response = jsonify(_code(point))
    response.headers.update(NO_STORE)
    return response


@bp.get("/sessions/<int:session_id>/check-in/roster")
@role_required(*STAFF)
def roster_part(session_id: int):
    """The roster alone, for the screen's script to refresh."""
    session = get_session_or_403(session_id, current_user)
    response = make_response(
        render_template(
            "check_in/_roster.html",
            session=session,
            roster=roster(session, english=current_language() == "en"),
        )
    )
    response.headers.update(NO_STORE)
    return response


def _back(session: ClassSession) -> str:
    return url_for(".screen", session_id=session.id)


@bp.post("/sessions/<int:session_id>/check-in/by-hand")
@role_required(*STAFF)
def by_hand(session_id: int):
    session = get_session_or_403(session_id, current_user)
    form = HandMarkForm()
    if not form.validate_on_submit():
        flash(_("Choose a learner of the roster to check in or out."), "error")
        return redirect(_back(session))
    direction = ScanKind(form.direction)
    return perform(
        lambda: mark_by_hand(session, form.enrolment_id, direction, current_user),
        done=_("Checked in by hand.") if direction is ScanKind.IN else _("Checked out by hand."),
        then=_back(session),
    )


@bp.post("/sessions/<int:session_id>/check-in/close")
@role_required(*STAFF)
def close(session_id: int):
    session = get_session_or_403(session_id, current_user)
    if not DeskForm().validate_on_submit():
        return redirect(_back(session))
    return perform(
        lambda: close_check_in(session, current_user),
        done=_("Check-in is closed: no scan counts from now on."),
        then=_back(session),
    )


@bp.post("/sessions/<int:session_id>/check-in/reopen")
@role_required(*STAFF)
def reopen(session_id: int):
    session = get_session_or_403(session_id, current_user)
    if not DeskForm().validate_on_submit():
        return redirect(_back(session))
    return perform(
        lambda: reopen_check_in(session, current_user),
        done=_("Check-in is open again."),
        then=_back(session),
    )


@bp.post("/sessions/<int:session_id>/check-in/confirm")
@role_required(*STAFF)
def confirm(session_id: int):
    session = get_session_or_403(session_id, current_user)
    if not DeskForm().validate_on_submit():
        return redirect(_back(session))
    return perform(
        lambda: confirm_roster(session, current_user),
        done=lambda count: _(
            "Roster confirmed: %(count)s learners still checked in are credited the session's "
            "hours.",
            count=count,
        ),
        then=_back(session),
    )


@bp.post("/sessions/<int:session_id>/check-in/points")
@role_required(*STAFF)
def new_point(session_id: int):
    session = get_session_or_403(session_id, current_user)
    form = PointForm()
    if not form.validate_on_submit():
        return _form_again(session, point_form=form)
    return perform(
        lambda: add_point(session, form.name.data or "", current_user),
        form=form,
        done=_("The point has been added: open its screen for its own code."),
        fail=lambda: _form_again(session, point_form=form),
        then=lambda added: redirect(
            url_for(".screen", session_id=session.id, point_number=added.number)
        ),
    )


@bp.post("/sessions/<int:session_id>/check-in/place")
@role_required(*STAFF)
def place_check(session_id: int):
    session = get_session_or_403(session_id, current_user)
    form = PlaceCheckForm()
    if not form.validate_on_submit():
        return _form_again(session, place_form=form)
    latitude, longitude, metres = form.latitude.data, form.longitude.data, form.metres.data
    position = (
        Position(float(latitude), float(longitude))
        if latitude is not None and longitude is not None
        else None
    )
    if metres is not None and position is None:
        form.latitude.errors = [_("Give the place's latitude and longitude with the radius.")]
        return _form_again(session, place_form=form)
    return perform(
        lambda: set_place_check(session, position, metres, current_user),
        form=form,
        done=_("Saved: phones checking in are asked where they are.")
        if metres is not None
        else _("Saved: phones checking in are not asked where they are."),
        fail=lambda: _form_again(session, place_form=form),
        then=_back(session),
    )
