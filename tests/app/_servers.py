"""Real Kakehashi server processes for the multi-server tests (`python -m app serve`), and
nginx in front of them. The server itself is `eval._server.Server`, which `kakehashi bench`
runs too."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from eval._server import ROOT, Server, free_port

__all__ = ["ROOT", "Nginx", "Server", "free_port"]

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
