"""Certificates: gap-free serial numbers per Buddhist-era year, verification codes, frozen
PDFs, revocation and re-issue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:08:03.720556

"""
from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_serials',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_number >= 0', name=op.f('ck_certificate_serials_last_number_not_negative')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_certificate_serials'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('serial_year', sa.Integer(), nullable=False),
    sa.Column('serial_number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('valid', 'revoked', 'superseded', name='certificatestatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('language', sa.Enum('th', 'en', 'both', name='certificatelanguage', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('pdf_key', sa.String(length=128), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf_size', sa.Integer(), nullable=False),
    sa.Column('issued_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', lca.core.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('reissue_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name=op.f('ck_certificates_revoked_at_matches_status')),
    sa.CheckConstraint("superseded_by_id IS NULL OR status = 'superseded'", name=op.f('ck_certificates_successor_only_if_superseded')),
    sa.CheckConstraint('serial_number > 0', name=op.f('ck_certificates_serial_number_positive')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_certificates_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users')),
    sa.ForeignKeyConstraint(['replaces_id'], ['certificates.id'], name=op.f('fk_certificates_replaces_id_certificates')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificates_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['certificates.id'], name=op.f('fk_certificates_superseded_by_id_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('code', name=op.f('uq_certificates_code')),
    sa.UniqueConstraint('pdf_key', name=op.f('uq_certificates_pdf_key')),
    sa.UniqueConstraint('serial', name=op.f('uq_certificates_serial')),
    sa.UniqueConstraint('serial_year', 'serial_number', name='uq_certificates_serial_year_number')
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index('uq_certificates_valid_enrolment', ['enrolment_id'], unique=True, sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'"))



def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_valid_enrolment', sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'"))
        batch_op.drop_index(batch_op.f('ix_certificates_enrolment_id'))

    op.drop_table('certificates')
    op.drop_table('certificate_serials')
