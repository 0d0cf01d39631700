"""One-time set-password links for accounts made by an import.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:28:54.204353

"""
from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('setup_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('setup_expires_at', lca.core.db.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_setup_token_hash'), ['setup_token_hash'])



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_setup_token_hash'), type_='unique')
        batch_op.drop_column('setup_expires_at')
        batch_op.drop_column('setup_token_hash')

