"""per-comment webhook event order; server-side moderator sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 13:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_seq", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
    op.create_table(
        "moderator_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderators.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    with op.batch_alter_table("moderator_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_moderator_sessions_moderator_id"), ["moderator_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("moderator_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderator_sessions_moderator_id"))
    op.drop_table("moderator_sessions")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("sequence")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_column("event_seq")
