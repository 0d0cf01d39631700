"""Server-side sessions: one row per signed-in device, replacing the per-account token.

Everyone signs in again after this upgrade: the old cookies carried the account token.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:51:54.651542

"""
import secrets

from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("created_at", lca.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", lca.core.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", lca.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_auth_token"), type_="unique")
        batch_op.drop_column("auth_token")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_token", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("auth_token", sa.String))
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(
            users.update().where(users.c.id == user_id).values(auth_token=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("auth_token", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_auth_token"), ["auth_token"])

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
