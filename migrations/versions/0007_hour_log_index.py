"""An index on hour logs by enrolment and state, replacing the one by enrolment and module.

An instructor's review queue asks for the pending logs of the learners they teach: with the
state second in the index, each learner's pending logs are found directly instead of reading
all of the learner's logs (bench/load.py at 10,000 learners: the queue from 48 ms to 5 ms on
SQLite). Progress, which reads every log of an enrolment, is served as well as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 08:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("hour_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_hour_logs_progress")
        batch_op.create_index(
            "ix_hour_logs_enrolment_status", ["enrolment_id", "status", "module_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("hour_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_hour_logs_enrolment_status")
        batch_op.create_index(
            "ix_hour_logs_progress", ["enrolment_id", "module_id", "status"], unique=False
        )
