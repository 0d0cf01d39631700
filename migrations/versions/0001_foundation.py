"""The foundation: people, cities, curriculum, cohorts, enrolments and the audit trail.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 04:18:22.357333

"""
from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name_th', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('gnlc_joined_year', sa.Integer(), nullable=True),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('gnlc_joined_year IS NULL OR gnlc_joined_year BETWEEN 2540 AND 2700', name=op.f('ck_cities_gnlc_joined_year_buddhist_era')),
    sa.CheckConstraint('length(trim(name_th)) > 0', name=op.f('ck_cities_name_th_not_blank')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cities')),
    sa.UniqueConstraint('code', name=op.f('uq_cities_code')),
    sa.UniqueConstraint('name_en', name=op.f('uq_cities_name_en')),
    sa.UniqueConstraint('name_th', name=op.f('uq_cities_name_th'))
    )
    op.create_table('field_mechanisms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name_th', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description_th', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_mechanisms')),
    sa.UniqueConstraint('code', name=op.f('uq_field_mechanisms_code')),
    sa.UniqueConstraint('number', name=op.f('uq_field_mechanisms_number'))
    )
    op.create_table('field_tools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name_th', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description_th', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_tools')),
    sa.UniqueConstraint('code', name=op.f('uq_field_tools_code')),
    sa.UniqueConstraint('number', name=op.f('uq_field_tools_number'))
    )
    op.create_table('modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title_th', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('classroom', 'forum', 'field', 'festival', name='modulekind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('description_th', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('field_window_months', sa.Integer(), nullable=True),
    sa.CheckConstraint('field_window_months IS NULL OR field_window_months > 0', name=op.f('ck_modules_field_window_months_positive')),
    sa.CheckConstraint('hours > 0', name=op.f('ck_modules_hours_positive')),
    sa.CheckConstraint('number > 0', name=op.f('ck_modules_number_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modules')),
    sa.UniqueConstraint('number', name=op.f('uq_modules_number'))
    )
    op.create_table('cohorts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('host_city_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('field_starts_on', sa.Date(), nullable=False),
    sa.Column('field_window_months', sa.Integer(), nullable=False),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('code = upper(code)', name=op.f('ck_cohorts_code_upper_case')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_cohorts_ends_not_before_start')),
    sa.CheckConstraint('field_starts_on >= starts_on', name=op.f('ck_cohorts_field_starts_not_before_start')),
    sa.CheckConstraint('field_window_months BETWEEN 1 AND 24', name=op.f('ck_cohorts_field_window_months_range')),
    sa.ForeignKeyConstraint(['host_city_id'], ['cities.id'], name=op.f('fk_cohorts_host_city_id_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohorts')),
    sa.UniqueConstraint('code', name=op.f('uq_cohorts_code'))
    )
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohorts_host_city_id'), ['host_city_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('full_name_th', sa.String(length=200), nullable=False),
    sa.Column('full_name_en', sa.String(length=200), nullable=True),
    sa.Column('role', sa.Enum('learner', 'instructor', 'admin', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('preferred_language', sa.String(length=2), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('auth_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', lca.core.db.UTCDateTime(), nullable=True),
    sa.Column('deactivated_at', lca.core.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("preferred_language IN ('th', 'en')", name=op.f('ck_users_preferred_language_known')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lower_case')),
    sa.CheckConstraint('length(trim(full_name_th)) > 0', name=op.f('ck_users_full_name_th_not_blank')),
    sa.ForeignKeyConstraint(['city_id'], ['cities.id'], name=op.f('fk_users_city_id_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('auth_token', name=op.f('uq_users_auth_token')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_role'), ['role'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_target', ['target_type', 'target_id'], unique=False)

    op.create_table('cohort_instructors',
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('instructor_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_cohort_instructors_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instructor_id'], ['users.id'], name=op.f('fk_cohort_instructors_instructor_id_users')),
    sa.PrimaryKeyConstraint('cohort_id', 'instructor_id', name=op.f('pk_cohort_instructors'))
    )
    with op.batch_alter_table('cohort_instructors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohort_instructors_instructor_id'), ['instructor_id'], unique=False)

    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'withdrawn', 'completed', name='enrolmentstatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('enrolled_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', lca.core.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('field_starts_on', sa.Date(), nullable=True),
    sa.CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name=op.f('ck_enrolments_withdrawn_at_matches_status')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_enrolments_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['learner_id'], ['users.id'], name=op.f('fk_enrolments_learner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('cohort_id', 'learner_id', name='uq_enrolments_cohort_learner')
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_status'))
        batch_op.drop_index(batch_op.f('ix_enrolments_learner_id'))
        batch_op.drop_index(batch_op.f('ix_enrolments_cohort_id'))

    op.drop_table('enrolments')
    with op.batch_alter_table('cohort_instructors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohort_instructors_instructor_id'))

    op.drop_table('cohort_instructors')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_target')
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_role'))
        batch_op.drop_index(batch_op.f('ix_users_city_id'))

    op.drop_table('users')
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohorts_host_city_id'))

    op.drop_table('cohorts')
    op.drop_table('modules')
    op.drop_table('field_tools')
    op.drop_table('field_mechanisms')
    op.drop_table('cities')
