"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.db.engine import create_engine, migrate
from app.db.models import Base


def test_migrated_database_matches_the_models(tmp_path: Path) -> None:
    async def differences() -> list[Any]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
        try:
            await migrate(engine)
            await migrate(engine)  # idempotent: a second start changes nothing

            def compare(connection: Connection) -> list[Any]:
                context = MigrationContext.configure(connection)
                return list(compare_metadata(context, Base.metadata))

            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    assert asyncio.run(differences()) == []
