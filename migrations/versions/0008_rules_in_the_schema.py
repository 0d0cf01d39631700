"""The rules the services keep, kept by the database as well.

A cohort's field practice starts by its last day; a learner's own field start comes with their
own last day, not before it; only field practice has a field window; rubric criteria are
numbered from 1; a "revise" grade says what to change; a revoked certificate keeps its reason,
a re-issue its reason too; a certificate is superseded by one re-issue at most, and a re-issue
replaces one certificate.

Every row the services wrote already keeps these rules, so the upgrade changes no data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:30:00

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

VALID_ONLY = sa.text("status = 'valid'")


def upgrade():
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_cohorts_field_starts_by_the_end"), "field_starts_on <= ends_on"
        )

    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_enrolments_own_field_end_not_before_start"),
            "field_starts_on IS NULL "
            "OR (field_ends_on IS NOT NULL AND field_ends_on >= field_starts_on)",
        )

    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_modules_field_window_only_for_field"),
            "(kind = 'field') = (field_window_months IS NOT NULL)",
        )

    with op.batch_alter_table("rubric_criteria", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_rubric_criteria_number_positive"), "number > 0")

    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_grades_revise_says_what_to_change"),
            "result != 'revise' OR length(trim(feedback)) > 0",
        )

    with op.batch_alter_table("certificates", schema=None) as batch_op:
        # SQLite rebuilds the table: the partial index is dropped and made again around it,
        # so that its WHERE clause is kept whatever the reflection reads back.
        batch_op.drop_index("uq_certificates_valid_enrolment")
        batch_op.create_check_constraint(
            op.f("ck_certificates_revoked_with_reason"),
            "status != 'revoked' OR length(trim(coalesce(revocation_reason, ''))) > 0",
        )
        batch_op.create_check_constraint(
            op.f("ck_certificates_reissued_with_reason"),
            "replaces_id IS NULL OR length(trim(coalesce(reissue_reason, ''))) > 0",
        )
        batch_op.create_unique_constraint(
            op.f("uq_certificates_superseded_by_id"), ["superseded_by_id"]
        )
        batch_op.create_unique_constraint(op.f("uq_certificates_replaces_id"), ["replaces_id"])
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            "uq_certificates_valid_enrolment",
            ["enrolment_id"],
            unique=True,
            sqlite_where=VALID_ONLY,
            postgresql_where=VALID_ONLY,
        )


def downgrade():
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("uq_certificates_valid_enrolment")
        batch_op.drop_constraint(op.f("uq_certificates_replaces_id"), type_="unique")
        batch_op.drop_constraint(op.f("uq_certificates_superseded_by_id"), type_="unique")
        batch_op.drop_constraint(op.f("ck_certificates_reissued_with_reason"), type_="check")
        batch_op.drop_constraint(op.f("ck_certificates_revoked_with_reason"), type_="check")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            "uq_certificates_valid_enrolment",
            ["enrolment_id"],
            unique=True,
            sqlite_where=VALID_ONLY,
            postgresql_where=VALID_ONLY,
        )

    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_grades_revise_says_what_to_change"), type_="check")

    with op.batch_alter_table("rubric_criteria", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_rubric_criteria_number_positive"), type_="check")

    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_modules_field_window_only_for_field"), type_="check")

    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_enrolments_own_field_end_not_before_start"), type_="check"
        )

    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cohorts_field_starts_by_the_end"), type_="check")
