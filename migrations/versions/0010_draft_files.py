"""Draft files: the photos and PDFs a learner chose on a log form that came back with an
error, kept for that learner until the log is saved, they are removed, or a day has passed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:37:51.666476

"""
from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('draft_files',
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=128), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('size_bytes > 0 AND size_bytes <= 10485760', name=op.f('ck_draft_files_size_in_range')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_draft_files_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_files')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_draft_files_storage_key'))
    )
    with op.batch_alter_table('draft_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_files_owner_id'), ['owner_id'], unique=False)



def downgrade():
    with op.batch_alter_table('draft_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_files_owner_id'))

    op.drop_table('draft_files')
