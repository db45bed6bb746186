"""The intelligence-density world (Tunador (2023), appendix B; see docs/intelligence.md): who
may exterminate whom on the intelligence line.

Beings sit on a line of intelligence levels: the scenario's initial beings (humans, at the lowest level)
and AI versions, released every `release_every` steps above the current top (the top plus an increment:
fixed, or exponential with the given mean). A being at y can exterminate one at x < y only if y - x > ε and
[x, y] is not ε-dense, i.e. some gap between consecutive beings in [x, y] is at least ε (the paper's
"dense interval": every being has a neighbour within ε on both sides; optiscape reads it as a chain of
beings with gaps below ε, see docs/intelligence.md). Each exterminable being dies with probability
`attack_probability`; a death can open a new gap below it, so the rule is applied again (a cascade) until
no new being becomes exterminable.
Policy "keep" keeps every old AI version running; "retire" turns off all but the newest `keep_last`.

This is a world of its own (`intelligence`), in `models/intelligence/` rather than `models/density/`, which holds
the walker-density world.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from agents.intelligence import Being
from models.intelligence.params import IntelligenceParams
from models.world import World


def exterminable(levels: np.ndarray, epsilon: float) -> np.ndarray:
    """Which beings (levels sorted ascending) some being above may exterminate: y - x > ε and [x, y] not ε-dense.

    For x, the best witness is the top being: [x, top] holds every gap above x, so x is exterminable iff some
    consecutive gap at or above x is >= ε and top - x > ε.
    """
    levels = np.asarray(levels, dtype=np.float64)
    if len(levels) < 2:
        return np.zeros(len(levels), dtype=bool)
    gaps = np.diff(levels)
    # widest gap from x's position upwards: reversed running maximum
    widest_above = np.maximum.accumulate(gaps[::-1])[::-1]
    out = np.zeros(len(levels), dtype=bool)
    out[:-1] = (widest_above >= epsilon) & (levels[-1] - levels[:-1] > epsilon)
    return out


def can_exterminate(levels: np.ndarray, x: float, y: float, epsilon: float) -> bool:
    """K(x, y) is possible: y - x > ε and the beings in [x, y] (levels) leave a gap >= ε
    (Tunador (2023), appendix B)."""
    inside = np.sort(np.asarray([v for v in levels if x <= v <= y], dtype=np.float64))
    return bool(y - x > epsilon and len(inside) >= 2 and np.max(np.diff(inside)) >= epsilon)


class IntelligenceModel(World):
    """Beings on the intelligence line; AI versions released above the top; exterminations by the density rule.

    Randomness, in order, per step: the new version's increment (one exponential draw, if exponential), then
    one uniform per exterminable being in ascending level order, round by round of the cascade.
    """

    Params = IntelligenceParams

    def __init__(self, params: IntelligenceParams | dict | None = None, *, rng: Any = None, **overrides: Any) -> None:
        super().__init__(params, rng=rng, **overrides)
        p = self.params
        self.beings: list[Being] = [Being(self, b.level, b.name) for b in p.initial]
        self.versions = 0
        self.kills = 0
        self.retired = 0
        self.killed_last_step = 0
        self.cascade_rounds = 0
        self.protected_lost_step: int | None = None
        self.events: list[dict[str, Any]] = []
        self.collect_from({
            "beings": lambda m: len(m.beings),
            "ai_versions_running": lambda m: sum(b.kind == "ai" for b in m.beings),
            "protected_alive": lambda m: int(m.protected_alive),
            "top_level": lambda m: m.top_level,
            "lowest_level": lambda m: min(b.level for b in m.beings) if m.beings else math.nan,
            "widest_gap": lambda m: m.widest_gap,
            "killed": lambda m: m.killed_last_step,
            "cascade_rounds": lambda m: m.cascade_rounds,
        })

    @property
    def protected_alive(self) -> bool:
        return any(b.kind == self.params.protected for b in self.beings)

    @property
    def top_level(self) -> float:
        return max(b.level for b in self.beings) if self.beings else math.nan

    @property
    def widest_gap(self) -> float:
        levels = sorted(b.level for b in self.beings)
        return float(np.max(np.diff(levels))) if len(levels) > 1 else 0.0

    def levels(self) -> np.ndarray:
        return np.array(sorted(b.level for b in self.beings))

    def step(self) -> None:
        """Release a version (every release_every steps), retire old ones (policy), then exterminations."""
        p = self.params
        self.killed_last_step = 0
        self.cascade_rounds = 0
        if self.steps % p.release_every == 0:
            increment = p.growth.increment * (1.0 + p.growth.rate) ** self.versions
            if p.growth.distribution == "exponential":
                increment = float(self.rng.exponential(increment))
            base = self.top_level if self.beings else 0.0
            self.beings.append(Being(self, base + increment, "ai", self.versions))
            self.versions += 1
            if p.policy == "retire":
                running = sorted((b for b in self.beings if b.kind == "ai"), key=lambda b: b.version)
                for old in running[:-p.keep_last]:
                    self._drop(old, "retired")
        self._exterminations()
        self.datacollector.collect(self)
        if not self.protected_alive and self.protected_lost_step is None:
            self.protected_lost_step = int(self.steps)

    def _drop(self, being: Being, how: str) -> None:
        self.beings.remove(being)
        being.remove()
        if how == "retired":
            self.retired += 1
        else:
            self.kills += 1
            self.killed_last_step += 1
        self.events.append({"step": int(self.steps), "event": how, "kind": being.kind, "level": being.level,
                            "version": being.version, "round": self.cascade_rounds})

    def _exterminations(self) -> None:
        """Each exterminable being dies with probability q; repeat for beings a death newly exposes (the cascade)."""
        q = self.params.attack_probability
        drawn: set[int] = set()
        while True:
            ordered = sorted(self.beings, key=lambda b: b.level)
            flags = exterminable([b.level for b in ordered], self.params.epsilon)
            fresh = [b for b, f in zip(ordered, flags, strict=True) if f and b.unique_id not in drawn]
            if not fresh:
                return
            self.cascade_rounds += 1
            for being in fresh:
                drawn.add(being.unique_id)
                if self.rng.random() < q:
                    self._drop(being, "exterminated")

    def tables(self) -> dict[str, pd.DataFrame]:
        model = self.datacollector.get_model_vars_dataframe().rename_axis("step").reset_index()
        beings = pd.DataFrame([{"being": b.unique_id, "kind": b.kind, "level": b.level, "version": b.version,
                                "born": b.born} for b in self.beings])
        events = pd.DataFrame(self.events, columns=["step", "event", "kind", "level", "version", "round"])
        return {"model": model, "beings": beings, "events": events}

    def summary(self) -> dict[str, Any]:
        p = self.params
        growth = f"{p.growth.distribution}, mean {p.growth.increment:g}" + (
            f", x{1 + p.growth.rate:g} per version" if p.growth.rate else "")
        return {"steps": self.steps, "policy": p.policy, "epsilon": p.epsilon,
                "growth": growth, "versions_released": self.versions,
                "beings_alive": len(self.beings), "exterminated": self.kills, "retired": self.retired,
                f"{p.protected}_alive": self.protected_alive, f"{p.protected}_lost_at_step": self.protected_lost_step,
                "top_level": self.top_level, "widest_gap": self.widest_gap}


def loss_probability_keep(epsilon: float, mean_increment: float, versions: int) -> float:
    """P(the protected level is lost within `versions` releases) under "keep", exponential growth, q = 1.

    Under "keep" the line stays ε-dense unless one increment is >= ε; then, with q = 1, everyone below dies.
    So P = 1 - (1 - exp(-ε / g))^versions.
    """
    return 1.0 - (1.0 - math.exp(-epsilon / mean_increment)) ** versions
