"""The World contract and the registry: what every world shares, and what importing a world costs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from models.params import Params
from models.registry import WorldEntry, resolve, world, worlds
from models.world import World

SHIPPED_WORLDS = ["sgd", "density", "causal", "metaopt", "intelligence", "knowledge", "cooperation", "current"]


def test_the_shipped_worlds_are_registered_in_order_with_every_piece() -> None:
    assert list(worlds())[: len(SHIPPED_WORLDS)] == SHIPPED_WORLDS
    for name in SHIPPED_WORLDS:
        entry = world(name)
        assert isinstance(entry, WorldEntry) and entry.name == name
        assert issubclass(entry.params_class(), Params)
        assert entry.model_class().Params is entry.params_class()
        assert callable(entry.page_builder()) and callable(entry.figure_maker())


def test_an_unknown_world_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'nope': expected one of \['causal', "):
        world("nope")
    with pytest.raises(ValueError, match=r"expected 'package\.module:attribute'"):
        resolve("models.registry")
    with pytest.raises(ValueError, match=r"install the package again, e\.g\. `pip install -e \.`"):
        world("nope")


def test_a_typo_in_a_world_entry_names_the_world_and_the_piece() -> None:
    entry = WorldEntry(name="typo", title="t", model="models.sgd.model:SGDModle", params="models.sgd.params:SGDParams")
    with pytest.raises(ValueError, match=r"world 'typo', its WorldEntry's model: 'models.sgd.model:SGDModle' cannot "
                                         r"be loaded \(AttributeError"):
        entry.model_class()


@pytest.mark.parametrize("name", [n for n in SHIPPED_WORLDS if n != "cooperation"])
def test_every_world_is_a_world_seeded_as_mesa_seeds(name: str) -> None:
    """An integer seed reaches numpy's Generator through default_rng (a SeedSequence): the same stream."""
    model_class = world(name).model_class()
    assert issubclass(model_class, World)
    small = {
        "sgd": {"n_walkers": 3},
        "density": {"n_walkers": 3, "landscape": {"preset": "symmetric_noise"}, "grid": {"low": -2.0, "high": 2.0}},
        "causal": {"variables": {"n": {"initial": 1.0, "update": "n"}, "a": {"initial": 0.0, "update": "n"},
                                 "m": {"initial": 0.0, "update": "a"}}, "perturb": "n", "targets": ["m"],
                   "clamp": ["a"]},
        "knowledge": {"hidden": 4},
        "current": {"walkers": 3, "grid": {"low": [-1.0, -1.0], "high": [1.0, 1.0], "cells": 8},
                    "start": {"at": [0.0, 0.0]}, "landscape": {"dim": 2, "datapoints": {
                        "a": [{"polynomial": {"coefficients": [0, 1, 1]}}], "b": [{"polynomial": {"coefficients":
                                                                                [0, -1, 1]}}]}}},
    }.get(name, {})
    model = model_class(small, rng=11, scenario=object())  # SolaraViz's Reset passes a scenario: ignored
    reference = np.random.default_rng(11)
    assert model.params == model_class.Params.resolve(small)
    assert len(model.datacollector.get_model_vars_dataframe()) == 1  # the state before the first step
    assert isinstance(model.tables(), dict) and isinstance(model.summary(), dict)
    if name in ("sgd", "density", "current"):  # set-up draws one number: the seed of the walkers' streams
        reference.integers(2**63)
    if name in ("sgd", "density", "intelligence", "current"):
        assert model.rng.random() == reference.random()


def test_importing_a_world_loads_neither_solara_nor_matplotlib() -> None:
    modules = [f"models.{name}.{part}" for name in SHIPPED_WORLDS for part in ("model", "params", "claims")]
    code = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
            "print(sorted(m for m in ('solara', 'matplotlib', 'optiscape', 'scenarios') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
