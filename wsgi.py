"""Entry point for servers and the flask command: ``gunicorn wsgi:app``, ``flask --app wsgi``."""

from lca import create_app

app = create_app()
