"""The helpers behind bulk writes: statement sizes and the paused collector."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.db import batch_sizes, collector_paused


@given(count=st.integers(0, 100_000), largest=st.sampled_from([1, 7, 256, 409, 4096]))
def test_batches_cover_every_row_in_few_sizes(count, largest):
    sizes = batch_sizes(count, largest)

    assert sum(sizes) == count
    assert all(1 <= size <= largest for size in sizes)
    # Whole batches first, then one batch per bit of the rest: a bounded set of shapes.
    rest = [size for size in sizes if size != largest]
    assert all(size & (size - 1) == 0 for size in rest)
    assert len(rest) == len(set(rest)) <= largest.bit_length()


def test_a_small_count_is_one_batch_per_bit():
    assert batch_sizes(11, 4096) == [8, 2, 1]
    assert batch_sizes(9000, 4096) == [4096, 4096, 512, 256, 32, 8]


def test_the_collector_pauses_for_the_job_and_runs_again_after_it():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_runs_again_after_a_job_that_failed():
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("bad row")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
