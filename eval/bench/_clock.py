"""Time spent inside the models during a call, so it can be taken out of a measurement."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any


class ModelClock:
    """Adds up the seconds spent in the watched methods (the outermost call only)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._local = threading.local()
        self._lock = threading.Lock()

    def watch(self, obj: object, *names: str) -> list[str]:
        """Time these methods of `obj` from now on; returns the names it had."""
        watched = []
        for name in names:
            method = getattr(obj, name, None)
            if callable(method):
                setattr(obj, name, self._timed(method))
                watched.append(name)
        return watched

    def wrap(self, target: Any) -> Any:
        """`target` (a callable object) with its calls timed and everything else passed on:
        for what is called as `obj(...)`, which `watch` cannot reach."""
        return _Timed(target, self._timed(target))

    def _timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._local, "depth", 0)
            if depth:
                return method(*args, **kwargs)
            self._local.depth = 1
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - started
                    self.calls += 1
                self._local.depth = 0

        return timed

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0
            self.calls = 0


class _Timed:
    """A callable object whose calls go through a timed function."""

    def __init__(self, target: Any, timed: Callable[..., Any]) -> None:
        self._target = target
        self._timed = timed

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)
