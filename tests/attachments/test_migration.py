"""The attachments table comes and goes with its migration, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.engine import MIGRATIONS, create_engine, migrate

BEFORE = "c4e1a2f09d37"  # the revision the attachments migration follows


def _tables_after(url: str, target: str | None) -> set[str]:
    """Migrate to head, then (when given) down to `target`; the tables there are."""

    async def run() -> set[str]:
        engine = create_engine(url)
        try:
            await migrate(engine)

            def step(connection: Connection) -> set[str]:
                if target is not None:
                    config = Config()
                    config.set_main_option("script_location", str(MIGRATIONS))
                    config.attributes["connection"] = connection
                    command.downgrade(config, target)
                return set(inspect(connection).get_table_names())

            async with engine.begin() as connection:
                return await connection.run_sync(step)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _round_trip(url: str) -> None:
    assert "attachments" in _tables_after(url, None)
    assert "attachments" not in _tables_after(url, BEFORE)
    assert "attachments" in _tables_after(url, None)  # and up again


def test_the_attachments_migration_goes_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_the_attachments_migration_goes_up_and_down_on_postgresql(postgres_url: str) -> None:
    _round_trip(postgres_url)
