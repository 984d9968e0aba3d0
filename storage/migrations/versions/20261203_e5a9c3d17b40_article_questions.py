"""article questions: customers' own words for what an article answers

Revision ID: e5a9c3d17b40
Revises: d81f3b6a2c45
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a9c3d17b40"
down_revision: str | None = "d81f3b6a2c45"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("articles", "article_revisions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("questions", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
            )


def downgrade() -> None:
    for table in ("articles", "article_revisions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("questions")
