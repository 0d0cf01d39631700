"""Messages to people: the outbox the worker delivers from and the app lists; forgot-password
links; the optional messages a person gets.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:59:13.123411

"""
from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invitation', 'password_reset', 'password_changed', 'new_sign_in', 'log_returned', 'log_rejected', 'report_graded', 'certificate_issued', 'certificate_revoked', 'certificate_superseded', 'window_extended', 'window_reminder', 'instructor_digest', 'admin_digest', name='messagekind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('about_type', sa.String(length=40), nullable=True),
    sa.Column('about_id', sa.Integer(), nullable=True),
    sa.Column('link_endpoint', sa.String(length=80), nullable=False),
    sa.Column('link_args', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('email_status', sa.Enum('waiting', 'sent', 'failed', 'not_sent', name='emailstatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('email_id', sa.String(length=200), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', lca.core.db.UTCDateTime(), nullable=True),
    sa.Column('sent_at', lca.core.db.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('read_at', lca.core.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("language IN ('th', 'en')", name=op.f('ck_messages_language_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_messages_attempts_not_negative')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_messages_recipient_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_messages_dedupe_key')),
    sa.UniqueConstraint('email_id', name=op.f('uq_messages_email_id'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_due', ['email_status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_messages_recipient_unread', ['recipient_id', 'read_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reset_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reset_expires_at', lca.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('wants_reminders', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('wants_digests', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_unique_constraint(batch_op.f('uq_users_reset_token_hash'), ['reset_token_hash'])



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_reset_token_hash'), type_='unique')
        batch_op.drop_column('wants_digests')
        batch_op.drop_column('wants_reminders')
        batch_op.drop_column('reset_expires_at')
        batch_op.drop_column('reset_token_hash')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_recipient_unread')
        batch_op.drop_index('ix_messages_due')

    op.drop_table('messages')
