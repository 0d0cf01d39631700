from flask import Blueprint

bp = Blueprint("home", __name__)

from lca.home import views  # noqa: E402, F401
