"""LoginThrottle on its own: failed sign-ins counted per account and address, under locks."""

from __future__ import annotations

import time

import anyio
import pytest
from limits import parse

from accounts.throttle import LoginThrottle, SignInThrottled, parse_limit


def test_a_burst_of_parallel_guesses_gets_no_more_than_the_limit() -> None:
    throttle = LoginThrottle("memory://", parse("3/15 minutes"), parse("100/15 minutes"))
    verified: list[int] = []
    refused: list[int] = []

    async def wrong_password(n: int) -> None:
        verified.append(n)
        await anyio.sleep(0.01)  # a database round trip: other requests run meanwhile

    async def guess(n: int) -> None:
        try:
            await throttle.check("aiko", "198.51.100.7", lambda: wrong_password(n))
        except SignInThrottled:
            refused.append(n)

    async def burst() -> None:
        async with anyio.create_task_group() as tasks:
            for n in range(20):
                tasks.start_soon(guess, n)

    anyio.run(burst)
    assert len(verified) == 3 and len(refused) == 17


def test_failures_lock_out_the_account_and_a_success_clears_it() -> None:
    throttle = LoginThrottle("memory://", parse("2/15 minutes"), parse("100/15 minutes"))
    checks: list[str] = []

    async def verify(result: str | None) -> str | None:
        checks.append(str(result))
        return result

    async def scenario() -> None:
        assert await throttle.check("aiko", "198.51.100.7", lambda: verify(None)) is None
        assert await throttle.check(" AIKO ", "198.51.100.7", lambda: verify("aiko")) == "aiko"
        for _ in range(2):  # the success cleared the account: two more failures are allowed
            assert await throttle.check("aiko", "203.0.113.1", lambda: verify(None)) is None
        with pytest.raises(SignInThrottled) as refused:
            await throttle.check("Aiko", "203.0.113.2", lambda: verify("aiko"))
        assert 14 * 60 < refused.value.retry_after <= 15 * 60
        assert refused.value.minutes == 15
        assert await throttle.check("ken", "203.0.113.2", lambda: verify("ken")) == "ken"

    anyio.run(scenario)
    assert checks == ["None", "aiko", "None", "None", "ken"], "a locked account is not checked"


@pytest.mark.parametrize("value", ["5 per fortnight", "0/15 minutes", "5/second; 20/hour", ""])
def test_parse_limit_names_the_setting_and_the_expected_form(value: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_limit(value, "KAKEHASHI_X")
    assert f"KAKEHASHI_X={value!r}" in str(refused.value)
    assert '"5/15 minutes"' in str(refused.value)


def test_parse_limit_reads_one_limit() -> None:
    limit = parse_limit("5/15 minutes", "KAKEHASHI_X")
    assert (limit.amount, limit.get_expiry()) == (5, 15 * 60)


@pytest.mark.redis
def test_a_closed_throttle_leaves_no_connection_open_on_redis(redis_url: str) -> None:
    import redis

    throttle = LoginThrottle(redis_url, parse("3/15 minutes"), parse("100/15 minutes"))
    watcher = redis.Redis.from_url(redis_url)
    watcher_id = watcher.client_id()

    def others() -> set[str]:
        return {c["addr"] for c in watcher.client_list() if int(c["id"]) != watcher_id}

    before = others()  # e.g. the fixture's own client, whose close redis may not have read yet

    async def fail_once_then_close() -> set[str]:
        async def wrong_password() -> None:
            return None

        await throttle.check("aiko", "198.51.100.7", wrong_password)
        opened = others() - before
        await throttle.aclose()
        return opened

    opened = anyio.run(fail_once_then_close)
    assert opened  # the throttle did talk to redis
    # Redis reads a closed socket on its own time: give it a moment, not forever.
    deadline = time.monotonic() + 5
    while opened & others() and time.monotonic() < deadline:
        time.sleep(0.05)
    left_open = opened & others()
    watcher.close()
    assert left_open == set()
