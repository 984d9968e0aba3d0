"""Sign-in throttling over HTTP: failed sign-ins per account and per client address."""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Awaitable
from typing import Any

import limits.aio.storage.memory
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

import accounts.throttle
import app.routes.auth
from app.deps import SESSION_COOKIE
from app.routes.auth import client_address
from app.settings import Settings
from tests.app import agents
from tests.app.agents import PASSWORD, add_user
from tests.app.conftest import MakeClient
from tests.app.test_access import Reply, try_sign_in

seeded_data = agents.seeded_data
make_client = agents.make_client

WRONG = "not my password at all"


class Clock:
    """Stands in for the `time` module where the limiter reads the time."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(limits.aio.storage.memory, "time", fake)
    monkeypatch.setattr(accounts.throttle, "time", fake)
    return fake


def from_address(client: TestClient, ip: str) -> None:
    """Make the app see the following requests as coming from `ip`."""
    client.app.dependency_overrides[client_address] = lambda: ip  # type: ignore[attr-defined]


def assert_throttled(response: Reply, minutes: int) -> int:
    """A refusal for too many failures; returns its Retry-After in seconds."""
    assert response.status_code == 429, response.text[:300]
    unit = "minute" if minutes == 1 else "minutes"
    assert f"Too many failed sign-ins. Try again in {minutes} {unit}." in response.text
    assert 'name="username"' in response.text, "the form is shown again"
    assert SESSION_COOKIE not in response.cookies
    retry_after = int(response.headers["retry-after"])
    assert (minutes - 1) * 60 < retry_after <= minutes * 60
    return retry_after


def count_password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The user names whose password the login route checks from now on."""
    checked: list[str] = []
    real = app.routes.auth.check_password

    def counting(user: Any, password: str) -> Awaitable[Any]:
        checked.append(user.username if user is not None else "(nobody)")
        return real(user, password)

    monkeypatch.setattr(app.routes.auth, "check_password", counting)
    return checked


def test_after_the_limit_even_the_right_password_is_refused(
    make_client: MakeClient,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(login_attempts_per_account="3/15 minutes")
    add_user(client, "aiko")
    add_user(client, "ken")
    from_address(client, "198.51.100.7")
    for _ in range(3):
        assert try_sign_in(client, "aiko", WRONG).status_code == 401
        clock.advance(60)

    checked = count_password_checks(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="kakehashi.auth"):
        # the first failure was 3 minutes ago: it drops out of the window in 12 minutes
        assert assert_throttled(try_sign_in(client, "aiko", PASSWORD), 12) == 12 * 60
        assert_throttled(try_sign_in(client, " AIKO ", PASSWORD), 12)  # the same account
    assert checked == [], "the password must not even be checked while locked out"
    assert client.get("/api/queue").status_code == 401
    logged = [r.getMessage() for r in caplog.records if r.name == "kakehashi.auth"]
    assert len(logged) == 2 and all("'aiko'" in m and "198.51.100.7" in m for m in logged)
    assert not any(PASSWORD in m for m in logged)

    # someone else, from elsewhere, signs in as usual
    from_address(client, "203.0.113.20")
    assert try_sign_in(client, "ken", PASSWORD).status_code == 303
    assert checked == ["ken"]


def test_unknown_user_names_are_throttled_alike(make_client: MakeClient, clock: Clock) -> None:
    client = make_client(login_attempts_per_account="2/15 minutes")
    add_user(client, "aiko")
    replies = {
        name: [try_sign_in(client, name, WRONG) for _ in range(3)] for name in ("aiko", "nobody")
    }
    for name, (first, second, third) in replies.items():
        assert (first.status_code, second.status_code) == (401, 401), name
        assert_throttled(third, 15)
    assert replies["aiko"][2].headers["retry-after"] == replies["nobody"][2].headers["retry-after"]


def test_one_address_is_limited_across_user_names(make_client: MakeClient, clock: Clock) -> None:
    client = make_client(login_attempts_per_ip="3/15 minutes")
    add_user(client, "aiko")
    from_address(client, "198.51.100.7")
    for name in ("admin", "root", "support"):
        assert try_sign_in(client, name, WRONG).status_code == 401
    assert_throttled(try_sign_in(client, "aiko", PASSWORD), 15)

    from_address(client, "203.0.113.20")
    assert try_sign_in(client, "aiko", PASSWORD).status_code == 303


def test_signing_in_clears_the_accounts_failures(make_client: MakeClient, clock: Clock) -> None:
    client = make_client(login_attempts_per_account="3/15 minutes")
    add_user(client, "aiko")
    for _ in range(2):
        assert try_sign_in(client, "aiko", WRONG).status_code == 401
        assert try_sign_in(client, "aiko", WRONG).status_code == 401
        assert try_sign_in(client, "aiko", PASSWORD).status_code == 303  # 4 failures so far
    for _ in range(3):
        assert try_sign_in(client, "aiko", WRONG).status_code == 401
    assert_throttled(try_sign_in(client, "aiko", PASSWORD), 15)


def test_the_lock_out_ends_when_the_window_moves_on(make_client: MakeClient, clock: Clock) -> None:
    client = make_client(login_attempts_per_account="2/15 minutes")
    add_user(client, "aiko")
    assert try_sign_in(client, "aiko", WRONG).status_code == 401
    clock.advance(5 * 60)
    assert try_sign_in(client, "aiko", WRONG).status_code == 401
    assert assert_throttled(try_sign_in(client, "aiko", PASSWORD), 10) == 10 * 60

    clock.advance(10 * 60 + 1)  # the first failure has left the window, the second has not
    assert try_sign_in(client, "aiko", WRONG).status_code == 401
    assert_throttled(try_sign_in(client, "aiko", PASSWORD), 5)
    clock.advance(5 * 60 + 1)
    assert try_sign_in(client, "aiko", PASSWORD).status_code == 303


def test_seconds_long_windows_expire_in_real_time(make_client: MakeClient) -> None:
    client = make_client(login_attempts_per_account="1/1 second")
    add_user(client, "aiko")
    assert try_sign_in(client, "aiko", WRONG).status_code == 401
    refused = try_sign_in(client, "aiko", PASSWORD)
    assert_throttled(refused, 1)
    assert refused.headers["retry-after"] == "1"
    time.sleep(1.1)
    assert try_sign_in(client, "aiko", PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("KAKEHASHI_LOGIN_ATTEMPTS_PER_ACCOUNT", "5 per fortnight"),
        ("KAKEHASHI_LOGIN_ATTEMPTS_PER_ACCOUNT", "0/15 minutes"),
        ("KAKEHASHI_LOGIN_ATTEMPTS_PER_IP", "twenty"),
        ("KAKEHASHI_LOGIN_ATTEMPTS_PER_IP", "5/second; 20/hour"),
    ],
)
def test_a_bad_limit_is_refused_with_its_name_and_the_expected_form(
    monkeypatch: pytest.MonkeyPatch, setting: str, value: str
) -> None:
    monkeypatch.setenv(setting, value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = str(refused.value)
    assert f"{setting}={value!r}" in message and '"5/15 minutes"' in message


def test_an_unknown_or_unusable_storage_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAKEHASHI_RATE_LIMIT_STORAGE", "mongodb://db.example/limits")
    with pytest.raises(ValidationError, match="KAKEHASHI_RATE_LIMIT_STORAGE.*'mongodb'"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    if importlib.util.find_spec("redis") is None:
        monkeypatch.setenv("KAKEHASHI_RATE_LIMIT_STORAGE", "redis://:secret@127.0.0.1:6379/0")
        with pytest.raises(ValidationError, match="needs the redis package") as refused:
            Settings(_env_file=None)  # type: ignore[call-arg]
        assert "secret" not in refused.value.errors()[0]["msg"], "our message hides passwords"
