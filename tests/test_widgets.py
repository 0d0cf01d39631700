"""LCA's html_params writes exactly what WTForms' own writes (lca/web/widgets.py)."""

from markupsafe import Markup
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField

from lca.web.forms import BaseForm, options
from lca.web.widgets import html_params, wtforms_html_params

HOSTILE = [
    'x" onmouseover="alert(1)',
    "<script>alert('x')</script>",
    Markup('already "markup" <b>'),
    "ไทย & English",
    "",
    0,
    12.5,
    None,
]


def test_it_writes_what_wtforms_writes_for_every_kind_of_attribute():
    cases = [
        {"id": "hours", "name": "hours", "class_": "wide", "for_": "x"},
        {"data_select_text": "เลือก", "aria_describedby": "a b", "aria_invalid": "true"},
        {"checked": True, "readonly": False, "required": True, "name": "tick"},
        *({"value": value, "title": value, "data_x": value} for value in HOSTILE),
    ]
    for case in cases:
        assert html_params(**case) == wtforms_html_params(**case)
        assert isinstance(html_params(**case), Markup)


def test_a_form_renders_the_same_with_either(app):
    class Form(BaseForm):
        name = StringField("ชื่อ", default='a "quoted" <name>')
        body = TextAreaField("Body", default="</textarea><script>")
        kind = SelectField(
            "Kind", choices=options([("a", 'A "one"'), ("b<", "B & c")]), default="b<"
        )
        way = RadioField("Way", choices=options([("1", "หนึ่ง"), ("2", "<two>")]), default="2")
        agree = BooleanField("Agree", default=True)

    import wtforms.widgets.core

    with app.test_request_context("/"):
        form = Form(meta={"csrf": False})
        fields = [form.name, form.body, form.kind, form.way, form.agree]
        ours = [str(f(class_="x", data_hint='h"')) + str(f.label()) for f in fields]
        installed = wtforms.widgets.core.html_params
        try:
            wtforms.widgets.core.html_params = wtforms_html_params
            wtforms.widgets.html_params = wtforms_html_params
            for widget in (wtforms.widgets.core.Input, wtforms.widgets.core.Button):
                widget.html_params = staticmethod(wtforms_html_params)
            theirs = [str(f(class_="x", data_hint='h"')) + str(f.label()) for f in fields]
        finally:
            wtforms.widgets.core.html_params = installed
            wtforms.widgets.html_params = installed
            for widget in (wtforms.widgets.core.Input, wtforms.widgets.core.Button):
                widget.html_params = staticmethod(installed)
    assert installed is html_params  # the app installed LCA's
    assert ours == theirs
    assert "<script>" not in "".join(ours)
