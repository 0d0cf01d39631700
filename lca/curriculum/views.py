from flask import render_template

from lca.curriculum import bp
from lca.curriculum.services import (
    field_module,
    latest_rubric,
    list_field_catalogues,
    list_modules,
    total_hours,
)
from lca.web.permissions import public


@bp.get("/curriculum")
@public
def index():
    modules = list_modules()
    mechanisms, tools = list_field_catalogues()
    return render_template(
        "curriculum/index.html",
        modules=modules,
        total_hours=total_hours(modules),
        field_module=field_module(modules),
        mechanisms=mechanisms,
        tools=tools,
    )


@bp.get("/curriculum/rubric")
@public
def rubric():
    return render_template("curriculum/rubric.html", rubric=latest_rubric())
