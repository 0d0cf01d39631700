from flask import Blueprint

bp = Blueprint("hours", __name__)

from lca.hours import progress_views, review_views, session_views, views  # noqa: E402, F401
