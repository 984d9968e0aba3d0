"""A real server with an agent and an editor for the staff-side browser tests and the
README's screenshots (`make screenshots`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.app.test_browser import browser, free_port
from tests.conftest import ROOT, SAMPLE_KB

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["browser", "staff_server"]  # the fixtures
STARTUP_SECONDS = 600  # the first start embeds the whole sample KB; CI machines are shared


@dataclass(frozen=True)
class StaffServer:
    base: str
    data: Path

    def password(self, role: str) -> str:
        return (self.data / f"{role}-password").read_text()


def _create_user(env: dict[str, str], username: str, role: str, name: str, *flags: str) -> str:
    created = subprocess.run(
        [sys.executable, "-m", "app", "user", "create", username, "--role", role]
        + ["--name", name, "--generate", *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.rsplit("Password: ", 1)[1].strip()


@contextmanager
def serving(env: dict[str, str], data: Path) -> Iterator[str]:
    """`kakehashi serve` with `env` (its log in DATA/server.log) for the block; its base URL."""
    port = free_port()
    log = (data / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError((data / "server.log").read_text())
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start:\n" + (data / "server.log").read_text())
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffServer]:
    """`kakehashi serve` with the sample KB, open all day, and the accounts aiko (agent),
    ken (editor) and mika (admin, with a temporary password)."""
    data = tmp_path_factory.mktemp("staff-data")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "KAKEHASHI_DATA_DIR": str(data),
        "KAKEHASHI_KB_DIR": str(SAMPLE_KB),
        "KAKEHASHI_BUSINESS_HOURS": "mon-sun 00:00-24:00",
    }
    (data / "agent-password").write_text(_create_user(env, "aiko", "agent", "Aiko"))
    (data / "editor-password").write_text(_create_user(env, "ken", "editor", "Ken"))
    # an admin handed a temporary password, who must choose their own at the first sign-in
    (data / "admin-password").write_text(_create_user(env, "mika", "admin", "Mika", "--temporary"))
    with serving(env, data) as base:
        yield StaffServer(base, data)


def signed_in(browser: Browser, server: StaffServer, path: str, username: str, role: str) -> Page:
    """A new page of its own (own cookies) at `path`, signed in through the form."""
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(server.base + path)  # redirected to the sign-in form
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(server.password(role))
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(server.base + path)
    return page


def keep(page: Page, name: str) -> Path | None:
    """Save what the person sees to $KAKEHASHI_SCREENSHOTS/NAME.png when that is set
    (`make screenshots` sets docs/screenshots)."""
    folder = os.environ.get("KAKEHASHI_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path
