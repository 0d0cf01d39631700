"""The time of day an hour log's work started, if the learner gave it (to find overlaps).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('hour_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_at', sa.Time(), nullable=True))


def downgrade():
    with op.batch_alter_table('hour_logs', schema=None) as batch_op:
        batch_op.drop_column('starts_at')
