"""The assessment blueprint; its routes are in the view modules, which the app factory imports."""

from flask import Blueprint

bp = Blueprint("assessment", __name__)
