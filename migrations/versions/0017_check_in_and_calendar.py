"""Self check-in and calendar feeds: the points of a session where learners check in and out
by scanning a rotating code, each check-in and check-out, a session's closing of check-in, its
confirmed roster and optional place check; a session's calendar sequence and cancellation; the
version that signs a person's calendar feed address.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:47:17.396231

"""

from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "check_in_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_session_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", lca.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_check_in_points_name_given")),
        sa.ForeignKeyConstraint(
            ["class_session_id"],
            ["class_sessions.id"],
            name=op.f("fk_check_in_points_class_session_id_class_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in_points")),
        sa.UniqueConstraint("class_session_id", "number", name="uq_check_in_points_session_number"),
    )
    with op.batch_alter_table("check_in_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_in_points_class_session_id"), ["class_session_id"], unique=False
        )

    op.create_table(
        "check_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_session_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("in", "out", name="scankind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("at", lca.core.db.UTCDateTime(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=True),
        sa.Column("user_session_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=8), nullable=True),
        sa.CheckConstraint(
            "location IS NULL OR location IN ('inside', 'outside')",
            name=op.f("ck_check_ins_location_known"),
        ),
        sa.CheckConstraint(
            "(recorded_by_id IS NULL) = (step IS NOT NULL)",
            name=op.f("ck_check_ins_scanned_or_marked_by_hand"),
        ),
        sa.ForeignKeyConstraint(
            ["class_session_id"],
            ["class_sessions.id"],
            name=op.f("fk_check_ins_class_session_id_class_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolments.id"], name=op.f("fk_check_ins_enrolment_id_enrolments")
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["check_in_points.id"], name=op.f("fk_check_ins_point_id_check_in_points")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_check_ins_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_session_id"],
            ["user_sessions.id"],
            name=op.f("fk_check_ins_user_session_id_user_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
        sa.UniqueConstraint(
            "enrolment_id", "point_id", "kind", "step", name="uq_check_ins_enrolment_point_step"
        ),
    )
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_ins_enrolment_id"), ["enrolment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_check_ins_point_id"), ["point_id"], unique=False)
        batch_op.create_index(
            "ix_check_ins_session_enrolment",
            ["class_session_id", "enrolment_id", "at"],
            unique=False,
        )

    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("by_check_in", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("cancelled_at", lca.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("check_in_closed_at", lca.core.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("roster_confirmed_at", lca.core.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("geofence_metres", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_class_sessions_place_has_both"), "(latitude IS NULL) = (longitude IS NULL)"
        )
        batch_op.create_check_constraint(
            op.f("ck_class_sessions_geofence_in_range"),
            "geofence_metres IS NULL OR (latitude IS NOT NULL "
            "AND geofence_metres BETWEEN 20 AND 5000)",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("calendar_feed_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("calendar_feed_version")

    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_class_sessions_geofence_in_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_class_sessions_place_has_both"), type_="check")
        batch_op.drop_column("geofence_metres")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
        batch_op.drop_column("roster_confirmed_at")
        batch_op.drop_column("check_in_closed_at")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("sequence")

    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.drop_column("by_check_in")

    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.drop_index("ix_check_ins_session_enrolment")
        batch_op.drop_index(batch_op.f("ix_check_ins_point_id"))
        batch_op.drop_index(batch_op.f("ix_check_ins_enrolment_id"))

    op.drop_table("check_ins")
    with op.batch_alter_table("check_in_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_in_points_class_session_id"))

    op.drop_table("check_in_points")
