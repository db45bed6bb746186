"""The consecutive-steps argument: the exact run probability and n(T) on the pit."""

import itertools

import pytest

from models.landscapes import pit
from models.sgd.consecutive_steps import consecutive_steps, run_probability


def _brute_force(run_length: int, picks: int, p: float) -> float:
    total = 0.0
    for seq in itertools.product((0, 1), repeat=picks):
        longest = current = 0
        for s in seq:
            current = current + 1 if s else 0
            longest = max(longest, current)
        if longest >= run_length:
            total += p ** sum(seq) * (1 - p) ** (picks - sum(seq))
    return total


@pytest.mark.parametrize(("n", "N", "p"), [(1, 5, 0.5), (3, 10, 0.5), (2, 12, 0.3), (4, 14, 0.7), (5, 4, 0.5)])
def test_run_probability_matches_enumeration(n, N, p):
    assert run_probability(n, N, p) == pytest.approx(_brute_force(n, N, p), abs=1e-12)


def test_the_seeds_81_percent():
    assert run_probability(5, 100, 0.5) == pytest.approx(0.8101, abs=1e-4)


def test_five_steps_at_T_005_from_the_l1_minimum():
    ls = pit()
    (w_min, _), (w_max, _) = ls.stationary_points("l1", 0.5, 1.5)
    run = consecutive_steps(ls, "l0", 0.05, w_min, w_max)
    assert run.steps == 5
    assert run.positions[-1] == pytest.approx(1.201, abs=2e-3)
    assert run.positions[-2] < w_max < run.positions[-1]


@pytest.mark.parametrize(("args", "message"), [((0, 10), "run_length"), ((3, -1), "picks"), ((3, 10, 1.5), "p:")])
def test_run_probability_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        run_probability(*args)
