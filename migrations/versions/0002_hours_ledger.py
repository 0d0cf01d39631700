"""The hours ledger: class sessions and attendance, hour logs with evidence and notes,
field-window extensions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:33:50.421998

"""
from alembic import op
import sqlalchemy as sa
import lca.core.db
import calendar
from datetime import date, timedelta



def field_window_end(starts_on: date, months: int) -> date:
    """start + months (clamped to the month's end) - 1 day, as the app computes it in 0002."""
    index = starts_on.month - 1 + months
    year, month = starts_on.year + index // 12, index % 12 + 1
    day = min(starts_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('class_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.Time(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('minutes > 0 AND minutes <= 720 AND minutes % 15 = 0', name=op.f('ck_class_sessions_minutes_in_range')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_class_sessions_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_class_sessions_created_by_id_users')),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_class_sessions_module_id_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_sessions'))
    )
    with op.batch_alter_table('class_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_sessions_cohort_id'), ['cohort_id'], unique=False)

    op.create_table('attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_session_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('present', 'late', 'absent', 'excused', name='attendancestatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("(status IN ('absent', 'excused')) = (minutes = 0)", name=op.f('ck_attendances_credit_follows_status')),
    sa.CheckConstraint('minutes >= 0 AND minutes <= 720 AND minutes % 15 = 0', name=op.f('ck_attendances_minutes_in_range')),
    sa.ForeignKeyConstraint(['class_session_id'], ['class_sessions.id'], name=op.f('fk_attendances_class_session_id_class_sessions')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_attendances_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_attendances_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances')),
    sa.UniqueConstraint('class_session_id', 'enrolment_id', name='uq_attendances_session_enrolment')
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendances_class_session_id'), ['class_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendances_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('field_window_extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('previous_ends_on', sa.Date(), nullable=False),
    sa.Column('extended_to', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('extended_to > previous_ends_on', name=op.f('ck_field_window_extensions_extends_the_window')),
    sa.CheckConstraint('length(reason) > 0', name=op.f('ck_field_window_extensions_reason_given')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_field_window_extensions_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_field_window_extensions_granted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_window_extensions'))
    )
    with op.batch_alter_table('field_window_extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_window_extensions_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('hour_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('worked_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.Enum('learner', 'attendance', name='logsource', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('class_session_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'returned', 'withdrawn', name='logstatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('mechanism_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('submitted_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', lca.core.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(source = 'attendance') = (class_session_id IS NOT NULL)", name=op.f('ck_hour_logs_attendance_has_session')),
    sa.CheckConstraint('minutes > 0 AND minutes <= 720 AND minutes % 15 = 0', name=op.f('ck_hour_logs_minutes_in_range')),
    sa.ForeignKeyConstraint(['class_session_id'], ['class_sessions.id'], name=op.f('fk_hour_logs_class_session_id_class_sessions')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_hour_logs_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['mechanism_id'], ['field_mechanisms.id'], name=op.f('fk_hour_logs_mechanism_id_field_mechanisms')),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_hour_logs_module_id_modules')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_hour_logs_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hour_logs')),
    sa.UniqueConstraint('enrolment_id', 'class_session_id', name='uq_hour_logs_enrolment_session')
    )
    with op.batch_alter_table('hour_logs', schema=None) as batch_op:
        batch_op.create_index('ix_hour_logs_progress', ['enrolment_id', 'module_id', 'status'], unique=False)
        batch_op.create_index('ix_hour_logs_queue', ['status', 'submitted_at'], unique=False)

    op.create_table('evidence_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour_log_id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=128), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('size_bytes > 0 AND size_bytes <= 10485760', name=op.f('ck_evidence_files_size_in_range')),
    sa.ForeignKeyConstraint(['hour_log_id'], ['hour_logs.id'], name=op.f('fk_evidence_files_hour_log_id_hour_logs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_evidence_files_storage_key'))
    )
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_files_hour_log_id'), ['hour_log_id'], unique=False)

    op.create_table('hour_log_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour_log_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('question', 'answer', 'rejection', name='notekind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('length(body) > 0', name=op.f('ck_hour_log_notes_body_not_empty')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_hour_log_notes_author_id_users')),
    sa.ForeignKeyConstraint(['hour_log_id'], ['hour_logs.id'], name=op.f('fk_hour_log_notes_hour_log_id_hour_logs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hour_log_notes'))
    )
    with op.batch_alter_table('hour_log_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hour_log_notes_hour_log_id'), ['hour_log_id'], unique=False)

    op.create_table('hour_log_tools',
    sa.Column('hour_log_id', sa.Integer(), nullable=False),
    sa.Column('tool_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hour_log_id'], ['hour_logs.id'], name=op.f('fk_hour_log_tools_hour_log_id_hour_logs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tool_id'], ['field_tools.id'], name=op.f('fk_hour_log_tools_tool_id_field_tools')),
    sa.PrimaryKeyConstraint('hour_log_id', 'tool_id', name=op.f('pk_hour_log_tools'))
    )
    # The last day of each cohort's default field window, computed for the cohorts that exist.
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_ends_on', sa.Date(), nullable=True))
    cohorts = sa.table(
        'cohorts', sa.column('id', sa.Integer), sa.column('field_starts_on', sa.Date),
        sa.column('field_window_months', sa.Integer), sa.column('field_ends_on', sa.Date),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(cohorts.c.id, cohorts.c.field_starts_on, cohorts.c.field_window_months)
    ).all()
    for cohort_id, starts_on, months in rows:
        connection.execute(
            cohorts.update().where(cohorts.c.id == cohort_id)
            .values(field_ends_on=field_window_end(starts_on, months))
        )
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.alter_column('field_ends_on', existing_type=sa.Date(), nullable=False)
        batch_op.create_check_constraint(
            'field_ends_after_start', 'field_ends_on >= field_starts_on'
        )

    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('field_ends_on', sa.Date(), nullable=True))



def downgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('field_ends_on')

    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cohorts_field_ends_after_start'), type_='check')
        batch_op.drop_column('field_ends_on')

    op.drop_table('hour_log_tools')
    with op.batch_alter_table('hour_log_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hour_log_notes_hour_log_id'))

    op.drop_table('hour_log_notes')
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_files_hour_log_id'))

    op.drop_table('evidence_files')
    with op.batch_alter_table('hour_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_hour_logs_queue')
        batch_op.drop_index('ix_hour_logs_progress')

    op.drop_table('hour_logs')
    with op.batch_alter_table('field_window_extensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_window_extensions_enrolment_id'))

    op.drop_table('field_window_extensions')
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendances_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_attendances_class_session_id'))

    op.drop_table('attendances')
    with op.batch_alter_table('class_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_sessions_cohort_id'))

    op.drop_table('class_sessions')
