"""The forms of check-in: the learner's scan (check in, check out), and the instructor's desk."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, HiddenField, IntegerField, RadioField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from lca.models.hours import GEOFENCE_METRES
from lca.web.forms import BaseForm, clean_text, max_length, options

DIRECTIONS = [("in", "in"), ("out", "out")]


def finite(form, field) -> None:
    """ "NaN", "sNaN" and "Infinity" parse as decimals: none is a place."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(field.gettext("Not a valid decimal value."))


FROM_TO = _l("Enter a number from %(min)s to %(max)s.")


class ScanForm(BaseForm):
    """The learner's press of "Check in" or "Check out" after a scan; the place, filled in by
    the phone when the session asks where it is."""

    direction = RadioField(choices=options(DIRECTIONS), validators=[InputRequired()])
    latitude = HiddenField()
    longitude = HiddenField()


class HandMarkForm(BaseForm):
    """The roster's button pressed: "in-<enrolment id>" or "out-<enrolment id>"."""

    mark = StringField(validators=[InputRequired(), Regexp(r"^(in|out)-[0-9]{1,10}$")])

    @property
    def direction(self) -> str:
        return str(self.mark.data).partition("-")[0]

    @property
    def enrolment_id(self) -> int:
        return int(str(self.mark.data).partition("-")[2])


class PointForm(BaseForm):
    name = StringField(
        _l("Name of the point"),
        description=_l("A booth, a talk or a room of the session, as the learners know it."),
        filters=[clean_text],
        validators=[DataRequired(), max_length(200)],
    )


class PlaceCheckForm(BaseForm):
    latitude = DecimalField(
        _l("Latitude"),
        places=6,
        validators=[Optional(), finite, NumberRange(min=-90, max=90, message=FROM_TO)],
    )
    longitude = DecimalField(
        _l("Longitude"),
        places=6,
        validators=[Optional(), finite, NumberRange(min=-180, max=180, message=FROM_TO)],
    )
    metres = IntegerField(
        _l("Radius in metres"),
        description=_l("Leave empty to check in without asking where the phone is."),
        validators=[
            Optional(),
            NumberRange(min=GEOFENCE_METRES[0], max=GEOFENCE_METRES[1], message=FROM_TO),
        ],
    )


class DeskForm(BaseForm):
    """Close, reopen, confirm: a button and its CSRF token."""
