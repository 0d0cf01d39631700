from flask_babel import lazy_gettext as _l
from wtforms import EmailField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Email, NumberRange, Optional

from lca.auth.forms import LANGUAGE_CHOICES
from lca.models import Role
from lca.web.forms import BaseForm, clean_email, clean_text, max_length, options
from lca.web.i18n import LABELS

ROLE_CHOICES = [(role.value, LABELS[role]) for role in Role]


class UserForm(BaseForm):
    email = EmailField(
        _l("E-mail address"),
        filters=[clean_email],
        validators=[
            DataRequired(_l("Enter the e-mail address.")),
            max_length(254),
            Email(_l("This is not a valid e-mail address."), check_deliverability=False),
        ],
    )
    full_name_th = StringField(
        _l("Full name in Thai"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter the full name in Thai.")), max_length(200)],
    )
    full_name_en = StringField(
        _l("Full name in English"), filters=[clean_text], validators=[Optional(), max_length(200)]
    )
    role = SelectField(_l("Role"), choices=options(ROLE_CHOICES), default=Role.LEARNER.value)
    city_id = SelectField(_l("City"), coerce=int, default=0)
    organisation = StringField(
        _l("Organisation"), filters=[clean_text], validators=[Optional(), max_length(200)]
    )
    preferred_language = SelectField(
        _l("Language"), choices=options(LANGUAGE_CHOICES), default="th"
    )


class UserSearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[clean_text], validators=[Optional(), max_length(200)])
    role = SelectField(
        _l("Role"), choices=options([("", _l("All roles")), *ROLE_CHOICES]), default=""
    )
    status = SelectField(
        _l("Status"),
        choices=options([("", _l("All")), ("active", _l("Active")), ("inactive", _l("Inactive"))]),
        default="",
    )


class CityForm(BaseForm):
    name_th = StringField(
        _l("Name in Thai"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter the name in Thai.")), max_length(120)],
    )
    name_en = StringField(
        _l("Name in English"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter the name in English.")), max_length(120)],
    )
    gnlc_joined_year = IntegerField(
        _l("Year joined the UNESCO learning-city network (Buddhist era)"),
        description=_l("Leave empty if the city is not a member."),
        validators=[
            Optional(),
            NumberRange(min=2500, max=2700, message=_l("Give a Buddhist-era year, e.g. 2567.")),
        ],
    )
