"""What the command line's commands share: settings, failing clearly, the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from app.settings import Settings, get_settings


def settings_for(kb: Path | None = None) -> Settings:
    settings = get_settings()
    if kb is not None:
        settings = settings.model_copy(update={"kb_dir": kb})
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def with_db(settings: Settings, work: Any) -> Any:
    """Run `work(session_factory)` against the configured, migrated database."""
    import asyncio

    from app.settings import resolved_database_url
    from storage.engine import create_engine, migrate, session_factory

    async def go() -> Any:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(resolved_database_url(settings))
        try:
            await migrate(engine)
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())
