"""A world from another distribution: examples/random_walk_world, installed into a folder of its own, is found
through the `optiscape.worlds` entry point, listed and run; without that folder on the path it is not there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "random_walk_world"


def _optiscape(*args: str, plugins: Path | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if plugins is not None:
        env["PYTHONPATH"] = str(plugins)
    return subprocess.run([sys.executable, "-m", "optiscape.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


@pytest.mark.slow
def test_a_plugin_world_installed_beside_optiscape_is_listed_and_runs(tmp_path: Path) -> None:
    plugins, source = tmp_path / "plugins", tmp_path / "source"
    shutil.copytree(EXAMPLE, source)  # the build leaves build/ and egg-info beside the sources
    # --target leaves the project's virtualenv alone; setuptools comes from pip's build isolation.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(plugins),
                    str(source)], check=True, timeout=600)

    listed = _optiscape("list", plugins=plugins, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:2] == ["random_walk_demo", "random_walk"] for line in listed.stdout.splitlines())
    assert "sgd_pit_escape " in listed.stdout

    ran = _optiscape("run", "random_walk_demo", "--quiet", "--out", str(tmp_path / "run"), plugins=plugins,
                     cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["model"] == "random_walk" and summary["steps"] == 100
    # 0.5 * sqrt(100) = 5; a standard deviation of 2000 walkers has a relative standard error 1/sqrt(2 * 2000) = 1.6%.
    assert summary["spread"] == pytest.approx(summary["expected_spread"], rel=0.1)
    assert (tmp_path / "run" / "model.parquet").exists()

    without = _optiscape("run", "random_walk_demo", "--quiet", plugins=None, cwd=tmp_path)
    assert without.returncode == 2
    assert "random_walk_demo: no such file or shipped scenario" in without.stderr
    assert "random_walk_demo" not in _optiscape("list", plugins=None, cwd=tmp_path).stdout

    # optiscape's own reference page does not change with what else is installed
    assert _optiscape("reference", "--check", "--root", str(EXAMPLE.parents[1]), plugins=plugins,
                      cwd=tmp_path).returncode == 0


def test_a_broken_plugin_is_left_out_and_a_plugin_cannot_take_a_shipped_name(tmp_path: Path) -> None:
    """A world whose package cannot be imported costs one warning line, not every command; a plug-in scenario
    with the name of one of optiscape's runs only from its file."""
    plugins = tmp_path / "plugins"
    broken = plugins / "broken_world-0.1.dist-info"
    broken.mkdir(parents=True)
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-world\nVersion: 0.1\n")
    (broken / "entry_points.txt").write_text("[optiscape.worlds]\nbroken = not_an_installed_package:WORLD\n")
    listed = _optiscape("list", plugins=plugins, cwd=tmp_path)
    assert listed.returncode == 0 and "sgd_pit_escape " in listed.stdout
    assert listed.stderr.strip() == ("optiscape: warning: world 'broken' (not_an_installed_package:WORLD) left out: "
                                     "it cannot be loaded (ModuleNotFoundError: No module named "
                                     "'not_an_installed_package')")

    shadow = plugins / "shadow_world"
    (shadow / "scenarios").mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "from models.registry import WorldEntry\n"
        "WORLD = WorldEntry(name='shadow', title='t', model='models.sgd.model:SGDModel',\n"
        "                   params='models.sgd.params:SGDParams', scenarios='shadow_world.scenarios')\n")
    (shadow / "scenarios" / "__init__.py").write_text("")
    (shadow / "scenarios" / "sgd_pit_gd.yaml").write_text("model: shadow\ntitle: not the shipped one\nseed: 1\n"
                                                          "steps: 1\nparams: {temperature: 0.1}\n")
    info = plugins / "shadow_world-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow-world\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[optiscape.worlds]\nshadow = shadow_world:WORLD\n")
    listed = _optiscape("list", plugins=plugins, cwd=tmp_path)
    rows = [line.split()[:2] for line in listed.stdout.splitlines() if line.startswith("sgd_pit_gd ")]
    assert rows == [["sgd_pit_gd", "sgd"]]
