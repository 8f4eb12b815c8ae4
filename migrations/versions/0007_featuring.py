"""featuring: contribution score, candidate flag and editors' feature state on comments

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contribution", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("candidate", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("feature_state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("featured_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("featured_by", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_comments_candidates", ["candidate", "article_id", "contribution"], unique=False
        )
        batch_op.create_index(
            "ix_comments_featured", ["article_id", "feature_state", "featured_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_featured")
        batch_op.drop_index("ix_comments_candidates")
        batch_op.drop_column("featured_by")
        batch_op.drop_column("featured_at")
        batch_op.drop_column("feature_state")
        batch_op.drop_column("candidate")
        batch_op.drop_column("contribution")
