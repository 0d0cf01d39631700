"""A field-window extension may be corrected by a later, earlier one; a failed field report may
be reopened by an administrator, with the reason kept.

An extension used to have to end after the day it replaced; now it only has to change it (a
later extension may bring a mistyped far date back). Every existing row keeps the new rule.
The reopenings of failed reports get their own table: who, when, why, and the grade set aside.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:40:00

"""

from alembic import op
import sqlalchemy as sa

from lca.core.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("field_window_extensions", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_field_window_extensions_extends_the_window"), type_="check"
        )
        batch_op.create_check_constraint(
            op.f("ck_field_window_extensions_changes_the_last_day"),
            "extended_to <> previous_ends_on",
        )

    op.create_table(
        "report_reopenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_report_id", sa.Integer(), nullable=False),
        sa.Column("grade_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reopened_by_id", sa.Integer(), nullable=False),
        sa.Column("reopened_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "length(trim(reason)) > 0", name=op.f("ck_report_reopenings_reason_given")
        ),
        sa.ForeignKeyConstraint(
            ["field_report_id"],
            ["field_reports.id"],
            name=op.f("fk_report_reopenings_field_report_id_field_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["grade_id"], ["grades.id"], name=op.f("fk_report_reopenings_grade_id_grades")
        ),
        sa.ForeignKeyConstraint(
            ["reopened_by_id"],
            ["users.id"],
            name=op.f("fk_report_reopenings_reopened_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_reopenings")),
        sa.UniqueConstraint("grade_id", name=op.f("uq_report_reopenings_grade_id")),
    )
    with op.batch_alter_table("report_reopenings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_reopenings_field_report_id"), ["field_report_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("report_reopenings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_reopenings_field_report_id"))
    op.drop_table("report_reopenings")

    # A correction (an extension that ends earlier) cannot be kept under the older rule.
    op.execute("DELETE FROM field_window_extensions WHERE extended_to < previous_ends_on")
    with op.batch_alter_table("field_window_extensions", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_field_window_extensions_changes_the_last_day"), type_="check"
        )
        batch_op.create_check_constraint(
            op.f("ck_field_window_extensions_extends_the_window"),
            "extended_to > previous_ends_on",
        )
