from flask import abort, render_template, request

from lca.curriculum import bp
from lca.curriculum.services import (
    field_catalogues_of,
    field_module,
    latest_rubric,
    list_versions,
    modules_of,
    total_hours,
)
from lca.web.permissions import public


@bp.get("/curriculum")
@public
def index():
    """The current curriculum version; an earlier one with ?version=<number>."""
    versions = list_versions()
    current = versions[-1] if versions else None
    shown = current
    asked = request.args.get("version", type=int)
    if asked is not None:
        shown = next((v for v in versions if v.number == asked), None)
        if shown is None:
            abort(404)
    modules = modules_of(shown.id) if shown else []
    mechanisms, tools = field_catalogues_of(shown.id) if shown else ([], [])
    return render_template(
        "curriculum/index.html",
        version=shown,
        current=current,
        versions=versions,
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
