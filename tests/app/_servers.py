"""Real Kakehashi server processes for the multi-server tests (`python -m app serve`)."""

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

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One `kakehashi serve` process on a port of its own, started and killed at will."""

    def __init__(self, name: str, env: dict[str, str], data: Path, port: int | None = None):
        self.name = name
        self.env = {**os.environ, **env, "KAKEHASHI_DATA_DIR": str(data)}
        self.data = data
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def start(self, timeout: float = 600) -> None:
        self._log = log = (self.data / f"{self.name}.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
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


DOCS_DEPLOY = ROOT / "docs" / "deploy.md"


class Nginx:
    """nginx running the server block of docs/deploy.md in front of the given servers."""

    def __init__(self, root: Path, upstreams: list[int]) -> None:
        self.root = root
        self.port = free_port()
        self.upstreams = upstreams
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def config(self) -> str:
        text = DOCS_DEPLOY.read_text()
        block = text.split("<!-- nginx-begin -->", 1)[1].split("<!-- nginx-end -->", 1)[0]
        block = block.strip().removeprefix("```nginx").removesuffix("```")
        block = block.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        block = block.replace("127.0.0.1:8001", f"127.0.0.1:{self.upstreams[0]}")
        block = block.replace("127.0.0.1:8002", f"127.0.0.1:{self.upstreams[1]}")
        temp = self.root / "temp"
        return (
            "daemon off;\nworker_processes 1;\nuser root;\n"
            f"pid {self.root / 'nginx.pid'};\nerror_log {self.root / 'error.log'} info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  access_log {self.root / 'access.log'};\n"
            f"  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
            f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n"
            f"  scgi_temp_path {temp}/scgi;\n"
            f"{block}\n}}\n"
        )

    def start(self) -> None:
        (self.root / "temp").mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(self.config())
        self.process = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError((self.root / "error.log").read_text())
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("nginx did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
