"""customer messages the bot has yet to answer survive a crash

Revision ID: 3a7c91d0b2e4
Revises: 8d2f4e6a1b37
Create Date: 2026-11-30 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3a7c91d0b2e4"
down_revision: str | None = "8d2f4e6a1b37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_messages_reply_pending", ["reply_pending"])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_reply_pending")
        batch_op.drop_column("reply_pending")
