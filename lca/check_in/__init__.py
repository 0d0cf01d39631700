"""Self check-in at sessions: the blueprint; its routes are in the view modules, which the app
factory imports."""

from flask import Blueprint

bp = Blueprint("check_in", __name__)
