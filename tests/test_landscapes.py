"""Landscapes: analytic gradients, G and S^2 against closed forms, landmarks, and bad specs."""

import numpy as np
import pytest
from pydantic import ValidationError

from models.landscapes import LandscapeSpec, case_b, case_c, pit, symmetric_noise

W = np.linspace(-1.0, 3.0, 41)


def test_case_c_mean_gradient_and_variance_match_the_seed_corrected():
    ls = case_c()
    np.testing.assert_allclose(ls.mean_gradient(W)[:, 0], W - 2.0, atol=1e-13)
    # the essay prints 0.4 W^2; the population variance of (1.2W - 2, 0.8W - 2) is 0.04 W^2
    np.testing.assert_allclose(ls.gradient_variance(W), 0.04 * W**2, atol=1e-13)


def test_case_b_and_symmetric_noise():
    np.testing.assert_allclose(case_b().mean_gradient(W)[:, 0], 0.0)
    np.testing.assert_allclose(case_b().gradient_variance(W), 1.0)
    np.testing.assert_allclose(symmetric_noise().gradient_variance(W), W**2, atol=1e-13)


def test_pit_gradient_matches_its_closed_form():
    ls = pit()
    expected_l1 = 2 * (W - 2) * np.exp(-((W - 2) ** 2)) + 200 * (W - 1) * np.exp(-100 * (W - 1) ** 2)
    np.testing.assert_allclose(ls.gradient(W, "l1")[:, 0], expected_l1, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(ls.mean_loss(W), (ls.loss(W, 0) + ls.loss(W, 1)) / 2)


@pytest.mark.parametrize("build", [pit, case_c, lambda: _three_d()], ids=["pit", "case_c", "3-D terms"])
def test_a_stretched_landscape_is_every_loss_twice_as_wide(build):
    # l_j(W / 2) term by term: losses equal at 2W, G halved, S^2 quartered (the essay's "twice as wide in all l_i")
    ls = build()
    points = np.random.default_rng(3).uniform(-2.0, 3.0, size=(50, ls.dim))
    wide = ls.stretched(2.0)
    np.testing.assert_allclose(wide.losses(2 * points), ls.losses(points), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(wide.mean_gradient(2 * points), ls.mean_gradient(points) / 2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(wide.gradient_variance(2 * points), ls.gradient_variance(points) / 4, rtol=1e-11,
                               atol=1e-13)
    assert ls.stretched(1.0) is ls


@pytest.mark.parametrize("build", [pit, case_c, lambda: _three_d()], ids=["pit", "case_c", "3-D terms"])
def test_noise_scales_the_spread_about_the_mean_loss_and_keeps_g(build):
    ls = build()
    points = np.random.default_rng(4).uniform(-2.0, 3.0, size=(50, ls.dim))
    for k in (0.0, 0.5, 2.0):
        scaled = ls.with_noise(k)
        np.testing.assert_allclose(scaled.mean_loss(points), ls.mean_loss(points), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(scaled.mean_gradient(points), ls.mean_gradient(points), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(scaled.gradient_variance(points), k**2 * ls.gradient_variance(points), rtol=1e-9,
                                   atol=1e-12)
    assert ls.with_noise(1.0) is ls
    with pytest.raises(ValidationError, match="noise"):
        LandscapeSpec.model_validate({"preset": "pit", "noise": -0.5})


def test_a_scenario_stretches_a_landscape_and_refuses_a_bad_factor():
    spec = LandscapeSpec.model_validate({"preset": "pit", "stretch": 2})
    assert float(spec.build().local_extremum("l1", 2.0, "minimum")[0]) == pytest.approx(
        2 * float(pit().local_extremum("l1", 1.0, "minimum")[0]), rel=1e-9)
    for bad in (0, -1.0, float("inf")):
        with pytest.raises(ValidationError, match="stretch"):
            LandscapeSpec.model_validate({"preset": "pit", "stretch": bad})


def _three_d():
    return LandscapeSpec.model_validate({
        "dim": 3,
        "datapoints": {
            "a": [{"gaussian": {"a": -1.0, "b": 0.7, "c": [0.1, -0.2, 0.3]}},
                  {"polynomial": {"coefficients": [1, 0.5, 0.2, -0.1]}}],
            "b": [{"gaussian": {"a": 2.0, "b": 3.0, "c": 1.0}},
                  {"polynomial": {"coefficients": [0, 1.5], "axis": 2, "center": 0.4}}],
            "c": [{"polynomial": {"coefficients": [0, 0, 1.0], "axis": 1}}],
        },
    }).build()


def test_nd_gradients_match_central_differences():
    ls = _three_d()
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 3))
    h = 1e-6
    for j in range(ls.n_data):
        numeric = np.stack([(ls.loss(X + h * e, j) - ls.loss(X - h * e, j)) / (2 * h) for e in np.eye(3)], axis=-1)
        np.testing.assert_allclose(ls.gradient(X, j), numeric, rtol=1e-6, atol=1e-7)


def test_nd_gradient_variance_is_the_population_covariance():
    ls = _three_d()
    X = np.random.default_rng(4).normal(size=(5, 3))
    g = ls.gradients(X)
    for i in range(len(X)):
        np.testing.assert_allclose(ls.gradient_variance(X)[i], np.cov(g[:, i, :].T, bias=True), atol=1e-12)


def test_reference_gradient_is_the_vectorised_gradient():
    ls = _three_d()
    X = np.random.default_rng(5).normal(size=(10, 3))
    for w in X:
        for j in range(ls.n_data):
            out = [0.0, 0.0, 0.0]
            ls.add_datapoint_gradient(list(w), j, out)
            np.testing.assert_allclose(out, ls.gradient(w, j), rtol=1e-14, atol=1e-15)


def test_stationary_points_of_l1_are_the_seeds():
    points = pit().stationary_points("l1", 0.5, 1.5)
    assert [k for _, k in points] == ["minimum", "maximum"]
    assert points[0][0] == pytest.approx(1.004, abs=5e-4)
    assert points[1][0] == pytest.approx(1.196, abs=5e-4)
    assert float(pit().gradient(points[1][0], "l1")[0]) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"datapoints": {}}, "expected at least one datapoint"),
        ({"datapoints": {"a": []}}, "expected at least one term"),
        ({"preset": "pit", "datapoints": {"a": []}}, "exactly one of 'preset' or 'datapoints'"),
        ({"dim": 2, "datapoints": {"a": [{"gaussian": {"a": 1, "b": 1, "c": [1, 2, 3]}}]}}, "list of 2 numbers"),
        ({"dim": 2, "datapoints": {"a": [{"polynomial": {"coefficients": [1], "axis": 5}}]}}, "axis 5 is outside"),
        ({"preset": "pit", "options": {"dept": 2}}, "unknown option 'dept'"),
        ({"datapoints": {"a": [{"gaussian": {"a": 1, "b": 1}, "polynomial": {"coefficients": [1]}}]}}, "exactly one"),
    ],
)
def test_bad_landscapes_are_refused_with_a_reason(spec, message):
    with pytest.raises(ValidationError, match=message):
        LandscapeSpec.model_validate(spec)
