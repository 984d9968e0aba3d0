"""Real Kakehashi server processes (`python -m app serve`), started and killed at will.

The multi-server tests and `kakehashi bench` both run the server as customers meet it:
its own process, uvicorn on loopback, its own data folder.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident memory of a process now (Linux), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"/proc/{pid}/status has no VmRSS line")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, user and system, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """One `kakehashi serve` process on a port of its own, started and killed at will.

    `cwd` is where it runs (the repository by default; a folder without a `.env` keeps the
    developer's settings out of it).
    """

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        data: Path,
        port: int | None = None,
        cwd: Path = ROOT,
    ):
        self.name = name
        self.env = {**os.environ, **env, "KAKEHASHI_DATA_DIR": str(data)}
        self.data = data
        self.port = port or free_port()
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def start(self, timeout: float = 600) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self._log = log = (self.data / f"{self.name}.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self._close_log()
                raise AssertionError(f"{self.name} exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start:\n{self.log()}")
            time.sleep(0.3)

    def kill(self) -> None:
        """kill -9: no shutdown, no clean-up, whatever was in memory is gone."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
            self.process = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None
        self._close_log()

    def log(self) -> str:
        path = self.data / f"{self.name}.log"
        return path.read_text()[-5000:] if path.exists() else ""

    def sign_in(self, username: str, password: str, page: str | None = None) -> dict[str, str]:
        """A session cookie (and the CSRF token that `page` carries) of a signed-in user."""
        with httpx.Client(base_url=self.base) as client:
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            signed = client.post(
                "/login",
                data={"username": username, "password": password, "csrf_token": token[1]},
            )
            assert signed.status_code in (200, 303), signed.text
            secret = client.cookies["kakehashi_session"]
            csrf = ""
            if page is not None:
                found = re.search(r'data-csrf="([^"]+)"', client.get(page).text)
                csrf = found[1] if found else ""
        return {"cookie": f"kakehashi_session={secret}", "x-csrf-token": csrf}
