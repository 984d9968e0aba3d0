"""Memory the process gives back: freed arenas trimmed, and fewer arenas to begin with."""

from __future__ import annotations

import contextlib
import ctypes
import gc

M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


def limit_malloc_arenas(arenas: int = 4) -> None:
    """Cap glibc's malloc arenas for threads created from now on. By default every worker
    thread that allocates (numpy, the models, the database driver) may get an arena of its
    own, up to 8 per core, each keeping what it freed: a server whose replies run in a
    pool of 40 threads holds more and more memory it does not use."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to cap
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)


def release_memory() -> None:
    """Give the memory a big re-index freed back to the system: without it, glibc keeps
    the freed arenas and a first start (which embeds) holds more than a restart."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
