"""Migrations: each one upgrades a database holding data, and the chain downgrades and
upgrades again; the models and the migrations agree."""

from __future__ import annotations

from datetime import date

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from lca import create_app
from lca.core.db import db


def test_upgrade_with_data_then_down_and_up_again(new_database, tmp_path):
    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": new_database("lca_mig"),
            "LCA_DATA_DIR": tmp_path,
        }
    )
    with app.app_context():
        upgrade(revision="0001")
        db.session.execute(
            text(
                "INSERT INTO cities (code, name_th, name_en, created_at) "
                "VALUES ('nan', 'น่าน', 'Nan', CURRENT_TIMESTAMP)"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO cohorts (code, host_city_id, starts_on, ends_on, field_starts_on, "
                "field_window_months, created_at, updated_at) VALUES ('CA-OLD', "
                "(SELECT id FROM cities WHERE code = 'nan'), '2026-06-01', '2026-12-31', "
                "'2026-08-31', 6, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        db.session.commit()
        upgrade()
        ends = db.session.execute(text("SELECT field_ends_on FROM cohorts")).scalar()
        assert str(ends) == str(date(2027, 2, 27))  # 6 months from 31 August, less a day
        assert "hour_logs" in inspect(db.engine).get_table_names()
        db.session.remove()
        downgrade(revision="base")
        assert "cohorts" not in inspect(db.engine).get_table_names()
        upgrade()
        assert {"hour_logs", "evidence_files", "attendances"} <= set(
            inspect(db.engine).get_table_names()
        )
        db.engine.dispose()


def test_models_and_migrations_agree(app):
    """What `flask db check` checks: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
