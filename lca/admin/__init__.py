from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from lca.admin import audit_views, export_views, import_views, views  # noqa: E402, F401
