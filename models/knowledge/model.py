"""The knowledge-localization world (the essays "Hypotheses about Finding Knowledge and One-Shot
Causal Entanglements" and "Knowledge Localization: Tentatively Positive Results on OCR"; see docs/knowledge.md).

The essays' hypothesis: "the degree to which an element of the dataset causes an element of the parameters to be
updated during training is correlated with the degree to which a change to that dataset element would have caused
a change in the final value of the parameter". The experiment, as optiscape runs it (docs/knowledge.md):

- a network inputs -> 100 hidden -> 2 outputs, He-initialised, trained by per-example SGD in data order;
- phase 1: the 1s and 7s (class A, label [1, 0]) and the 6s and 8s (class B, [0, 1]) among the first 12,000
  training examples; in its second half every |Δθ| is added to tally a (A examples) or b (B examples);
  r = a / (a + b), the "relative updating due to 1s/7s";
- phase 2: four copies of the phase-1 network trained on the rest of the training set, 1 vs 6/8, 7 vs 6/8,
  1/7 vs 6 and 1/7 vs 8; c = |θ(1 vs 6/8) - θ(7 vs 6/8)|, d = |θ(1/7 vs 6) - θ(1/7 vs 8)|, q = c / (c + d);
- measure: R^2 and the p-value of the regression of q on r, for biases and weights (all, and per layer); the
  per-input-pixel correlation over its outgoing weights (the essay's heatmap); with two or more seeds, the
  cross-seed control: r of one seed's network against q of another's.

Every network's training is an `agents.knowledge.TrainingRun` agent (phase 1 of each seed, and each fork), a view on
one row of `theta`, `tally_a` and `tally_b`; `_fastcore.mlp.train_examples` trains a run's examples, and
`agents.knowledge.train_examples_numpy` is its numpy reference.

Randomness: only the initial weights, drawn from `model.rng` once, seed by seed, as `standard_normal(P)` in the
parameter layout's order (W1, b1, W2, b2) and scaled to He's sd sqrt(2 / fan_in) per layer ("All weights and
biases were initialized with He initialization"). Training draws nothing: examples run in data order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from _fastcore import mlp as kernel
from agents.knowledge import TrainingRun, activation
from models.errors import WorldError
from models.knowledge.digit_data import DataError, DigitData, load_digits, load_mnist
from models.knowledge.params import KnowledgeParams
from models.params import FieldError
from models.world import World

PHASE1_SHARE = 5  # phase 1 uses the first 1/5 of the training examples by default: MNIST's 12,000 of 60,000
GROUPS = ("biases", "weights", "hidden_biases", "output_biases", "input_weights", "output_weights")


class TrainingDivergence(WorldError):
    """A training run's loss became infinite or NaN (the learning rate is too large for the network)."""


@dataclass(frozen=True)
class Layout:
    """Where each layer's parameters sit in a network's flat vector (see `_fastcore.mlp`)."""

    n_inputs: int
    n_hidden: int
    n_outputs: int = 2

    @property
    def size(self) -> int:
        return kernel.parameter_count(self.n_inputs, self.n_hidden, self.n_outputs)

    def slices(self) -> dict[str, slice]:
        i, h, o = self.n_inputs, self.n_hidden, self.n_outputs
        return {"input_weights": slice(0, i * h), "hidden_biases": slice(i * h, i * h + h),
                "output_weights": slice(i * h + h, i * h + h + h * o), "output_biases": slice(i * h + h + h * o,
                                                                                            self.size)}

    def clusters(self) -> np.ndarray:
        """Per parameter, the unit it belongs with: an input weight its pixel, a hidden bias and the output weights
        leaving that hidden unit the unit, an output bias its output. Parameters of one cluster are not
        independent data (an always-blank pixel's weights repeat their units' bias points)."""
        i, h, o = self.n_inputs, self.n_hidden, self.n_outputs
        return np.concatenate([np.repeat(np.arange(i), h), i + np.arange(h), i + np.repeat(np.arange(h), o),
                               i + h + np.arange(o)])

    def group(self, name: str) -> np.ndarray:
        """Indices of a parameter group: a layer's, or all "biases" / all "weights"."""
        s = self.slices()
        parts = {"biases": ("hidden_biases", "output_biases"), "weights": ("input_weights", "output_weights")}
        return np.concatenate([np.arange(self.size)[s[k]] for k in parts.get(name, (name,))])

    def he_initial(self, rng: np.random.Generator) -> np.ndarray:
        """He initialisation of every weight and bias: N(0, 2 / fan_in) per layer, drawn in layout order."""
        theta = rng.standard_normal(self.size)
        s = self.slices()
        for name, fan_in in (("input_weights", self.n_inputs), ("hidden_biases", self.n_inputs),
                             ("output_weights", self.n_hidden), ("output_biases", self.n_hidden)):
            theta[s[name]] *= math.sqrt(2.0 / fan_in)
        return theta


@dataclass(frozen=True)
class Regression:
    """The least-squares line of q on r over n parameters: R^2, its two-sided p-value (t-test of the slope)."""

    n: int
    r_squared: float
    pearson_r: float
    slope: float
    p_value: float
    low: float = math.nan  # the 95% interval of R^2, resampling whole clusters
    high: float = math.nan

    @classmethod
    def of(cls, r: np.ndarray, q: np.ndarray, clusters: np.ndarray | None = None) -> Regression:
        """The fit of q on r; clusters (one label per point, default: each point its own) group the points that
        are resampled together for the interval."""
        keep = np.isfinite(r) & np.isfinite(q)
        r, q = r[keep], q[keep]
        if len(r) < 3 or np.ptp(r) == 0 or np.ptp(q) == 0:
            return cls(len(r), math.nan, math.nan, math.nan, math.nan)
        fit = stats.linregress(r, q)
        low, high = _fisher(float(fit.rvalue), len(r)) if clusters is None else \
            _cluster_bootstrap(r, q, np.asarray(clusters)[keep])
        return cls(len(r), float(fit.rvalue**2), float(fit.rvalue), float(fit.slope), float(fit.pvalue), low, high)

    def interval(self) -> tuple[float, float]:
        """The 95% interval of R^2: over resamples of whole clusters, or Fisher's for independent points."""
        return (self.low, self.high)


def _fisher(pearson_r: float, n: int) -> tuple[float, float]:
    """The 95% interval of R^2 for n independent points, from Fisher's z of the correlation."""
    if n < 4:
        return (math.nan, math.nan)
    z = math.atanh(min(max(pearson_r, -0.999999), 0.999999))
    half = stats.norm.ppf(0.975) / math.sqrt(n - 3)
    lo, hi = math.tanh(z - half), math.tanh(z + half)
    return (0.0 if lo < 0 < hi else min(lo * lo, hi * hi), max(lo * lo, hi * hi))


RESAMPLES, CHUNK = 2000, 50  # cluster-bootstrap resamples of an R^2 interval, drawn CHUNK at a time (memory)


def _cluster_bootstrap(r: np.ndarray, q: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The percentile interval of R^2 when whole clusters are resampled with replacement."""
    low, high = np.nanpercentile(resampled_r_squared([(r, q)], labels)[:, 0], [2.5, 97.5])
    return float(low), float(high)


def resampled_r_squared(pairs: list[tuple[np.ndarray, np.ndarray]], labels: np.ndarray) -> np.ndarray:
    """R^2 of q on r for each (r, q) in `pairs` (points labelled alike) over RESAMPLES resamples of whole clusters
    (with replacement), the same resamples for every pair (so differences are paired): (RESAMPLES, len(pairs)).
    Each from the clusters' sums (n, Σr, Σq, Σr², Σq², Σrq) weighted by how often it was drawn; a fixed generator,
    so the numbers are the same on every run."""
    _, which = np.unique(labels, return_inverse=True)
    k = int(which.max()) + 1
    rng = np.random.default_rng(0)
    draws = [rng.multinomial(k, np.full(k, 1.0 / k), size=CHUNK) for _ in range(RESAMPLES // CHUNK)]
    columns = []
    for r, q in pairs:
        sums = np.stack([np.bincount(which, weights=w, minlength=k)
                         for w in (np.ones_like(r), r, q, r * r, q * q, r * q)], axis=1)
        n, sr, sq, srr, sqq, srq = np.concatenate([chunk @ sums for chunk in draws]).T
        with np.errstate(invalid="ignore", divide="ignore"):
            cov, var_r, var_q = srq - sr * sq / n, srr - sr * sr / n, sqq - sq * sq / n
            columns.append(cov * cov / (var_r * var_q))
    return np.stack(columns, axis=1)


def forks(class_a: list[int], class_b: list[int]) -> list[tuple[str, list[int], list[int]]]:
    """The four phase-2 forks (name, its A digits, its B digits): 1 vs 6/8, 7 vs 6/8, 1/7 vs 6, 1/7 vs 8."""
    a, b = class_a, class_b
    both_a, both_b = f"{a[0]}/{a[1]}", f"{b[0]}/{b[1]}"
    return [(f"{a[0]} vs {both_b}", [a[0]], b), (f"{a[1]} vs {both_b}", [a[1]], b),
            (f"{both_a} vs {b[0]}", a, [b[0]]), (f"{both_a} vs {b[1]}", a, [b[1]])]


RUNS_PER_SEED = 5  # phase 1, then the four forks


class KnowledgeModel(World):
    """Phase 1 with tallies, the four phase-2 forks, and the r-q analysis, for one or more seeds."""

    Params = KnowledgeParams

    def __init__(self, params: KnowledgeParams | dict | None = None, *, rng: Any = None,
                 dataset: DigitData | None = None, **overrides: Any) -> None:
        super().__init__(params, rng=rng, **overrides)
        p = self.params
        self.data = dataset if dataset is not None else load_data(p)
        labels = self.data.train_labels
        n_train = len(labels) if p.train_examples is None else p.train_examples
        if n_train > len(labels):
            raise FieldError(("train_examples",), f"expected at most {len(labels)} (the {self.data.name} training "
                             f"set), got {n_train}")
        n1 = p.phase1_examples if p.phase1_examples is not None else n_train // PHASE1_SHARE
        if n1 >= n_train:
            raise FieldError(("phase1_examples",), f"expected fewer than the {n_train} training examples used: "
                             "phase 2 trains on the examples after phase 1's")
        self.n_train, self.n_phase1 = n_train, n1
        self.layout = Layout(self.data.n_inputs, p.hidden)
        self.pixel_values = self.data.pixel_values
        self.hidden_code = kernel.ACTIVATIONS[p.activation]
        self.output_code = kernel.ACTIVATIONS[p.output_kind]
        self.loss_code = kernel.LOSSES[p.loss]
        # class A digits train towards output 0 ([1, 0]), class B digits towards output 1 ([0, 1]).
        self.target_class = np.where(np.isin(labels, p.class_b), 1, 0).astype(np.int64)

        phase1 = self._select(0, n1, p.class_a + p.class_b)
        self._require(phase1, 0, n1, "phase 1")
        phase1 = np.tile(phase1, p.phase1_epochs)
        groups = np.where(np.arange(len(phase1)) >= int(p.tally_from * len(phase1)), self.target_class[phase1], -1)
        fork_examples = []
        for name, a, b in forks(p.class_a, p.class_b):
            chosen = self._select(n1, n_train, a + b)
            self._require(chosen, n1, n_train, f"phase 2 (fork {name})", a, b)
            fork_examples.append((name, np.tile(chosen, p.phase2_epochs)))
        self.fork_names = [name for name, _ in fork_examples]
        used = np.unique(np.concatenate([phase1] + [e for _, e in fork_examples]))
        self.always_blank = np.all(self.data.train_pixels[used] == 0, axis=0)

        n_rows = p.seeds * RUNS_PER_SEED
        self.theta = np.zeros((n_rows, self.layout.size))
        self.tally_a = np.zeros_like(self.theta)
        self.tally_b = np.zeros_like(self.theta)
        self.runs: list[TrainingRun] = []
        for s in range(p.seeds):
            row = s * RUNS_PER_SEED
            self.theta[row] = self.layout.he_initial(self.rng)
            self.runs.append(TrainingRun(self, row, f"phase 1 (seed {s})", s, "phase 1", phase1, groups))
            for k, (name, examples) in enumerate(fork_examples, start=1):
                self.runs.append(TrainingRun(self, row + k, f"{name} (seed {s})", s, name, examples,
                                             np.full(len(examples), -1, dtype=np.int8), parent=row))
        self.initial_theta = self.theta.copy()
        self._analysis: dict[str, Any] | None = None
        self.collect_from(
            {"examples_trained": lambda m: m.examples_trained, "phase": lambda m: m.phase},
            {"run": "name", "role": "role", "seed": "seed_index", "progress": "progress",
             "loss": lambda a: a.recent()[0], "accuracy": lambda a: a.recent()[1]},
        )

    def _select(self, lo: int, hi: int, digits: list[int]) -> np.ndarray:
        """Indices of the training examples in [lo, hi) whose label is one of `digits`, in data order."""
        return lo + np.flatnonzero(np.isin(self.data.train_labels[lo:hi], digits))

    def _require(self, chosen: np.ndarray, lo: int, hi: int, what: str, a: list[int] | None = None,
                 b: list[int] | None = None) -> None:
        """A clear error when a class's digits select no examples in the range a run trains on."""
        p = self.params
        labels = self.data.train_labels[chosen]
        for key, digits in (("class_a", a or p.class_a), ("class_b", b or p.class_b)):
            missing = [d for d in digits if not np.any(labels == d)]
            if missing:
                raise FieldError((key,), f"digit {missing[0]} selects no examples for {what} (training examples "
                                 f"{lo}-{hi - 1} of the {self.data.name} data); expected digits present there")

    # --- stepping ----------------------------------------------------------------------------

    @property
    def examples_trained(self) -> int:
        return int(sum(run.done_examples for run in self.runs))

    @property
    def examples_total(self) -> int:
        return int(sum(len(run.examples) for run in self.runs))

    @property
    def phase(self) -> int:
        """1 while any phase-1 run trains, 2 while any fork does, 3 when every run is done."""
        if any(not run.finished for run in self.runs if run.parent is None):
            return 1
        return 2 if any(not run.finished for run in self.runs) else 3

    @property
    def finished(self) -> bool:
        return all(run.finished for run in self.runs)

    def seed_finished(self, seed: int) -> bool:
        """Whether a seed's phase 1 and its four forks have all finished (its r and q are final)."""
        return all(run.finished for run in self.runs if run.seed_index == seed)

    def diverged(self, run: TrainingRun, position: int) -> None:
        """Called by a run whose loss became non-finite at `position` of its examples."""
        self.running = False
        raise TrainingDivergence(
            f"training run {run.name!r} diverged: the loss became {run.losses[position]} at its example "
            f"{position + 1} of {len(run.examples)} (model step {self.steps}); learning_rate "
            f"{self.params.learning_rate:g} is too large for this network: expected a smaller one")

    def step(self) -> None:
        """Every active run trains its next `examples_per_step` examples; forks start when their phase 1 ends."""
        self.agents.select(lambda run: run.active).do("step")
        for run in self.runs:
            if not run.started and self.runs[self._index(run.parent)].finished:
                self.theta[run.row] = self.theta[run.parent]
                run.started = True
        if self.finished:
            bad = np.flatnonzero(~np.isfinite(self.theta).all(axis=1))
            if len(bad):
                run = next(r for r in self.runs if r.row == bad[0])
                raise TrainingDivergence(f"training run {run.name!r} ended with non-finite parameters; "
                                         f"learning_rate {self.params.learning_rate:g} is too large: expected a "
                                         "smaller one")
            self.running = False
        self.datacollector.collect(self)

    def _index(self, row: int | None) -> int:
        return next(i for i, run in enumerate(self.runs) if run.row == row)

    def run_to_end(self, max_steps: int = 10**9) -> KnowledgeModel:
        """Step until every run has finished (or max_steps)."""
        while self.running and not self.finished and self.steps < max_steps:
            self.step()
        return self

    # --- the measurements --------------------------------------------------------------------

    def relative_updating(self, seed: int = 0) -> np.ndarray:
        """r = a / (a + b) per parameter for a seed's phase-1 network (NaN where a + b = 0)."""
        row = seed * RUNS_PER_SEED
        a, b = self.tally_a[row], self.tally_b[row]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(a + b > 0, a / (a + b), np.nan)

    def fork_differences(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(c, d): |θ(A0 vs B) - θ(A1 vs B)| and |θ(A vs B0) - θ(A vs B1)| for a seed's forks."""
        row = seed * RUNS_PER_SEED
        t = self.theta
        return np.abs(t[row + 1] - t[row + 2]), np.abs(t[row + 3] - t[row + 4])

    def relative_difference(self, seed: int = 0) -> np.ndarray:
        """q = c / (c + d) per parameter (NaN where c + d = 0)."""
        c, d = self.fork_differences(seed)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c + d > 0, c / (c + d), np.nan)

    def pixel_correlation(self, seed: int = 0, q_seed: int | None = None) -> np.ndarray:
        """(side, side): per input pixel, the Pearson correlation of r and q over its outgoing weights."""
        s = self.layout.slices()["input_weights"]
        shape = (self.layout.n_inputs, self.layout.n_hidden)
        r = self.relative_updating(seed)[s].reshape(shape)
        q = self.relative_difference(seed if q_seed is None else q_seed)[s].reshape(shape)
        out = np.full(self.layout.n_inputs, np.nan)
        for j in range(self.layout.n_inputs):
            keep = np.isfinite(r[j]) & np.isfinite(q[j])
            if keep.sum() >= 3 and np.ptp(r[j][keep]) > 0 and np.ptp(q[j][keep]) > 0:
                out[j] = np.corrcoef(r[j][keep], q[j][keep])[0, 1]
        return out.reshape(self.data.side, self.data.side)

    def blank_pixel_clusters(self, seed: int = 0) -> dict[str, Any]:
        """The weights out of always-blank pixels against their hidden unit's bias.

        An always-blank pixel's input is the constant x0 = 1/256, so each update of its weight into hidden unit i
        is x0 times that of bias i: r and q of all those weights equal the bias's (to round-off), and they sit in
        one cluster per hidden unit, on the bias's point (the essay's "little clusters").
        """
        blank = np.flatnonzero(self.always_blank.ravel())
        s = self.layout.slices()
        shape = (self.layout.n_inputs, self.layout.n_hidden)
        r, q = self.relative_updating(seed), self.relative_difference(seed)
        r_w, q_w = r[s["input_weights"]].reshape(shape)[blank], q[s["input_weights"]].reshape(shape)[blank]
        r_b, q_b = r[s["hidden_biases"]], q[s["hidden_biases"]]
        with np.errstate(invalid="ignore"):
            dev_r = np.nanmax(np.abs(r_w - r_b), initial=0.0) if len(blank) else math.nan
            dev_q = np.nanmax(np.abs(q_w - q_b), initial=0.0) if len(blank) else math.nan
        n_weights = self.layout.n_inputs * self.layout.n_hidden
        return {"always_blank_pixels": len(blank), "weights_from_blank_pixels": int(len(blank) * shape[1]),
                "share_of_input_weights": len(blank) * shape[1] / n_weights,
                "max_abs_r_minus_bias_r": float(dev_r), "max_abs_q_minus_bias_q": float(dev_q)}

    def correlations(self) -> pd.DataFrame:
        """R^2 of q on r per parameter group: each seed with itself, and (seeds >= 2) seed s's r with seed s+1's q."""
        rows = []
        n = self.params.seeds
        pairs = [(s, s) for s in range(n)] + [(s, (s + 1) % n) for s in range(n) if n > 1]
        for r_seed, q_seed in pairs:
            r, q = self.relative_updating(r_seed), self.relative_difference(q_seed)
            clusters = self.layout.clusters()
            for group in GROUPS:
                idx = self.layout.group(group)
                fit = Regression.of(r[idx], q[idx], clusters[idx])
                lo, hi = fit.interval()
                rows.append({"r_seed": r_seed, "q_seed": q_seed, "control": r_seed != q_seed, "group": group,
                             "n": fit.n, "r_squared": fit.r_squared, "pearson_r": fit.pearson_r, "slope": fit.slope,
                             "p_value": fit.p_value, "r_squared_low": lo, "r_squared_high": hi})
        return pd.DataFrame(rows)

    def test_accuracy(self, run: TrainingRun) -> float:
        """The share of the test set's examples of the run's digits that the run's network classifies right."""
        p = self.params
        a, b = (p.class_a, p.class_b) if run.parent is None else next(
            (a, b) for name, a, b in forks(p.class_a, p.class_b) if name == run.role)
        keep = np.isin(self.data.test_labels, a + b)
        if not keep.any():
            return math.nan
        x = self.data.pixel_values[self.data.test_pixels[keep]]
        y = forward(self.theta[run.row], x, self.layout, self.hidden_code, self.output_code)
        target = np.isin(self.data.test_labels[keep], b).astype(np.int64)
        return float(np.mean(np.argmax(y, axis=1) == target))

    def analysis(self) -> dict[str, Any]:
        """Every measurement of a finished run (computed once)."""
        if not self.finished:
            raise ValueError(f"the experiment has not finished: {self.examples_trained} of {self.examples_total} "
                             "examples trained; step the model to the end first")
        if self._analysis is None:
            self._analysis = {
                "correlations": self.correlations(),
                "pixel_correlation": self.pixel_correlation(0),
                "clusters": self.blank_pixel_clusters(0),
            }
        return self._analysis

    # --- tables and summary ------------------------------------------------------------------

    def run_table(self) -> pd.DataFrame:
        rows = []
        for run in self.runs:
            loss, accuracy = run.recent()
            rows.append({"run": run.name, "seed": run.seed_index, "role": run.role, "examples": len(run.examples),
                         "trained": run.done_examples, "recent_loss": loss, "recent_accuracy": accuracy,
                         "test_accuracy": self.test_accuracy(run) if run.finished else math.nan})
        return pd.DataFrame(rows)

    def parameter_table(self) -> pd.DataFrame:
        """Per parameter of each seed's network: layer, a, b, r, c, d, q."""
        frames = []
        layers = np.empty(self.layout.size, dtype=object)
        for name, s in self.layout.slices().items():
            layers[s] = name
        for seed in range(self.params.seeds):
            row = seed * RUNS_PER_SEED
            c, d = self.fork_differences(seed)
            frames.append(pd.DataFrame({
                "seed": seed, "layer": layers, "index": np.arange(self.layout.size), "a": self.tally_a[row],
                "b": self.tally_b[row], "r": self.relative_updating(seed), "c": c, "d": d,
                "q": self.relative_difference(seed)}))
        return pd.concat(frames, ignore_index=True)

    def pixel_table(self) -> pd.DataFrame:
        side = self.data.side
        corr = self.pixel_correlation(0).ravel()
        return pd.DataFrame({"pixel": np.arange(side * side), "row": np.arange(side * side) // side,
                             "column": np.arange(side * side) % side, "correlation": corr,
                             "always_blank": self.always_blank.ravel()})

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {"model": self.datacollector.get_model_vars_dataframe().rename_axis("step").reset_index(),
                  "progress": self.datacollector.get_agent_vars_dataframe().reset_index(),
                  "runs": self.run_table()}
        if self.finished:
            tables["correlations"] = self.analysis()["correlations"]
            tables["parameters"] = self.parameter_table()
            tables["pixels"] = self.pixel_table()
        return tables

    def summary(self) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {
            "steps": self.steps, "data": self.data.name, "inputs": self.layout.n_inputs, "hidden": p.hidden,
            "activation": p.activation, "output_activation": p.output_kind, "loss": p.loss,
            "learning_rate": p.learning_rate, "seeds": p.seeds, "training_examples_used": self.n_train,
            "phase1_range": self.n_phase1, "phase1_examples": len(self.runs[0].examples),
            "examples_trained": self.examples_trained, "examples_total": self.examples_total,
            "finished": self.finished,
        }
        if not self.finished:
            return out
        table = self.analysis()["correlations"]
        own = table[~table.control & (table.r_seed == 0)].set_index("group")
        out["r_squared"] = {g: round(float(own.loc[g, "r_squared"]), 4) for g in GROUPS}
        out["p_value"] = {g: float(f"{own.loc[g, 'p_value']:.3g}") for g in GROUPS}
        control = table[table.control & (table.r_seed == 0)].set_index("group")
        if len(control):
            out["control_r_squared"] = {g: round(float(control.loc[g, "r_squared"]), 4) for g in GROUPS}
        out["clusters"] = self.analysis()["clusters"]
        out["test_accuracy"] = {run.name: self.test_accuracy(run) for run in self.runs}
        return out


def forward(theta: np.ndarray, x: np.ndarray, layout: Layout, hidden_code: int, output_code: int) -> np.ndarray:
    """The network's outputs y (n, n_outputs) for inputs x (n, n_inputs)."""
    s = layout.slices()
    W1 = theta[s["input_weights"]].reshape(layout.n_inputs, layout.n_hidden)
    W2 = theta[s["output_weights"]].reshape(layout.n_hidden, layout.n_outputs)
    with np.errstate(over="ignore", invalid="ignore"):
        h, _ = activation(hidden_code, x @ W1 + theta[s["hidden_biases"]])
        y, _ = activation(output_code, h @ W2 + theta[s["output_biases"]])
    return y


def load_data(params: KnowledgeParams) -> DigitData:
    """The data set a world's params name: the 8x8 digits, or MNIST from `data_dir`."""
    if params.data == "digits":
        return load_digits()
    if params.data_dir is None:
        raise DataError("data 'mnist' needs a directory: give data_dir in the scenario's params, or --data-dir DIR "
                        "on the command line (a directory holding the four standard MNIST IDX files)")
    return load_mnist(params.data_dir)
