"""Finite-system measures against the essay's Part 1 numbers and the epsilon-family limit."""

import numpy as np
import pytest

from models.measures import (
    adjusted_optimizingness,
    anti_diagonal,
    decorrelate,
    entropy_bits,
    epsilon_marginal,
    optimizing_strength,
    thermostat,
)


def test_entropy_in_bits_with_zero_log_zero():
    assert entropy_bits([0.5, 0.5, 0.0]) == pytest.approx(1.0)
    assert entropy_bits(np.full((3, 3), 1 / 9)) == pytest.approx(np.log2(9))
    assert entropy_bits([1.0, 0.0]) == 0.0


def test_part_1_dumb_thermostat():
    system, P0 = thermostat(smart=False), anti_diagonal()
    assert entropy_bits(system.pushforward(P0)) == pytest.approx(np.log2(3))  # the essay's "1.6 bits"
    assert entropy_bits(system.pushforward(decorrelate(P0))) == pytest.approx(2.725, abs=1e-3)  # "2.7 bits"
    assert optimizing_strength(system, P0) == pytest.approx(1.141, abs=1e-3)  # "1.1 bits"


def test_part_1_smart_thermostat_is_about_twice_as_strong():
    system, P0 = thermostat(smart=True), anti_diagonal()
    assert entropy_bits(system.pushforward(P0)) == 0.0  # "an entropy of zero"
    assert optimizing_strength(system, P0) == pytest.approx(2.197, abs=1e-3)  # "2.2 bits"


def test_epsilon_family_tends_to_half_the_entropy():
    ratios = []
    for eps in (1e-2, 1e-3, 1e-4):
        m = epsilon_marginal(eps)
        P = np.outer(m, m)
        ratios.append(adjusted_optimizingness(thermostat(smart=True), P) / (0.5 * entropy_bits(P)))
    assert ratios[0] < ratios[1] < ratios[2] and abs(1 - ratios[2]) < 1e-3


def test_mutual_information_is_subtracted():
    system = thermostat(smart=False)
    U = np.full((3, 3), 1 / 9)
    current = system.pushforward(U)
    mutual = entropy_bits(decorrelate(current)) - entropy_bits(current)
    assert adjusted_optimizingness(system, U) == pytest.approx(optimizing_strength(system, current) - mutual)


@pytest.mark.parametrize(
    ("P", "message"),
    [
        (np.full((3, 3), 0.1), "summing to 1"),
        (np.full((2, 3), 1 / 6), "expected shape"),
        (np.array([[1.5, -0.5, 0], [0, 0, 0], [0, 0, 0]]), "non-negative"),
    ],
)
def test_bad_distributions_are_refused(P, message):
    with pytest.raises(ValueError, match=message):
        optimizing_strength(thermostat(), P)


def test_adjusted_needs_a_product_distribution():
    with pytest.raises(ValueError, match="product distribution"):
        adjusted_optimizingness(thermostat(), anti_diagonal())


def test_part_2_smart_thermostat_from_the_uniform_distribution():
    system = thermostat(smart=True)
    uniform = np.full((3, 3), 1 / 9)
    current = system.pushforward(uniform)
    assert optimizing_strength(system, current) == pytest.approx(1.108, abs=1e-3)  # the essay's "1.1 bits"
    assert adjusted_optimizingness(system, uniform) == pytest.approx(0.285, abs=1e-3)  # "0.3 bits"


def test_adjusted_measure_of_an_invertible_linear_map_is_zero():
    from models.measures import adjusted_optimizingness_linear, linear_thermostat_map

    for k in (0.3, 0.9):
        assert abs(adjusted_optimizingness_linear(linear_thermostat_map(k), np.diag([0.5, 2.0]))) < 1e-12
    with pytest.raises(ValueError, match="diagonal covariance"):
        adjusted_optimizingness_linear(linear_thermostat_map(0.3), np.array([[1.0, 0.5], [0.5, 1.0]]))
