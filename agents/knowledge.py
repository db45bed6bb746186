"""A training run of the knowledge world's small MLP, seen as a Mesa agent; and the numpy reference of its kernel.

The essay "Knowledge Localization: Tentatively Positive Results on OCR": one network trained by per-example SGD
on a fixed sequence of examples. Phase 1 (with tallies) and each phase-2 fork is one `TrainingRun`, a view on one
row of the model's parameter and tally arrays; a run's work depends only on its starting row and its examples, so
runs can be spread over processes.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from _fastcore import mlp as kernel


def activation(kind: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(z), f'(z)) as `_fastcore.mlp.activate`, element-wise."""
    if kind in (kernel.ACTIVATIONS["softplus"], kernel.ACTIVATIONS["sigmoid"]):
        e = np.exp(-np.abs(z))
        s = np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))  # the sigmoid, stable on both sides
        if kind == kernel.ACTIVATIONS["softplus"]:
            return np.where(z > 0.0, z, 0.0) + np.log1p(e), s
        return s, s * (1.0 - s)
    if kind == kernel.ACTIVATIONS["relu"]:
        return np.where(z > 0.0, z, 0.0), np.where(z > 0.0, 1.0, 0.0)
    return z.copy(), np.ones_like(z)


def train_examples_numpy(
    theta: np.ndarray, tally_a: np.ndarray, tally_b: np.ndarray, pixels: np.ndarray, pixel_values: np.ndarray,
    target_class: np.ndarray, order: np.ndarray, tally_group: np.ndarray, learning_rate: float, n_hidden: int,
    hidden_activation: int, output_activation: int, loss: int, losses: np.ndarray, correct: np.ndarray,
) -> int:
    """The numpy reference of `_fastcore.mlp.train_examples`: same arguments, same update, one example at a time.

    The formulas and the order of every product and update are the kernel's; the dot products are numpy's
    (BLAS), so results agree with the kernel to round-off.
    """
    n_inputs = pixels.shape[1]
    H = n_hidden
    n_outputs = (len(theta) - n_inputs * H - H) // (H + 1)
    off_b1, off_w2 = n_inputs * H, n_inputs * H + H
    off_b2 = off_w2 + H * n_outputs
    W1 = theta[:off_b1].reshape(n_inputs, H)  # views: updates write into theta
    b1 = theta[off_b1:off_w2]
    W2 = theta[off_w2:off_b2].reshape(H, n_outputs)
    b2 = theta[off_b2:]
    tallies = [(tally_a[:off_b1].reshape(n_inputs, H), tally_a[off_b1:off_w2],
                tally_a[off_w2:off_b2].reshape(H, n_outputs), tally_a[off_b2:]),
               (tally_b[:off_b1].reshape(n_inputs, H), tally_b[off_b1:off_w2],
                tally_b[off_w2:off_b2].reshape(H, n_outputs), tally_b[off_b2:])]
    target = np.zeros(n_outputs)
    with np.errstate(over="ignore", invalid="ignore"):
        for k, e in enumerate(order):
            x = pixel_values[pixels[e]]
            t = int(target_class[e])
            z1 = x @ W1 + b1
            h, fp1 = activation(hidden_activation, z1)
            z2 = h @ W2 + b2
            y, gp = activation(output_activation, z2)
            correct[k] = int(np.argmax(y) == t)
            target[:] = 0.0
            target[t] = 1.0
            if loss == kernel.LOSSES["squared"]:
                dy = y - target
                ell = 0.5 * float(np.sum(dy * dy))
            else:
                shifted = np.exp(y - np.max(y))
                total = float(np.sum(shifted))
                ell = float(np.log(total) - (y[t] - np.max(y)))
                dy = shifted / total - target
            losses[k] = ell
            if not np.isfinite(ell):
                return k
            dz2 = dy * gp
            dz1 = (W2 @ dz2) * fp1
            steps = (learning_rate * np.outer(h, dz2), learning_rate * dz2, learning_rate * dz1,
                     learning_rate * np.outer(x, dz1))
            W2 -= steps[0]
            b2 -= steps[1]
            b1 -= steps[2]
            W1 -= steps[3]
            group = int(tally_group[k])
            if group >= 0:
                t_w1, t_b1, t_w2, t_b2 = tallies[group]
                t_w2 += np.abs(steps[0])
                t_b2 += np.abs(steps[1])
                t_b1 += np.abs(steps[2])
                t_w1 += np.abs(steps[3])
    return -1


class TrainingRun(mesa.Agent):
    """One network's training: phase 1 of a seed, or one of its four phase-2 forks; a view on row `row`.

    `examples` is the run's whole sequence (indices into the model's data set), `groups` the tally of each
    position (-1 none, 0 class A, 1 class B). `step()` trains the next `model.params.examples_per_step` of them.
    """

    def __init__(self, model: Any, row: int, name: str, seed_index: int, role: str, examples: np.ndarray,
                 groups: np.ndarray, parent: int | None = None) -> None:
        super().__init__(model)
        self.row, self.name, self.seed_index, self.role, self.parent = row, name, seed_index, role, parent
        self.examples = np.ascontiguousarray(examples, dtype=np.int64)
        self.groups = np.ascontiguousarray(groups, dtype=np.int8)
        self.losses = np.full(len(self.examples), np.nan)
        self.correct = np.zeros(len(self.examples), dtype=np.int8)
        self.done_examples = 0
        self.started = parent is None  # a fork starts when its parent has finished (its row is copied then)

    @property
    def theta(self) -> np.ndarray:
        """This network's parameters (a view on the model's row)."""
        return self.model.theta[self.row]

    @property
    def finished(self) -> bool:
        return self.done_examples >= len(self.examples)

    @property
    def active(self) -> bool:
        return self.started and not self.finished

    @property
    def progress(self) -> float:
        return self.done_examples / len(self.examples) if len(self.examples) else 1.0

    def recent(self, window: int = 500) -> tuple[float, float]:
        """(mean loss, accuracy before update) over the last `window` examples trained, NaN if none."""
        lo = max(0, self.done_examples - window)
        if self.done_examples == 0:
            return float("nan"), float("nan")
        return (float(np.mean(self.losses[lo:self.done_examples])),
                float(np.mean(self.correct[lo:self.done_examples])))

    def step(self) -> None:
        """Train on the next chunk of examples, by the model's engine (kernel or numpy reference)."""
        if not self.active:
            return
        model = self.model
        p = model.params
        lo = self.done_examples
        hi = min(len(self.examples), lo + p.examples_per_step)
        train = kernel.train_examples if p.engine == "kernel" else train_examples_numpy
        losses = np.empty(hi - lo)
        correct = np.empty(hi - lo, dtype=np.int8)
        bad = train(self.theta, model.tally_a[self.row], model.tally_b[self.row], model.data.train_pixels,
                    model.pixel_values, model.target_class, self.examples[lo:hi], self.groups[lo:hi],
                    p.learning_rate, p.hidden, model.hidden_code, model.output_code, model.loss_code, losses, correct)
        self.losses[lo:hi] = losses
        self.correct[lo:hi] = correct
        if bad >= 0:
            self.done_examples = lo + bad
            model.diverged(self, lo + bad)
        self.done_examples = hi
