"""A throwaway PostgreSQL server for the tests marked `postgres`.

Debian's `postgresql` package puts the server binaries in /usr/lib/postgresql/<version>/bin
(not on PATH). The server lives in a temporary folder: its data, its log and its Unix
socket; it listens on a free port of 127.0.0.1 and trusts local connections. initdb refuses
to run as root, so as root every binary runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg

SERVER_USER = "postgres"  # the system user the binaries run as under root
SUPERUSER = "kakehashi"  # the database superuser initdb creates


def find_binaries() -> Path | None:
    """The newest Debian PostgreSQL bin folder, else the folder of an `initdb` on PATH."""
    folders = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    folders.sort(key=lambda folder: _version(folder.parent.name), reverse=True)
    if folders:
        return folders[0]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """initdb + pg_ctl start in a temporary folder; `stop()` shuts it down and removes it."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="kakehashi-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self._as_server_user = os.geteuid() == 0
        if self._as_server_user:
            shutil.chown(self.root, SERVER_USER)

    def start(self) -> None:
        try:
            self._run(
                "initdb",
                "--pgdata", str(self.data),
                "--username", SUPERUSER,
                "--auth", "trust",
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-sync",
            )  # fmt: skip
            self.resume()
        except BaseException:
            self.stop()
            raise

    def resume(self) -> None:
        """Start the server (again, after `pause`) on the same port with the same data."""
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",  # the Unix socket stays in the temporary folder
                "-c listen_addresses=127.0.0.1",
                # a throwaway server: durability buys nothing and costs seconds
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        self._run(
            "pg_ctl", "start", "--wait", "--timeout", "30",
            "--pgdata", str(self.data), "--log", str(self.log), "-o", options,
        )  # fmt: skip

    def pause(self) -> None:
        """Shut the server down, keeping its data: clients find it unreachable until `resume`."""
        self._run("pg_ctl", "stop", "--wait", "--pgdata", str(self.data), "--mode", "fast")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "--wait", "--pgdata", str(self.data), "--mode", "fast")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its name."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a connection a failed test left open must not keep the database alive
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        async def execute() -> None:
            connection = await asyncpg.connect(self.url(driver="postgresql"))
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(execute())

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self._as_server_user:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed with exit code {done.returncode}:\n"
                f"{done.stdout}{done.stderr}{log}"
            )
