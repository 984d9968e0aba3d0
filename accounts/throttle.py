"""Sign-in throttling: failed sign-ins counted per account and per client address.

Past the limits, passwords are not even checked until the window moves on
(`LoginThrottle`). The counters live in limits' storage: memory:// for one process, redis
for several. The limits and the storage URI are plain values; `parse_limit` reads one limit
in limits' notation, naming the setting it came from when it is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from weakref import WeakValueDictionary

import limits
from limits import RateLimitItem
from limits.aio.strategies import MovingWindowRateLimiter

from accounts.users import MAX_USERNAME_LENGTH
from guards.rates import async_storage

log = logging.getLogger("kakehashi.auth")
T = TypeVar("T")


def parse_limit(value: str, setting: str) -> RateLimitItem:
    """One rate limit in limits' notation ("5/15 minutes"); the error names the setting."""
    expected = 'expected one limit such as "5/15 minutes", "20 per hour" or "3/second"'
    try:
        items = limits.parse_many(value)
    except ValueError:
        raise ValueError(f"{setting}={value!r}: {expected}") from None
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(f"{setting}={value!r}: {expected}")
    return items[0]


class SignInThrottled(Exception):
    """Too many failed sign-ins for this account or from this address; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; retry in {retry_after} s")
        self.retry_after = retry_after  # seconds until the next attempt is considered

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


class LoginThrottle:
    """Counts failed sign-ins per account and per client address (limits' moving window).

    One check, the password check and the count run under a lock per account and one per
    address, so a burst of parallel guesses cannot all pass the check before the first
    failure is counted. (With several processes sharing redis, each process can still let
    one guess per account through at the same moment.)
    """

    def __init__(self, storage_uri: str, per_account: RateLimitItem, per_ip: RateLimitItem) -> None:
        self._limiter = MovingWindowRateLimiter(async_storage(storage_uri))
        self._per_account = per_account
        self._per_ip = per_ip
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    async def check(
        self, username: str, ip: str, verify: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        """Run `verify` (the password check) unless this account or address is locked out.

        Args:
            username: The name as typed; counted trimmed and case-folded, whether or not
                such a user exists (so the answer does not reveal it).
            ip: The client's address.
            verify: Returns the signed-in user, or None for wrong credentials.

        Returns:
            What `verify` returned. A None counts as a failure; anything else clears the
            account's count.

        Raises:
            SignInThrottled: Too many recent failures; `verify` was not called.
        """
        account = ("login-account", username.strip().casefold()[:MAX_USERNAME_LENGTH])
        address = ("login-ip", ip)
        async with self._lock("/".join(account)), self._lock("/".join(address)):
            waits = [
                (await self._limiter.get_window_stats(item, *key)).reset_time - time.time()
                for item, key in ((self._per_account, account), (self._per_ip, address))
                if not await self._limiter.test(item, *key)
            ]
            if waits:
                retry_after = max(1, math.ceil(max(waits)))
                log.warning(
                    "sign-in refused without checking the password: too many failures "
                    "(user %r from %s; next try in %d s)",
                    account[1],
                    ip,
                    retry_after,
                )
                raise SignInThrottled(retry_after)
            result = await verify()
            if result is None:
                await self._limiter.hit(self._per_account, *account)
                await self._limiter.hit(self._per_ip, *address)
            else:
                await self._limiter.clear(self._per_account, *account)
            return result

    async def aclose(self) -> None:
        """Close the storage's connections (redis; memory holds none)."""
        bridge = getattr(self._limiter.storage, "bridge", None)  # limits' redis storage
        close = getattr(getattr(bridge, "storage", None), "aclose", None)
        if close is not None:
            await close()

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
