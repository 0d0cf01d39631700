"""Entry point for servers and the flask command: ``gunicorn wsgi:app``, ``flask --app wsgi``."""

import click

from lca import create_app


def _maintenance_command() -> bool:
    """A ``flask`` command other than ``run`` (db upgrade, lca seed…): it serves no one."""
    context = click.get_current_context(silent=True)
    return context is not None and context.command.name != "run"


app = create_app(serving=not _maintenance_command())

# Under `gunicorn --preload` the app is built before the workers fork: leave no pooled database
# connection behind for them to share.
with app.app_context():
    from lca.core.db import db

    db.engine.dispose()
