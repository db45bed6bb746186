"""The knowledge world ("Knowledge Localization"; docs/knowledge.md): kernel vs numpy, the model, the data, errors."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from _fastcore import mlp as kernel
from agents.knowledge import train_examples_numpy
from models.knowledge.digit_data import DataError, load_digits, load_mnist, read_idx
from models.knowledge.model import KnowledgeModel, Layout, Regression, TrainingDivergence, forks
from models.knowledge.params import KnowledgeParams
from models.params import FieldError

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason=f"MNIST is not at {MNIST} (tests only; nothing downloads)")


def _problem(n_inputs: int, n_hidden: int, n_examples: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    layout = Layout(n_inputs, n_hidden)
    pixels = rng.integers(0, 256, size=(n_examples, n_inputs), dtype=np.uint8)
    pixels[:, : n_inputs // 4] = 0  # some always-blank pixels, as MNIST's edges
    order = rng.permutation(n_examples).astype(np.int64)
    return {
        "theta": layout.he_initial(rng), "tally_a": np.zeros(layout.size), "tally_b": np.zeros(layout.size),
        "pixels": pixels, "pixel_values": (np.arange(256) + 1.0) / 256, "target_class":
            rng.integers(0, 2, n_examples).astype(np.int64), "order": order,
        "tally_group": np.where(np.arange(n_examples) >= n_examples // 2, rng.integers(0, 2, n_examples),
                                -1).astype(np.int8),
        "n_hidden": n_hidden, "losses": np.empty(n_examples), "correct": np.empty(n_examples, dtype=np.int8),
    }


def _run(train, problem: dict, learning_rate: float, hidden: str, output: str, loss: str) -> tuple[dict, int]:
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in problem.items()}
    bad = train(state["theta"], state["tally_a"], state["tally_b"], state["pixels"], state["pixel_values"],
                state["target_class"], state["order"], state["tally_group"], learning_rate, state["n_hidden"],
                kernel.ACTIVATIONS[hidden], kernel.ACTIVATIONS[output], kernel.LOSSES[loss], state["losses"],
                state["correct"])
    return state, bad


@pytest.mark.parametrize(("hidden", "output", "loss", "learning_rate"), [
    ("softplus", "softplus", "squared", 0.01), ("sigmoid", "sigmoid", "squared", 0.5),
    ("relu", "relu", "squared", 0.003), ("softplus", "linear", "cross_entropy", 0.01),
    ("relu", "linear", "squared", 0.005), ("sigmoid", "linear", "cross_entropy", 0.1),
])
def test_kernel_equals_the_numpy_reference_to_1e_12(hidden, output, loss, learning_rate):
    problem = _problem(784, 100, 300, seed=3)
    fast, bad_fast = _run(kernel.train_examples, problem, learning_rate, hidden, output, loss)
    slow, bad_slow = _run(train_examples_numpy, problem, learning_rate, hidden, output, loss)
    assert bad_fast == bad_slow == -1
    assert not np.array_equal(fast["theta"], problem["theta"])  # it trained
    assert fast["tally_a"].sum() > 0 and fast["tally_b"].sum() > 0
    for key in ("theta", "tally_a", "tally_b", "losses"):
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-12, atol=1e-12, err_msg=key)
    np.testing.assert_array_equal(fast["correct"], slow["correct"])


def test_kernel_gradient_matches_finite_differences():
    """One SGD step equals -lr times the loss's gradient, checked by central differences at a few parameters."""
    problem = _problem(16, 5, 1, seed=4)
    problem["tally_group"][:] = 0
    lr = 1e-3
    after, _ = _run(kernel.train_examples, problem, lr, "softplus", "softplus", "squared")
    gradient = (problem["theta"] - after["theta"]) / lr
    x = problem["pixel_values"][problem["pixels"][0]]
    t = np.eye(2)[problem["target_class"][0]]
    layout = Layout(16, 5)
    from models.knowledge.model import forward

    def loss(theta):
        y = forward(theta, x[None, :], layout, 0, 0)[0]
        return 0.5 * np.sum((y - t) ** 2)

    for index in (0, 17, layout.size - 12, layout.size - 1):
        e = np.zeros(layout.size)
        e[index] = 1e-6
        numeric = (loss(problem["theta"] + e) - loss(problem["theta"] - e)) / 2e-6
        assert gradient[index] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    # |θ_new - θ_old| is |step| rounded at θ's scale
    np.testing.assert_allclose(after["tally_a"], np.abs(after["theta"] - problem["theta"]), rtol=0, atol=1e-15)


def test_kernel_reports_the_first_non_finite_loss():
    problem = _problem(64, 10, 400, seed=5)
    # a softplus output only dies (its slope goes to 0) at a large rate; a linear one diverges
    fast, bad_fast = _run(kernel.train_examples, problem, 50.0, "softplus", "linear", "squared")
    _, bad_slow = _run(train_examples_numpy, problem, 50.0, "softplus", "linear", "squared")
    assert bad_fast == bad_slow >= 0
    assert not np.isfinite(fast["losses"][bad_fast]) and np.all(np.isfinite(fast["losses"][:bad_fast]))


def test_kernel_rejects_bad_arrays():
    problem = _problem(16, 5, 4, seed=6)
    with pytest.raises(ValueError, match="theta: expected a 1-D numpy array of float64"):
        _run(kernel.train_examples, {**problem, "theta": problem["theta"].astype(np.float32)}, 0.1, "relu", "relu",
             "squared")
    with pytest.raises(ValueError, match=r"order: expected example indices in 0\.\.3"):
        _run(kernel.train_examples, {**problem, "order": np.array([0, 1, 2, 9])}, 0.1, "relu", "relu", "squared")
    with pytest.raises(ValueError, match="theta: expected n_inputs"):
        _run(kernel.train_examples, {**problem, "theta": np.zeros(7)}, 0.1, "relu", "relu", "squared")


# --- the model --------------------------------------------------------------------------------------------------


SMALL = {"hidden": 20, "learning_rate": 0.05, "phase1_epochs": 3, "phase2_epochs": 2}


@pytest.fixture(scope="module")
def digits_model() -> KnowledgeModel:
    return KnowledgeModel(SMALL, rng=7).run_to_end()


def test_phase_one_and_forks_are_agents_on_rows(digits_model):
    m = digits_model
    assert [run.role for run in m.runs] == ["phase 1", "1 vs 6/8", "7 vs 6/8", "1/7 vs 6", "1/7 vs 8"]
    assert len(m.agents) == 5 and all(run.finished for run in m.runs)
    labels = m.data.train_labels
    assert set(labels[m.runs[0].examples]) == {1, 7, 6, 8} and m.runs[0].examples.max() < m.n_phase1
    assert set(labels[m.runs[1].examples]) == {1, 6, 8} and m.runs[1].examples.min() >= m.n_phase1
    assert set(labels[m.runs[4].examples]) == {1, 7, 8}
    # tallies only over the second half of phase 1
    half = len(m.runs[0].examples) // 2
    assert np.all(m.runs[0].groups[:half] == -1) and np.all(m.runs[0].groups[half:] >= 0)
    assert np.shares_memory(m.runs[2].theta, m.theta)
    assert m.runs[0].recent()[1] > 0.8  # it learned to tell 1/7 from 6/8


def test_r_and_q_follow_their_definitions(digits_model):
    m = digits_model
    r, q = m.relative_updating(0), m.relative_difference(0)
    a, b = m.tally_a[0], m.tally_b[0]
    k = 123
    assert r[k] == a[k] / (a[k] + b[k])
    c = abs(m.theta[1, k] - m.theta[2, k])
    d = abs(m.theta[3, k] - m.theta[4, k])
    assert q[k] == c / (c + d)
    fit = Regression.of(r[m.layout.group("weights")], q[m.layout.group("weights")])
    table = m.correlations().set_index("group")
    assert table.loc["weights", "r_squared"] == pytest.approx(fit.r_squared)
    assert table.loc["weights", "n"] == 64 * 20 + 40


def test_blank_pixel_weights_sit_on_their_bias(digits_model):
    clusters = digits_model.blank_pixel_clusters(0)
    assert clusters["always_blank_pixels"] >= 1
    assert clusters["max_abs_r_minus_bias_r"] < 1e-9 and clusters["max_abs_q_minus_bias_q"] < 1e-6


def test_engines_agree_and_seeds_are_separate_agents():
    params = {**SMALL, "phase1_epochs": 1, "phase2_epochs": 1, "seeds": 2, "train_examples": 600}
    fast = KnowledgeModel(params, rng=11).run_to_end()
    slow = KnowledgeModel({**params, "engine": "numpy"}, rng=11).run_to_end()
    assert len(fast.agents) == 10
    np.testing.assert_allclose(fast.theta, slow.theta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.tally_a, slow.tally_a, rtol=1e-12, atol=1e-12)
    assert not np.allclose(fast.theta[0], fast.theta[5])  # the two seeds start apart
    table = fast.correlations()
    assert set(table.control) == {False, True}


def test_regression_p_value_is_the_slope_t_test():
    rng = np.random.default_rng(0)
    r = rng.random(200)
    q = 0.3 * r + rng.normal(0, 0.3, 200)
    fit = Regression.of(r, q)
    rho = np.corrcoef(r, q)[0, 1]
    t = rho * math.sqrt(198 / (1 - rho**2))
    from scipy import stats

    assert fit.r_squared == pytest.approx(rho**2)
    assert fit.p_value == pytest.approx(2 * stats.t.sf(abs(t), 198))
    lo, hi = fit.interval()
    assert lo < fit.r_squared < hi


def test_forks_are_the_seeds_four():
    assert [f[0] for f in forks([1, 7], [6, 8])] == ["1 vs 6/8", "7 vs 6/8", "1/7 vs 6", "1/7 vs 8"]


# --- bad input --------------------------------------------------------------------------------------------------


def test_a_diverging_learning_rate_names_the_run_and_the_example():
    model = KnowledgeModel({"hidden": 10, "learning_rate": 50.0, "output_activation": "linear"}, rng=1)
    with pytest.raises(TrainingDivergence, match=r"training run 'phase 1 \(seed 0\)' diverged: the loss became "
                                                 r"(inf|nan) at its example \d+ of \d+ \(model step 1\); "
                                                 "learning_rate 50 is too large"):
        model.run_to_end()


def test_a_class_that_selects_no_examples_is_refused():
    with pytest.raises(FieldError, match=r"digit 7 selects no examples for phase 1 \(training examples 0-1 of the "
                                         "digits data\\)"):
        KnowledgeModel({"train_examples": 10, "phase1_examples": 2}, rng=1)


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="expected two different digits"):
        KnowledgeParams(class_a=[1, 1])
    with pytest.raises(ValueError, match=r"expected digits not in class_a \[1, 7\]; both have \[7\]"):
        KnowledgeParams(class_b=[7, 8])
    with pytest.raises(ValueError, match="only applies to data 'mnist'"):
        KnowledgeParams(data_dir="/tmp")
    with pytest.raises(DataError, match="data 'mnist' needs a directory: give data_dir"):
        KnowledgeModel({"data": "mnist"})
    with pytest.raises(FieldError, match="expected at most 1437"):
        KnowledgeModel({"train_examples": 5000})


def _idx(path: Path, magic: int, shape: tuple[int, ...], data: bytes, zipped: bool = True) -> Path:
    raw = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape) + data
    path.write_bytes(gzip.compress(raw) if zipped else raw)
    return path


def _fake_mnist(directory: Path, n_train: int = 40, n_test: int = 10, zipped: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if zipped else ""
    for part, n in (("train", n_train), ("t10k", n_test)):
        _idx(directory / f"{part}-images-idx3-ubyte{suffix}", 0x803, (n, 4, 4),
             rng.integers(0, 256, n * 16, dtype=np.uint8).tobytes(), zipped)
        _idx(directory / f"{part}-labels-idx1-ubyte{suffix}", 0x801, (n,), (np.arange(n) % 10).astype(np.uint8)
             .tobytes(), zipped)
    return directory


@pytest.mark.parametrize("zipped", [True, False])
def test_mnist_loader_reads_the_four_files(tmp_path, zipped):
    data = load_mnist(_fake_mnist(tmp_path / "m", zipped=zipped))
    assert data.train_pixels.shape == (40, 16) and data.test_labels.tolist() == list(range(10))
    assert data.side == 4 and data.pixel_values[0] == 1 / 256 and data.pixel_values[255] == 1.0


def test_mnist_loader_errors(tmp_path):
    directory = _fake_mnist(tmp_path / "m")
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte"):
        load_mnist(directory)
    with pytest.raises(DataError, match="not a directory"):
        load_mnist(tmp_path / "nowhere")
    bad = _idx(tmp_path / "bad.gz", 0x801, (3, 4, 4), bytes(48))
    with pytest.raises(DataError, match="wrong magic number 0x00000801; expected 0x00000803"):
        read_idx(bad, 0x803)
    short = _idx(tmp_path / "short.gz", 0x803, (3, 4, 4), bytes(40))
    with pytest.raises(DataError, match="truncated: 56 bytes; expected 64 for shape \\(3, 4, 4\\)"):
        read_idx(short, 0x803)
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="truncated: 2 bytes"):
        read_idx(tiny, 0x803)
    mismatch = _fake_mnist(tmp_path / "n")
    _idx(mismatch / "train-labels-idx1-ubyte.gz", 0x801, (39,), bytes(39))
    with pytest.raises(DataError, match=r"has 40 images but train-labels-idx1-ubyte\.gz has 39 labels"):
        load_mnist(mismatch)


def test_digits_are_the_default_and_need_no_files():
    data = load_digits()
    assert data.side == 8 and len(data.train_labels) == 1437 and data.pixel_values[16] == 1.0
    assert KnowledgeParams().data == "digits"


@needs_mnist
def test_mnist_experiment_end_to_end_on_a_subset():
    model = KnowledgeModel({"data": "mnist", "data_dir": str(MNIST), "train_examples": 6000,
                            "phase1_examples": 3000, "hidden": 30}, rng=1).run_to_end()
    assert model.data.train_pixels.shape == (60000, 784)
    summary = model.summary()
    assert summary["finished"] and summary["inputs"] == 784
    assert 0 <= summary["r_squared"]["weights"] <= 1
    assert model.blank_pixel_clusters()["always_blank_pixels"] > 50  # MNIST's edges
