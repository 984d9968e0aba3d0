"""The garbage collector once the server has started (`app.main.settle_collector`): what
the start loaded is left out of its passes, and garbage that lived long enough to reach
the old generation (a chat closed after a minute) is still freed by its own passes, not
only after the ~20 minutes a long-running server once grew for."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from app.main import settle_collector


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()


class Chat:
    """A closed chat's objects: they refer to one another, so only the collector frees them."""

    def __init__(self) -> None:
        self.session = {"chat": self}


@pytest.mark.usefixtures("collector")
def test_a_chat_that_reached_the_old_generation_is_freed_by_the_collectors_own_passes() -> None:
    # this test process holds far more objects than it makes now, as a server holds its
    # models: what the collector counted before the freeze must not put off its full pass
    loaded = [[i] for i in range(200_000)]
    settle_collector((100, 2, 2))  # small generations, so that a few objects drive passes
    chat = Chat()
    closed = weakref.ref(chat)
    gc.collect(1)  # it outlived the young passes: in the old generation now
    del chat
    made = [[i] for i in range(20_000)]  # the next replies' objects
    assert closed() is None, "freed by an automatic full pass"
    assert len(loaded) + len(made) == 220_000
