import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.apportion import highest_averages, largest_remainder


def test_largest_remainder_hand_case():
    # quotas 4.2857, 2.8571, 2.8571 for 10 seats among 3:2:2 -> floors 4,2,2; remainders favour 2 then 3
    assert largest_remainder(np.array([3, 2, 2]), 10).tolist() == [4, 3, 3]
    assert largest_remainder(np.array([1, 1, 1]), 2).tolist() == [1, 1, 0]  # tie -> earlier index


def test_dhondt_textbook_case():
    # The classic example: 100k, 80k, 30k, 20k votes and 8 seats -> 4, 3, 1, 0.
    assert highest_averages(np.array([100_000, 80_000, 30_000, 20_000]), 8).tolist() == [4, 3, 1, 0]


@pytest.mark.parametrize("func", [largest_remainder, highest_averages])
def test_zero_total(func):
    assert func(np.array([5, 3]), 0).tolist() == [0, 0]


weights = st.lists(st.integers(1, 10_000), min_size=1, max_size=30).map(np.array)


@given(weights, st.integers(0, 500))
def test_largest_remainder_sums_and_stays_within_one_of_quota(w, total):
    got = largest_remainder(w, total)
    assert got.sum() == total
    assert np.all(np.abs(got - w * total / w.sum()) < 1)


@given(weights, st.integers(0, 200))
def test_dhondt_sums_and_is_house_monotone(w, seats):
    now, more = highest_averages(w, seats), highest_averages(w, seats + 1)
    assert now.sum() == seats and more.sum() == seats + 1
    assert np.all(more >= now)  # one more seat never takes one away: nested station plans
