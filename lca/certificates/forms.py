from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from lca.web.forms import BaseForm, clean_text, max_length, multiline, options

LANGUAGE_CHOICES = [
    ("both", _l("Thai and English")),
    ("th", _l("Thai only")),
    ("en", _l("English only")),
]


class IssueForm(BaseForm):
    language = SelectField(
        _l("Language of the certificate"),
        choices=options(LANGUAGE_CHOICES),
        default="both",
        validators=[InputRequired()],
    )


class ReasonForm(BaseForm):
    reason = TextAreaField(
        _l("Reason"),
        filters=[multiline],
        validators=[DataRequired(_l("Give the reason.")), max_length(1000)],
    )


class VerifyForm(BaseForm):
    class Meta:
        csrf = False

    code = StringField(
        _l("Verification code"),
        description=_l("The code printed under the QR code, for example ABCD-EFGH-…"),
        filters=[clean_text],
        validators=[DataRequired(_l("Type the code printed on the certificate.")), max_length(80)],
    )


class CheckFileForm(BaseForm):
    """A file to check against what LCA issued; it is read, never kept."""

    file = FileField(
        _l("File to check"),
        description=_l(
            "A certificate PDF, a credential file (.json) or a badge image (.png or .svg), "
            "at most 5 MB. The file is checked, not kept."
        ),
        validators=[InputRequired(_l("Choose the file to check."))],
    )
