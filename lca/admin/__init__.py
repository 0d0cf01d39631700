"""The admin blueprint; its routes are in the view modules, which the app factory imports."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
