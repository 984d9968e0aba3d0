"""The best section score of every article, the number fusion ranks articles by: the
column-wise shortcut gives what a plain maximum over each article's sections gives, for
articles of any length (none, short, longer than the columns) and any scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval._hybrid_parts import RowGroups


def plain_best(scores: list[float], sizes: list[int]) -> list[float]:
    out, at = [], 0
    for size in sizes:
        out.append(max(scores[at : at + size]) if size else -np.inf)
        at += size
    return out


def starts_of(sizes: list[int]) -> np.ndarray:
    starts = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    return starts


@given(
    sizes=st.lists(st.integers(0, 12), max_size=40),
    width=st.none() | st.integers(1, 6),
    data=st.data(),
)
def test_every_article_gets_the_best_of_its_own_sections(
    sizes: list[int], width: int | None, data: st.DataObject
) -> None:
    scores = data.draw(
        st.lists(
            st.floats(-10, 10, width=32, allow_nan=False),
            min_size=sum(sizes),
            max_size=sum(sizes),
        )
    )
    best = RowGroups(starts_of(sizes), width).best(np.asarray(scores, dtype=np.float32))
    assert best.tolist() == plain_best(scores, sizes)


def test_an_article_longer_than_the_columns_is_not_cut_short() -> None:
    # the best section of the second article is its sixth, past the four columns
    groups = RowGroups(starts_of([4, 7, 4]), width=4)
    scores = np.asarray([1, 0, 0, 0] + [0, 0, 0, 0, 0, 9, 0] + [0, 2, 0, 0], dtype=np.float32)
    assert groups.best(scores).tolist() == [1, 9, 2]


def test_scores_for_another_index_are_refused() -> None:
    with pytest.raises(ValueError, match="expected 3 scores"):
        RowGroups(starts_of([1, 2])).best(np.zeros(4, dtype=np.float32))
