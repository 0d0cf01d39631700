"""Reaching people: the messages of the outbox as e-mail (and, later, LINE), the list of them
in the app, and the choices of what to get."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)
