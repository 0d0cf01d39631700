"""Credentials that outside verifiers accept: each learner's stable credential subject
(urn:uuid), each certificate's place in a revocation status list (random, never in issue
order), its credential and JWT as signed at issue, and an index on the PDF's SHA-256 (the
verify page checks an uploaded file by it).

Existing people get a random subject, existing certificates a random free place; their
credentials are signed the first time they are asked for (lca.certificates.credential).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:30:00

"""

import secrets
import uuid

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LIST_SIZE = 131_072


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_uuid", sa.String(length=36), nullable=True))
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("credential_jwt", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("status_list", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("status_index", sa.Integer(), nullable=True))

    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("subject_uuid", sa.String))
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(
            users.update().where(users.c.id == user_id).values(subject_uuid=str(uuid.uuid4()))
        )
    certificates = sa.table(
        "certificates",
        sa.column("id", sa.Integer),
        sa.column("status_list", sa.Integer),
        sa.column("status_index", sa.Integer),
    )
    ids = [row[0] for row in connection.execute(sa.select(certificates.c.id)).all()]
    places = iter(secrets.SystemRandom().sample(range(LIST_SIZE), len(ids)))
    for certificate_id in ids:
        connection.execute(
            certificates.update()
            .where(certificates.c.id == certificate_id)
            .values(status_list=1, status_index=next(places))
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("subject_uuid", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_users_subject_uuid"), ["subject_uuid"])
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.alter_column("status_list", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("status_index", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            "uq_certificates_status_place", ["status_list", "status_index"]
        )
        batch_op.create_check_constraint(
            op.f("ck_certificates_status_index_in_list"),
            "status_index >= 0 AND status_index < 131072",
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_pdf_sha256"), ["pdf_sha256"], unique=False
        )


def downgrade():
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_pdf_sha256"))
        batch_op.drop_constraint(op.f("ck_certificates_status_index_in_list"), type_="check")
        batch_op.drop_constraint("uq_certificates_status_place", type_="unique")
        batch_op.drop_column("status_index")
        batch_op.drop_column("status_list")
        batch_op.drop_column("credential_jwt")
        batch_op.drop_column("credential")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_users_subject_uuid"), type_="unique")
        batch_op.drop_column("subject_uuid")
