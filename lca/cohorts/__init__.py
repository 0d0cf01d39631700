from flask import Blueprint

bp = Blueprint("cohorts", __name__, url_prefix="/cohorts")

from lca.cohorts import views  # noqa: E402, F401
