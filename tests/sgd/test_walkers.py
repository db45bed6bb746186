"""The walker kernel against the pure-Python reference (agents) and the numpy variant, on the same seed."""

import numpy as np
import pytest

from _fastcore import walkers as kernel
from models.sgd.model import DivergenceError, SGDModel

THREE_D = {
    "dim": 3,
    "datapoints": {
        "a": [{"gaussian": {"a": -1.0, "b": 0.3, "c": 0.0}}, {"gaussian": {"a": -0.5, "b": 5.0, "c": [1, 1, 1]}}],
        "b": [{"gaussian": {"a": -1.0, "b": 0.3, "c": 0.0}}, {"polynomial": {"coefficients": [0, 0, 0.05, 0.01]}}],
        "c": [{"polynomial": {"coefficients": [0.0, 0.3], "axis": 1}}],
        "d": [{"gaussian": {"a": 0.4, "b": 2.0, "c": [0.5, 0.0, -0.5]}}],
    },
}

CASES = {
    "gd-1d": {"method": "gd"},
    "sgd-1d": {"method": "sgd"},
    "datapoint-1d": {"method": "datapoint", "datapoint": "l0"},
    "gd-3d": {"method": "gd", "landscape": THREE_D, "start": {"normal": {"mean": [1, 1, 1], "sd": 0.3}},
              "escape": {"outside": {"center": [1, 1, 1], "radius": 0.6}}},
    "sgd-3d": {"method": "sgd", "landscape": THREE_D, "start": {"normal": {"mean": [1, 1, 1], "sd": 0.3}},
               "escape": {"outside": {"center": [1, 1, 1], "radius": 0.6}}},
    "minibatch-3d": {"method": "sgd", "batch_size": 3, "landscape": THREE_D,
                     "start": {"uniform": {"low": -1, "high": 2}}, "escape": {"below": -0.5, "axis": 2}},
}


def _run(engine: str, steps: int = 150, **params) -> SGDModel:
    base = {"landscape": {"preset": "pit"}, "start": {"normal": {"mean": 1.0, "sd": 0.05}},
            "escape": {"above": {"local_maximum": "l1", "near": 1.2}}, "temperature": [0.005, 0.02, 0.04],
            "n_walkers": 40}
    model = SGDModel(rng=12345, engine=engine, **{**base, **params})
    for _ in range(steps):
        model.step()
    return model


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("stop_at_escape", [False, True])
def test_kernel_equals_the_agent_reference(case, stop_at_escape):
    k = _run("kernel", stop_at_escape=stop_at_escape, **CASES[case])
    a = _run("agents", stop_at_escape=stop_at_escape, **CASES[case])
    np.testing.assert_allclose(k.position, a.position, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(k.escape_step, a.escape_step)
    # the same draws were consumed: every block's stream continues identically
    assert [s.random() for s in k.streams] == [s.random() for s in a.streams]


@pytest.mark.parametrize("case", ["sgd-1d", "minibatch-3d"])
def test_kernel_equals_the_agent_reference_over_several_blocks(case):
    """Walkers in three blocks, each drawing from its own stream: kernel and agents agree."""
    params = {**CASES[case], "n_walkers": kernel.BLOCK - 300, "stop_at_escape": True}
    k, a = _run("kernel", steps=12, **params), _run("agents", steps=12, **params)
    assert len(k.streams) == 3
    np.testing.assert_allclose(k.position, a.position, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(k.escape_step, a.escape_step)
    assert [s.random() for s in k.streams] == [s.random() for s in a.streams]


@pytest.mark.parametrize("case", ["sgd-1d", "minibatch-3d"])
def test_any_thread_count_gives_the_same_numbers_and_draws(case):
    """Enough walkers for three threads (2 temperatures x 1.5 MIN_WALKERS_PER_THREAD), in whole blocks and one
    partial block."""
    params = {**CASES[case], "n_walkers": 3 * kernel.MIN_WALKERS_PER_THREAD // 2 + 5, "stop_at_escape": True}
    runs = []
    for threads in (1, 2, 3):
        model = SGDModel(rng=8, engine="kernel", **{"landscape": {"preset": "pit"}, "start": {"at": 1.0},
                                                    "escape": {"above": 1.1}, "temperature": [0.01, 0.04],
                                                    **params})
        model.threads = threads
        for _ in range(30):
            model.step()
        runs.append(model)
    assert kernel.threads_started()
    assert len(runs[0].streams) == 2 * (3 * kernel.MIN_WALKERS_PER_THREAD // 2 + 5) // kernel.BLOCK + 1
    for other in runs[1:]:
        assert np.array_equal(runs[0].position, other.position)
        assert np.array_equal(runs[0].escape_step, other.escape_step)
        assert [s.bit_generator.state for s in runs[0].streams] == [s.bit_generator.state for s in other.streams]


@pytest.mark.parametrize("case", list(CASES))
def test_numpy_variant_equals_the_kernel(case):
    # numpy's vectorised exp may differ from libm's in the last bit, and the pit is chaotic for
    # T > 2/L'' = 0.0205, so this comparison uses step sizes where the dynamics contract.
    stable = {"temperature": [0.002, 0.01, 0.015]}
    k = _run("kernel", **{**CASES[case], **stable})
    n = _run("numpy", **{**CASES[case], **stable})
    np.testing.assert_allclose(k.position, n.position, rtol=0, atol=1e-11)
    np.testing.assert_array_equal(k.escape_step, n.escape_step)


def test_sgd_draws_one_uniform_per_walker_per_step_from_its_blocks_stream():
    model = SGDModel(rng=5, method="sgd", n_walkers=kernel.BLOCK + 17, start={"at": 1.0})
    twins = [np.random.default_rng(5) for _ in model.streams]
    for twin, stream in zip(twins, model.streams, strict=True):
        twin.bit_generator.state = stream.bit_generator.state
    state = model.rng.bit_generator.state
    for _ in range(9):
        model.step()
    twins[0].random(kernel.BLOCK * 9)
    twins[1].random(17 * 9)
    assert [s.random() for s in model.streams] == [t.random() for t in twins]
    assert model.rng.bit_generator.state == state  # the model's own Generator only seeded the streams


def test_block_streams_are_seeded_by_one_draw_of_the_generator():
    generator, twin = np.random.default_rng(3), np.random.default_rng(3)
    streams = kernel.block_streams(generator, 2 * kernel.BLOCK + 1)
    twin.integers(2**63)
    assert generator.random() == twin.random()
    assert len(streams) == 3
    assert len({s.random() for s in streams}) == 3  # independent children, not one stream three times


def test_escaped_walkers_draw_nothing_when_frozen(pit_escape_params):
    model = SGDModel(rng=1, n_walkers=10, temperature=0.05, stop_at_escape=True, **pit_escape_params)
    while model.running:
        model.step()
    states = [s.bit_generator.state for s in model.streams]
    model.step()
    assert [s.bit_generator.state for s in model.streams] == states
    assert np.all(model.escape_step > 0)


def test_escape_step_is_the_first_step_past_the_barrier(pit_escape_params):
    model = SGDModel(rng=3, n_walkers=1, method="datapoint", datapoint="l0", temperature=0.05, trajectories=1,
                     **pit_escape_params)
    for _ in range(10):
        model.step()
    path = model.trajectory_table().W0.to_numpy()
    first = int(np.argmax(path > model.escape_region.threshold))
    assert model.escape_step[0] == first == 5


def test_kernel_validates_its_inputs():
    model = SGDModel(rng=1, n_walkers=3)
    arrays = model.landscape.kernel_arrays()
    with pytest.raises(ValueError, match="position: expected a 2-D numpy array of float64"):
        kernel.step_walkers(model.position.astype(np.float32), model.temperature, model.escape_step, arrays,
                            model.streams, kernel.METHOD_SGD)
    with pytest.raises(ValueError, match="one per walker"):
        kernel.step_walkers(model.position, model.temperature[:2].copy(), model.escape_step, arrays,
                            model.streams, kernel.METHOD_SGD)
    with pytest.raises(ValueError, match=r"batch_size: expected 1\.\.2"):
        kernel.step_walkers(model.position, model.temperature, model.escape_step, arrays, model.streams,
                            kernel.METHOD_SGD, 3)
    with pytest.raises(ValueError, match="method"):
        kernel.step_walkers(model.position, model.temperature, model.escape_step, arrays, model.streams, 7)
    with pytest.raises(ValueError, match=r"streams: expected 1 \(one per block of 1024 walkers\), got 2"):
        kernel.step_walkers(model.position, model.temperature, model.escape_step, arrays, model.streams * 2,
                            kernel.METHOD_SGD)
    with pytest.raises(ValueError, match="threads: expected a whole number >= 1, got 0"):
        kernel.step_walkers(model.position, model.temperature, model.escape_step, arrays, model.streams,
                            kernel.METHOD_SGD, threads=0)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("engine", ["kernel", "numpy", "agents"])
def test_divergence_is_an_error_naming_the_step(engine):
    steep = {"datapoints": {"a": [{"polynomial": {"coefficients": [0, 0, 0, 0, 1.0]}}]}}
    model = SGDModel(rng=1, landscape=steep, method="gd", temperature=5.0, n_walkers=2, start={"at": 3.0},
                     engine=engine)
    # |W| passes 1e150 (a run-away) before it leaves the finite numbers: the run fails there, naming the step
    with pytest.raises(DivergenceError, match=r"walker 0 \(T = 5\) reached \|W\| = \S+ by step \d+, past 1e\+150"):
        for _ in range(50):
            model.step()
