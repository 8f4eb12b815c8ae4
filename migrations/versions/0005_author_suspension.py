"""authors.suspended_until: a suspension for a set time, ending by itself

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("authors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("authors", schema=None) as batch_op:
        batch_op.drop_column("suspended_until")
