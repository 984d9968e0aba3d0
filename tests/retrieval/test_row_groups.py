"""The best section score of every article, the number fusion ranks articles by: the
column-wise shortcut gives what a plain maximum over each article's sections gives, for
articles of any length (none, short, longer than the columns) and any scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval._hybrid_parts import RowGroups, _width, best_per_row


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
    # -inf: a passage with no vector scores the floor, which may be -inf
    scores = data.draw(
        st.lists(
            st.floats(-10, 10, width=32) | st.just(-np.inf),
            min_size=sum(sizes),
            max_size=sum(sizes),
        )
    )
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    array = np.asarray(scores, dtype=dtype)
    best = RowGroups(starts_of(sizes), width).best(array)
    assert best.dtype == np.float32
    assert best.tolist() == plain_best(scores, sizes)
    assert best.tolist() == best_per_row(array, starts_of(sizes)).tolist()


def test_an_article_longer_than_the_columns_is_not_cut_short() -> None:
    # the best section of the second article is its sixth, past the four columns
    groups = RowGroups(starts_of([4, 7, 4]), width=4)
    scores = np.asarray([1, 0, 0, 0] + [0, 0, 0, 0, 0, 9, 0] + [0, 2, 0, 0], dtype=np.float32)
    assert groups.best(scores).tolist() == [1, 9, 2]


def test_the_columns_fit_the_knowledge_base() -> None:
    assert _width(np.full(1000, 4)) == 4  # every article has four sections
    # one-section articles and a few long ones: one column, the long ones by reduceat
    assert _width(np.asarray([1] * 800 + [30] * 200)) == 1
    assert _width(np.zeros(0, dtype=np.int64)) == 1


def test_scores_for_another_index_are_refused() -> None:
    with pytest.raises(ValueError, match="expected 3 scores"):
        RowGroups(starts_of([1, 2])).best(np.zeros(4, dtype=np.float32))
