"""Curriculum versions: the modules and the field catalogue each belong to a version, every cohort
is bound to one, and a cohort's move from one version to another is kept with its reason.

Every existing row is kept: the modules of today become version 1 (named from their hours and
the year the first cohort started, e.g. "CA 45 ชั่วโมง, 2568"), it uses every mechanism and tool,
and every cohort follows it. Hour logs and class sessions keep pointing at the same module rows,
so every figure stays as it was.

Rolling deploys: the previous release reads modules without a version and cohorts without one;
both still work against this schema while one version exists (module numbers stay unique in it).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 18:40:00.000000

"""

from datetime import date

from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BUDDHIST_ERA_OFFSET = 543


def _first_version_values(connection) -> dict | None:
    modules = connection.execute(sa.text("SELECT count(*), sum(hours) FROM modules")).one()
    cohorts = connection.execute(sa.text("SELECT count(*), min(starts_on) FROM cohorts")).one()
    if not modules[0] and not cohorts[0]:
        return None  # a new database: `flask lca seed` makes version 1
    first = cohorts[1]
    if isinstance(first, str):
        first = date.fromisoformat(first)
    takes_effect_on = first or date.today()
    hours = int(modules[1] or 0)
    return {
        "number": 1,
        "name_th": f"CA {hours} ชั่วโมง, {takes_effect_on.year + BUDDHIST_ERA_OFFSET}",
        "name_en": f"CA {hours} hours, {takes_effect_on.year}",
        "takes_effect_on": takes_effect_on,
    }


def upgrade():
    versions = op.create_table(
        "curriculum_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name_th", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("takes_effect_on", sa.Date(), nullable=False),
        sa.Column("created_at", lca.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("number > 0", name=op.f("ck_curriculum_versions_number_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curriculum_versions")),
        sa.UniqueConstraint("name_th", name=op.f("uq_curriculum_versions_name_th")),
        sa.UniqueConstraint("number", name=op.f("uq_curriculum_versions_number")),
    )
    op.create_table(
        "curriculum_version_mechanisms",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("mechanism_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mechanism_id"],
            ["field_mechanisms.id"],
            name=op.f("fk_curriculum_version_mechanisms_mechanism_id_field_mechanisms"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["curriculum_versions.id"],
            name=op.f("fk_curriculum_version_mechanisms_version_id_curriculum_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "version_id", "mechanism_id", name=op.f("pk_curriculum_version_mechanisms")
        ),
    )
    op.create_table(
        "curriculum_version_tools",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("tool_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["field_tools.id"],
            name=op.f("fk_curriculum_version_tools_tool_id_field_tools"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["curriculum_versions.id"],
            name=op.f("fk_curriculum_version_tools_version_id_curriculum_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "tool_id", name=op.f("pk_curriculum_version_tools")),
    )
    op.create_table(
        "curriculum_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("from_version_id", sa.Integer(), nullable=False),
        sa.Column("to_version_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("certificates_stand", sa.Boolean(), nullable=False),
        sa.Column("moved_by_id", sa.Integer(), nullable=True),
        sa.Column("moved_at", lca.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "from_version_id <> to_version_id", name=op.f("ck_curriculum_moves_to_another")
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_curriculum_moves_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["from_version_id"],
            ["curriculum_versions.id"],
            name=op.f("fk_curriculum_moves_from_version_id_curriculum_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["moved_by_id"], ["users.id"], name=op.f("fk_curriculum_moves_moved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["to_version_id"],
            ["curriculum_versions.id"],
            name=op.f("fk_curriculum_moves_to_version_id_curriculum_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curriculum_moves")),
    )
    with op.batch_alter_table("curriculum_moves", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_curriculum_moves_cohort_id"), ["cohort_id"], unique=False
        )

    connection = op.get_bind()
    first = _first_version_values(connection)
    if first is not None:
        op.bulk_insert(versions, [{**first, "id": 1, "created_at": lca.core.db.utcnow()}])
        connection.execute(
            sa.text(
                "INSERT INTO curriculum_version_mechanisms (version_id, mechanism_id) "
                "SELECT 1, id FROM field_mechanisms"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO curriculum_version_tools (version_id, tool_id) "
                "SELECT 1, id FROM field_tools"
            )
        )

    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("curriculum_version_id", sa.Integer(), nullable=True))
    if first is not None:
        connection.execute(sa.text("UPDATE modules SET version_id = 1"))
        connection.execute(sa.text("UPDATE cohorts SET curriculum_version_id = 1"))

    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.alter_column("version_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_modules_number", type_="unique")
        batch_op.create_unique_constraint("uq_modules_version_number", ["version_id", "number"])
        batch_op.create_index(batch_op.f("ix_modules_version_id"), ["version_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_modules_version_id_curriculum_versions"),
            "curriculum_versions",
            ["version_id"],
            ["id"],
        )
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.alter_column("curriculum_version_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_cohorts_curriculum_version_id"), ["curriculum_version_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cohorts_curriculum_version_id_curriculum_versions"),
            "curriculum_versions",
            ["curriculum_version_id"],
            ["id"],
        )
    if connection.dialect.name == "postgresql" and first is not None:
        connection.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('curriculum_versions', 'id'), "
                "(SELECT max(id) FROM curriculum_versions))"
            )
        )


def downgrade():
    connection = op.get_bind()
    versions = connection.execute(sa.text("SELECT count(*) FROM curriculum_versions")).scalar()
    if versions and versions > 1:
        raise RuntimeError(
            "This database holds more than one curriculum version: the schema before 0016 "
            "can hold only one. Restore a backup taken before the upgrade instead."
        )
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_cohorts_curriculum_version_id_curriculum_versions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_cohorts_curriculum_version_id"))
        batch_op.drop_column("curriculum_version_id")
    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_modules_version_id_curriculum_versions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_modules_version_id"))
        batch_op.drop_constraint("uq_modules_version_number", type_="unique")
        batch_op.create_unique_constraint("uq_modules_number", ["number"])
        batch_op.drop_column("version_id")
    with op.batch_alter_table("curriculum_moves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_curriculum_moves_cohort_id"))
    op.drop_table("curriculum_moves")
    op.drop_table("curriculum_version_tools")
    op.drop_table("curriculum_version_mechanisms")
    op.drop_table("curriculum_versions")
