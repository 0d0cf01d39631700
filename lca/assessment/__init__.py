from flask import Blueprint

bp = Blueprint("assessment", __name__)

from lca.assessment import views  # noqa: E402, F401
