"""The x86-64-v3 builds of the vector kernels give the portable builds' numbers to the bit, on shipped scenarios."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pandas as pd
import pytest

import _fastcore
import scenarios

WHERE_USED = {"causalvm": ("models.causal.program", "causalvm"), "explorers": ("models.metaopt.model", "kernel")}
WORLD_OF = {"causalvm": "causal", "explorers": "metaopt"}
STEPS = 40

needs_v3 = pytest.mark.skipif(not _fastcore.BASELINE, reason="this CPU is not x86-64-v3 (or OPTISCAPE_ISA=baseline): "
                                                              "only the portable build is loaded")


def _tables(path, steps: int) -> dict[str, pd.DataFrame]:
    model = scenarios.load(path).build(rng=7)
    for _ in range(steps):
        if not model.running:
            break
        model.step()
    return model.tables()


@needs_v3
@pytest.mark.parametrize("kernel", sorted(WORLD_OF))
def test_the_wider_build_gives_the_same_bits_on_every_shipped_scenario_of_its_world(kernel, monkeypatch):
    module_name, attribute = WHERE_USED[kernel]
    module = importlib.import_module(module_name)
    wider = getattr(module, attribute)
    assert wider.__name__.endswith("_x86_64_v3")
    paths = [p for p in scenarios.shipped() if p.stem.startswith(WORLD_OF[kernel] + "_")]
    assert paths
    for path in paths:
        expected = _tables(path, STEPS)
        monkeypatch.setattr(module, attribute, _fastcore.BASELINE[kernel])
        got = _tables(path, STEPS)
        monkeypatch.setattr(module, attribute, wider)
        assert expected.keys() == got.keys(), path.stem
        for name in expected:
            pd.testing.assert_frame_equal(expected[name], got[name], check_exact=True, obj=f"{path.stem}: {name}")


def test_optiscape_isa_baseline_keeps_the_portable_build():
    code = "import _fastcore.causalvm as c, _fastcore.explorers as e; print(c.__name__, e.__name__)"
    env = os.environ | {"OPTISCAPE_ISA": "baseline"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["_fastcore.causalvm", "_fastcore.explorers"]
