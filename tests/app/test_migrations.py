"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.engine import create_engine, migrate
from storage.models import Base
from tests.app.conftest import on_both_databases


@on_both_databases
def test_migrated_database_matches_the_models(tmp_path: Path, database_url: str | None) -> None:
    async def differences() -> list[Any]:
        engine = create_engine(database_url or f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
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


# imports first, then migrate when told to, so that the servers really start together
START = "import asyncio, sys; from storage.engine import create_engine, migrate; "
START += "sys.stdin.readline(); asyncio.run(migrate(create_engine(sys.argv[1])))"


@pytest.mark.postgres
def test_servers_starting_together_on_a_new_database_all_come_up(postgres_url: str) -> None:
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", START, postgres_url],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1.5)  # the imports
    for server in servers:
        assert server.stdin is not None
        server.stdin.write("go\n")
        server.stdin.flush()
    errors = [server.communicate(timeout=60)[1][-300:] for server in servers]
    # without the migration lock: "duplicate key value violates unique constraint"
    assert [server.returncode for server in servers] == [0] * len(servers), errors
