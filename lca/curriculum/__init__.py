from flask import Blueprint

bp = Blueprint("curriculum", __name__)

from lca.curriculum import views  # noqa: E402, F401
