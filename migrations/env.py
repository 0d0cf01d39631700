"""Alembic environment for LCA: the app's engine and metadata, batch mode for SQLite."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import lca.models  # noqa: F401 - every table registered on the metadata
from lca.core.db import UTCDateTime

config = context.config
# keep the loggers that already exist (the app's security log among them) when run in-process
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def render_item(type_, obj, autogen_context):
    """Write LCA's own column types as their import, not as a repr."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import lca.core.db")
        return "lca.core.db.UTCDateTime()"
    return False


def run_migrations_offline():
    context.configure(
        url=str(db.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty)
    with db.engine.connect() as connection:
        # SQLite rebuilds a table to alter it ("batch" mode): that drops a table that others
        # point to, so foreign keys are off while migrating and checked once at the end.
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.commit()  # end the implicit transaction so that alembic runs its own
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_item=render_item,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            connection.commit()
            if broken:
                raise RuntimeError(f"Foreign keys broken by the migration: {broken[:10]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
