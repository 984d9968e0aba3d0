"""e-mail: conversations get a channel, a mail token and a link to the one they continue;
every mail in or out (the outbox) is a mail_messages row

Revision ID: b7e2d4c6a918
Revises: 3a7c91d0b2e4
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2d4c6a918"
down_revision: str | None = "3a7c91d0b2e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=8), nullable=False, server_default="chat")
        )
        batch_op.add_column(sa.Column("mail_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_conversations_mail_token", ["mail_token"])
        batch_op.create_foreign_key(
            "fk_conversations_previous_id",
            "conversations",
            ["previous_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("chat_message_id", sa.Integer(), nullable=True),
        sa.Column("mailbox", sa.String(length=100), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["chat_message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_mail_messages_conversation_id", "mail_messages", ["conversation_id"])
    op.create_index("ix_mail_messages_chat_message_id", "mail_messages", ["chat_message_id"])
    op.create_index("ix_mail_messages_status_due", "mail_messages", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_messages_status_due", table_name="mail_messages")
    op.drop_index("ix_mail_messages_chat_message_id", table_name="mail_messages")
    op.drop_index("ix_mail_messages_conversation_id", table_name="mail_messages")
    op.drop_table("mail_messages")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversations_previous_id", type_="foreignkey")
        batch_op.drop_constraint("uq_conversations_mail_token", type_="unique")
        batch_op.drop_column("previous_id")
        batch_op.drop_column("mail_token")
        batch_op.drop_column("channel")
