"""Field-work assessment: versioned rubrics, field reports with files and logs, gradings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:57:25.233277

"""
from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rubrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('pass_mark', sa.Integer(), nullable=False),
    sa.Column('max_points', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('pass_mark > 0 AND pass_mark <= max_points', name=op.f('ck_rubrics_pass_mark_in_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubrics')),
    sa.UniqueConstraint('version', name=op.f('uq_rubrics_version'))
    )
    op.create_table('rubric_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name_th', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description_th', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('max_points', sa.Integer(), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.CheckConstraint('max_points > 0', name=op.f('ck_rubric_criteria_max_points_positive')),
    sa.ForeignKeyConstraint(['rubric_id'], ['rubrics.id'], name=op.f('fk_rubric_criteria_rubric_id_rubrics')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_criteria')),
    sa.UniqueConstraint('rubric_id', 'code', name='uq_rubric_criteria_rubric_code'),
    sa.UniqueConstraint('rubric_id', 'number', name='uq_rubric_criteria_rubric_number')
    )
    op.create_table('field_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'revise', 'passed', 'failed', name='reportstatus', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('assessor_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('created_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('length(summary) > 0', name=op.f('ck_field_reports_summary_not_empty')),
    sa.ForeignKeyConstraint(['assessor_id'], ['users.id'], name=op.f('fk_field_reports_assessor_id_users')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_field_reports_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_reports')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_field_reports_enrolment_id'))
    )
    with op.batch_alter_table('field_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_reports_assessor_id'), ['assessor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_field_reports_status'), ['status'], unique=False)

    op.create_table('field_report_logs',
    sa.Column('field_report_id', sa.Integer(), nullable=False),
    sa.Column('hour_log_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['field_report_id'], ['field_reports.id'], name=op.f('fk_field_report_logs_field_report_id_field_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hour_log_id'], ['hour_logs.id'], name=op.f('fk_field_report_logs_hour_log_id_hour_logs')),
    sa.PrimaryKeyConstraint('field_report_id', 'hour_log_id', name=op.f('pk_field_report_logs'))
    )
    op.create_table('grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('field_report_id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.Column('grader_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.Enum('pass', 'revise', 'fail', name='graderesult', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('total_points', sa.Integer(), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=False),
    sa.Column('graded_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('total_points >= 0', name=op.f('ck_grades_total_not_negative')),
    sa.ForeignKeyConstraint(['field_report_id'], ['field_reports.id'], name=op.f('fk_grades_field_report_id_field_reports')),
    sa.ForeignKeyConstraint(['grader_id'], ['users.id'], name=op.f('fk_grades_grader_id_users')),
    sa.ForeignKeyConstraint(['rubric_id'], ['rubrics.id'], name=op.f('fk_grades_rubric_id_rubrics')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grades'))
    )
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grades_field_report_id'), ['field_report_id'], unique=False)

    op.create_table('report_files',
    sa.Column('field_report_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=128), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', lca.core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('size_bytes > 0 AND size_bytes <= 10485760', name=op.f('ck_report_files_size_in_range')),
    sa.ForeignKeyConstraint(['field_report_id'], ['field_reports.id'], name=op.f('fk_report_files_field_report_id_field_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_files')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_report_files_storage_key'))
    )
    with op.batch_alter_table('report_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_files_field_report_id'), ['field_report_id'], unique=False)

    op.create_table('grade_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grade_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_grade_scores_points_not_negative')),
    sa.ForeignKeyConstraint(['criterion_id'], ['rubric_criteria.id'], name=op.f('fk_grade_scores_criterion_id_rubric_criteria')),
    sa.ForeignKeyConstraint(['grade_id'], ['grades.id'], name=op.f('fk_grade_scores_grade_id_grades')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_scores')),
    sa.UniqueConstraint('grade_id', 'criterion_id', name='uq_grade_scores_grade_criterion')
    )
    with op.batch_alter_table('grade_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grade_scores_grade_id'), ['grade_id'], unique=False)



def downgrade():
    with op.batch_alter_table('grade_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_scores_grade_id'))

    op.drop_table('grade_scores')
    with op.batch_alter_table('report_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_files_field_report_id'))

    op.drop_table('report_files')
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grades_field_report_id'))

    op.drop_table('grades')
    op.drop_table('field_report_logs')
    with op.batch_alter_table('field_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_reports_status'))
        batch_op.drop_index(batch_op.f('ix_field_reports_assessor_id'))

    op.drop_table('field_reports')
    op.drop_table('rubric_criteria')
    op.drop_table('rubrics')
