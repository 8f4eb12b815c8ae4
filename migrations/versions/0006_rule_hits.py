"""rule hits (live and shadow) per comment and day, for per-rule statistics and drift

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rule_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("comment_id", "rule", "mode"),
    )
    with op.batch_alter_table("rule_hits", schema=None) as batch_op:
        batch_op.create_index("ix_rule_hits_day_rule", ["day", "rule", "mode"], unique=False)
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_created_at", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_created_at")
    with op.batch_alter_table("rule_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_hits_day_rule")
    op.drop_table("rule_hits")
