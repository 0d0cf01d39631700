"""Evidence retention: when the evidence files of an hour log, or the files of a field report,
were removed under the retention rule (LCA_EVIDENCE_RETENTION_YEARS), so that the pages say so
instead of showing broken links.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 05:25:00.000000

"""

from alembic import op
import sqlalchemy as sa
import lca.core.db

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("hour_logs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("evidence_removed_at", lca.core.db.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("field_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files_removed_at", lca.core.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("field_reports", schema=None) as batch_op:
        batch_op.drop_column("files_removed_at")
    with op.batch_alter_table("hour_logs", schema=None) as batch_op:
        batch_op.drop_column("evidence_removed_at")
