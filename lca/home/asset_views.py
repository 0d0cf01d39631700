"""What every page loads besides its stylesheet: the favicon, and the Sarabun web font served
from the installed font package (fontpkg-sarabun, as the certificate PDF uses it), so that Thai
reads in the project's typeface on a device without a Thai font. No font file is kept in the
repository."""

import functools
from pathlib import Path

import fontpkg
from flask import abort, redirect, send_file, url_for

from lca.home import bp
from lca.web.permissions import public

FAMILY = "Sarabun"
#: the web font's file names → their weights; only these are served (app.css names them)
FONT_WEIGHTS = {"sarabun-400.ttf": 400, "sarabun-600.ttf": 600, "sarabun-700.ttf": 700}
YEAR = 365 * 24 * 60 * 60


@functools.cache
def font_file(weight: int) -> Path:
    """The installed font file of one weight of Sarabun."""
    return Path(fontpkg.path(FAMILY, weight))


@bp.get("/static/fonts/<name>")
@public
def font(name: str):
    weight = FONT_WEIGHTS.get(name)
    if weight is None:
        abort(404)
    return send_file(font_file(weight), mimetype="font/ttf", max_age=YEAR, conditional=True)


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers and crawlers ask for /favicon.ico; the icon is the SVG the pages link to."""
    response = redirect(url_for("static", filename="favicon.svg"), code=301)
    response.cache_control.max_age = YEAR
    response.cache_control.public = True
    return response
