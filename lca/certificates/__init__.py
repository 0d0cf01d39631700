from flask import Blueprint

bp = Blueprint("certificates", __name__)

from lca.certificates import verify_views, views  # noqa: E402, F401
