"""Kernel by kernel, the portable default build against `OPTISCAPE_NATIVE=1` (-march=native), on one thread.

`setup.py` builds the kernels for any CPU of their architecture unless OPTISCAPE_NATIVE=1, which adds this machine's
vector ISA (-march=native) to every kernel. The portable build also holds x86-64-v3 builds of the vector kernels
(`_fastcore.VECTOR_KERNELS`), which `_fastcore` loads on such a CPU. run() builds both from the repository's setup.py
into two temporary directories (each a complete `_fastcore` package: the built modules and `_fastcore/*.py`), starts
one worker process per variant with its build first on sys.path (the rest of the project imports from the
repository): "portable" (the portable build with OPTISCAPE_ISA=baseline), "dispatched" (the portable build as a user
gets it) and "native", and times one workload per kernel module, mostly those of the other benchmarks:

- walkers: `step_walkers`, SGD on the two-datapoint pit (bench/walkers.py), 10^6 walkers x WALKER_STEPS steps.
- causalvm: the bounded thermostat's Comp landscape (bench/causal.py), CAUSAL_CONDITIONS conditions x 500 steps.
- explorers: `step_explorers` on Rastrigin d = 100 (bench/metaopt.py), 10^4 explorers x 4 steps.
- density: backward-Euler steps of case (c) at the density world's defaults (bench/density.py, "optiscape steps").
- mlp: `train_examples`, 1000 examples at 784-100-2 with tallies (bench/knowledge.py).
- game: `play_round`, 40 reinforcement rounds of 10^5 players (bench/cooperation.py).
- exprvm: EXPRESSION (arithmetic, clip, where, libm calls), values and tangents over EXPRESSION_BATCH inputs.
- vecmath: `sin_cos_2pi_array`, `log_array` and `box_muller_array`, VECMATH_VALUES values each.

Every kernel runs on one thread (the `threads` arguments, the models' `threads`, OMP_NUM_THREADS=1): the
comparison is of per-core code, not of threading. Every call starts from the same state and seed, and each worker
returns a sha256 of the outputs' bytes: the three variants must give the same bits (no contraction, no fast-math, libm
calls stay scalar), or run() raises, saying which outputs differ and by how much. The builds are timed in turn,
ROUNDS rounds (this machine's speed drifts in phases of seconds), each its best round, in CPU seconds of the
worker (CLOCK): only the kernel calls are timed, not the untimed set-up of each call's fresh state.

The ratio native / portable has target 1.0 and is informational: a figure above 1 is what the portable default
costs on this machine, against a build for this CPU only.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _fastcore import VECTOR_KERNELS

ROOT = Path(__file__).resolve().parents[1]
BUILDS = ("portable", "dispatched", "native")
# "portable" and "dispatched" run one build: the first with OPTISCAPE_ISA=baseline, the second as a user gets it
# (on an x86-64-v3 CPU, the vector kernels' x86-64-v3 builds: _fastcore/__init__.py)
BUILT = {"portable": "portable", "dispatched": "portable", "native": "native"}
ISA = {"portable": "baseline", "dispatched": "", "native": ""}
ROUNDS = 7  # each build once per round, in turn; each its best round
# CPU seconds of the worker (one thread), as bench/cooperation.py rates the ledger: other processes on this shared
# machine stretch wall time by up to 2x at random, which best-of-rounds alone does not undo.
CLOCK = time.process_time
MARKER = "bench.native:"  # a worker's replies on stdout start with this; anything else there is passed through

WALKER_STEPS = 5
CAUSAL_CONDITIONS = 50_000  # bench/causal.py's 10,000 take ~20 ms on one thread: too short to time well
# bench/density.py's "optiscape steps": case (c) at T = 0.05 on W in [1, 3.5], 400 SGD steps of 10 substeps (its
# constants are not imported: that module needs py-pde)
DENSITY_CELLS, DENSITY_STEPS = 4000, 4000
EXPRESSION = "clip(T / theta, -1, 1) * exp(-x) + sin(x) * tanh(T) - sqrt(abs(x)) + where(x > T, log(1 + x * x), x)"
EXPRESSION_BATCH = 1_000_000
VECMATH_VALUES = 2_000_000

Arrays = dict[str, np.ndarray]
# A workload's setup returns run(): a call from the same state and seed every time, (kernel seconds, outputs).
Setup = Callable[[], Callable[[], tuple[float, Arrays]]]


# --- the workloads, run in a worker ----------------------------------------------------------------------------


def _walkers() -> Callable[[], tuple[float, Arrays]]:
    from _fastcore import walkers as kernel
    from bench.walkers import PIT
    from models.sgd.model import SGDModel

    model = SGDModel(rng=1, n_walkers=1_000_000, agent_objects=False, **PIT)
    arrays, region = model.landscape.kernel_arrays(), model.escape_region

    def run() -> tuple[float, Arrays]:
        position, escape_step, streams = model.position.copy(), model.escape_step.copy(), copy.deepcopy(model.streams)
        started = CLOCK()
        kernel.step_walkers(position, model.temperature, escape_step, arrays, streams, kernel.METHOD_SGD, 1, 0,
                            WALKER_STEPS, 1, region.kind, region.axis, region.threshold, region.center, False, 1)
        return CLOCK() - started, {"position": position, "escape_step": escape_step}

    return run


def _causalvm() -> Callable[[], tuple[float, Arrays]]:
    from bench.causal import SPEC, STEPS
    from models.causal.model import CausalModel

    spec = {**SPEC, "sweep": {"variable": "R", "values": {"linspace": [5, 45, CAUSAL_CONDITIONS]}}}

    def run() -> tuple[float, Arrays]:
        model = CausalModel(**spec)
        model.threads = 1
        started = CLOCK()
        model.advance(STEPS)
        measure = model.exact("R")
        return CLOCK() - started, {"comp": measure.comp, "op": measure.op}

    return run


def _explorers() -> Callable[[], tuple[float, Arrays]]:
    from bench.metaopt import _kernel_step, _world

    def run() -> tuple[float, Arrays]:
        model = _world(100)
        started = CLOCK()
        for _ in range(4):
            _kernel_step(model, threads=1)
        return CLOCK() - started, {"position": model.position, "values": model.values,
                                               "inside": model.inside, "spawn": model.spawn}

    return run


def _density() -> Callable[[], tuple[float, Arrays]]:
    from models.density.fokker_planck import FokkerPlanck, Grid
    from models.landscapes import case_c

    grid = Grid(1.0, 3.5, DENSITY_CELLS)
    operator = FokkerPlanck.build(case_c(), 0.05, grid, "ito")
    start = np.exp(-0.5 * ((grid.centres - 1.5) / 0.1) ** 2)  # N(1.5, 0.1^2), as bench/density.py starts
    start /= start.sum()

    def run() -> tuple[float, Arrays]:
        masses = start.copy()
        started = CLOCK()
        lost_low, lost_high = operator.step(masses, 0.1, DENSITY_STEPS)
        return CLOCK() - started, {"masses": masses, "lost_low": lost_low, "lost_high": lost_high}

    return run


def _mlp() -> Callable[[], tuple[float, Arrays]]:
    from _fastcore import mlp as kernel
    from bench.knowledge import EXAMPLES, problem

    p = problem()
    p["target_class"] = p["target_class"].astype(np.int64)
    softplus, squared = kernel.ACTIVATIONS["softplus"], kernel.LOSSES["squared"]

    def run() -> tuple[float, Arrays]:
        theta = p["theta"].copy()
        tally_a, tally_b = np.zeros_like(theta), np.zeros_like(theta)
        losses, correct = np.empty(EXAMPLES), np.empty(EXAMPLES, dtype=np.int8)
        started = CLOCK()
        bad = kernel.train_examples(theta, tally_a, tally_b, p["pixels"], p["pixel_values"], p["target_class"],
                                    p["order"], p["tally_group"], 0.001, 100, softplus, softplus, squared, losses,
                                    correct)
        seconds = CLOCK() - started
        if bad >= 0:
            raise RuntimeError(f"training diverged at example {bad}")
        return seconds, {"theta": theta, "tally_a": tally_a, "tally_b": tally_b, "losses": losses, "correct": correct}

    return run


def _game() -> Callable[[], tuple[float, Arrays]]:
    from bench.cooperation import PLAYERS, ROUNDS, _kernel
    from models.cooperation.model import CooperationModel

    def run() -> tuple[float, Arrays]:
        # bench/cooperation.py's world without the Mesa agent objects, which the kernel does not touch
        model = CooperationModel({"n_humans": PLAYERS * 6 // 10, "n_ais": PLAYERS * 4 // 10, "ledger": "off",
                                  "update_rule": "reinforcement", "agent_objects": False}, rng=11)
        seconds = 0.0
        for _ in range(ROUNDS):  # as bench/cooperation.py's _time_rounds: the payoff table is not timed
            model.steps += 1
            table = model.game.payoff_table(model.steps)
            model.game.previous_strategy = model.strategy.copy()
            started = CLOCK()
            _kernel(model, table)
            seconds += CLOCK() - started
        return seconds, {"strategy": model.strategy, "propensity": model.propensity, "payoff": model.payoff,
                         "utility": model.utility}

    return run


def _exprvm() -> Callable[[], tuple[float, Arrays]]:
    from models.expressions import compile_expression

    program = compile_expression(EXPRESSION, ["x", "T", "theta"])
    rng = np.random.default_rng(3)
    inputs = np.stack([rng.uniform(-3, 3, EXPRESSION_BATCH), rng.uniform(-3, 3, EXPRESSION_BATCH),
                       np.full(EXPRESSION_BATCH, 1.5)])
    tangents = np.zeros_like(inputs)
    tangents[0] = 1.0

    def run() -> tuple[float, Arrays]:
        started = CLOCK()
        values, derivatives, errors = program.run(inputs, tangents)
        return CLOCK() - started, {"values": values, "tangents": derivatives, "errors": errors}

    return run


def _vecmath() -> Callable[[], tuple[float, Arrays]]:
    from _fastcore import vecmath

    rng = np.random.default_rng(4)
    turns, positive, uniforms = (rng.uniform(-100, 100, VECMATH_VALUES), rng.uniform(1e-3, 1e3, VECMATH_VALUES),
                                 rng.random(VECMATH_VALUES))

    def run() -> tuple[float, Arrays]:
        started = CLOCK()
        sines, cosines = vecmath.sin_cos_2pi_array(turns)
        logs = vecmath.log_array(positive)
        normals = vecmath.box_muller_array(uniforms)
        return CLOCK() - started, {"sin": sines, "cos": cosines, "log": logs, "normals": normals}

    return run


@dataclass(frozen=True)
class Workload:
    label: str
    count: float  # units of work in one call
    unit: str
    setup: Setup


WORKLOADS = {
    "walkers": Workload(f"10^6 walkers x {WALKER_STEPS} SGD steps", 1e6 * WALKER_STEPS, "walker-steps/s", _walkers),
    "causalvm": Workload(f"{CAUSAL_CONDITIONS} conditions x 500 steps", CAUSAL_CONDITIONS * 500, "condition-steps/s",
                         _causalvm),
    "explorers": Workload("10^4 explorers x 4 steps, rastrigin d = 100", 1e4 * 4, "explorer-moves/s", _explorers),
    "density": Workload(f"{DENSITY_CELLS} cells x {DENSITY_STEPS} backward-Euler steps", DENSITY_CELLS * DENSITY_STEPS,
                        "cell-steps/s", _density),
    "mlp": Workload("1000 examples at 784-100-2", 1000, "examples/s", _mlp),
    "game": Workload("40 rounds x 10^5 players", 40 * 100_000, "player-rounds/s", _game),
    "exprvm": Workload(f"{EXPRESSION_BATCH:,} inputs, values and tangents", EXPRESSION_BATCH, "evaluations/s",
                       _exprvm),
    "vecmath": Workload(f"sin/cos, log, box-muller on {VECMATH_VALUES:,} values each", 3 * VECMATH_VALUES,
                        "values/s", _vecmath),
}


def _digest(arrays: Arrays) -> dict[str, str]:
    return {name: hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
            for name, array in sorted(arrays.items())}


def serve(lib: str) -> None:
    """A worker on the build in `lib`: for each request on stdin, run a workload once (or save its last outputs)
    and reply on stdout."""
    reply, sys.stdout = sys.stdout, sys.stderr  # the models' prints must not mix with the replies
    import _fastcore

    if not _fastcore.__file__.startswith(lib):
        raise RuntimeError(f"_fastcore resolves to {_fastcore.__file__}, not the build in {lib}")
    runs: dict[str, Callable[[], tuple[float, Arrays]]] = {}
    last: dict[str, Arrays] = {}
    for line in sys.stdin:
        request = json.loads(line)
        kernel = request["kernel"]
        if "save" in request:
            np.savez(request["save"], **last[kernel])
            answer: dict = {}
        else:
            if kernel not in runs:
                runs[kernel] = WORKLOADS[kernel].setup()
            seconds, last[kernel] = runs[kernel]()
            module = sys.modules[f"_fastcore.{kernel}"].__file__
            answer = {"seconds": seconds, "digests": _digest(last[kernel]), "module": module}
        print(MARKER + json.dumps(answer), file=reply, flush=True)


# --- building and timing, in this process ----------------------------------------------------------------------


def _build(build: str, directory: Path) -> Path:
    """The kernels built by setup.py (OPTISCAPE_NATIVE=1 for "native") into directory/lib, with _fastcore/*.py."""
    env = {k: v for k, v in os.environ.items() if k != "OPTISCAPE_NATIVE"}
    if build == "native":
        env["OPTISCAPE_NATIVE"] = "1"
    lib = directory / "lib"
    print(f"  building the {build} kernels (setup.py build_ext) ...", flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "setup.py", "build_ext", "--build-lib", str(lib), "--build-temp",
                           str(directory / "temp")], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise RuntimeError(f"the {build} build failed (exit {done.returncode}):\n{tail}")
    # A native build whose compiler lines lack -march=native (or a portable one with it) would compare nothing.
    if ("-march=native" in done.stdout) != (build == "native"):
        raise RuntimeError(f"the {build} build's compiler lines {'lack' if build == 'native' else 'have'} "
                           "-march=native: did setup.py change?")
    for source in (ROOT / "_fastcore").glob("*.py"):
        shutil.copy2(source, lib / "_fastcore" / source.name)
    built = sorted(path.name.split(".")[0] for path in (lib / "_fastcore").glob("*.so"))
    print(f"    {len(built)} modules in {time.perf_counter() - started:.0f} s: {', '.join(built)}", flush=True)
    return lib


class _Worker:
    """A child process serving the workloads from one build's kernels."""

    def __init__(self, build: str, lib: Path) -> None:
        self.build, self.lib = build, lib
        code = f"import sys; sys.path.insert(0, {str(lib)!r}); from bench.native import serve; serve({str(lib)!r})"
        self.process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ,
                                        "OMP_NUM_THREADS": "1", "OPTISCAPE_ISA": ISA[build]},
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER):])
            print(line, end="", file=sys.stderr)
        raise RuntimeError(f"the {self.build} worker ended (exit {self.process.wait()}) during {request}")

    def close(self) -> None:
        """End the worker: its loop ends with its input; killed if it has not ended a minute later."""
        with contextlib.suppress(BrokenPipeError):  # a worker that died early reads no more input
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _differences(kernel: str, names: list[str], workers: dict[str, _Worker], directory: Path) -> str:
    """How the variants' last outputs of `kernel` differ from the portable one's, output by output."""
    saved = {}
    for build, worker in workers.items():
        path = directory / f"{kernel}-{build}.npz"
        worker.ask({"kernel": kernel, "save": str(path)})
        saved[build] = np.load(path)
    lines = []
    for name, other in ((name, other) for name in names for other in BUILDS[1:]):
        a, b = saved["portable"][name].ravel(), saved[other][name].ravel()
        if a.shape != b.shape or a.dtype != b.dtype:
            lines.append(f"{name}: {a.dtype} {a.shape} (portable) against {b.dtype} {b.shape} ({other})")
            continue
        bits = np.dtype(f"u{a.dtype.itemsize}")  # compared as bits: nan payloads and signed zeros count too
        differ = np.flatnonzero(a.view(bits) != b.view(bits))
        gap = np.abs(a[differ].astype(np.float64) - b[differ].astype(np.float64))
        first = int(differ[0])
        lines.append(f"{name}: {len(differ)} of {a.size} values differ, up to {np.max(gap):.3g} apart; the first at "
                     f"flat index {first}: {a[first].item()!r} (portable) against {b[first].item()!r} ({other})")
    return f"{kernel}: " + "; ".join(lines)


def _time_kernel(kernel: str, workers: dict[str, _Worker]) -> tuple[dict[str, float], dict[str, dict[str, str]]]:
    """Each build's best seconds over ROUNDS rounds, the builds in turn, and each build's digests of the outputs."""
    best = dict.fromkeys(workers, float("inf"))
    digests: dict[str, dict[str, str]] = {}
    for _ in range(ROUNDS):
        for build, worker in workers.items():
            answer = worker.ask({"kernel": kernel})
            if not answer["module"].startswith(str(worker.lib)):
                raise RuntimeError(f"the {build} worker ran {answer['module']}, not its own build")
            if digests.setdefault(build, answer["digests"]) != answer["digests"]:
                raise RuntimeError(f"{kernel}: the {build} build gave different bits on two calls from the same "
                                   "state and seed")
            best[build] = min(best[build], answer["seconds"])
    return best, digests


def run() -> list[dict]:
    """Every variant, every kernel, measured now, on this machine; raises unless they agree bit for bit."""
    rows, differing = [], []
    with tempfile.TemporaryDirectory(prefix="optiscape-native-") as scratch:
        scratch_dir = Path(scratch)
        libs = {build: _build(build, scratch_dir / build) for build in set(BUILT.values())}
        workers: dict[str, _Worker] = {}
        try:
            for build in BUILDS:
                workers[build] = _Worker(build, libs[BUILT[build]])
            for kernel, workload in WORKLOADS.items():
                best, digests = _time_kernel(kernel, workers)
                same = all(digests["portable"] == digests[build] for build in BUILDS)
                if not same:
                    names = [name for name, digest in digests["portable"].items()
                             if any(digests[build].get(name) != digest for build in BUILDS)]
                    differing.append(_differences(kernel, names, workers, scratch_dir))
                print(f"  {kernel:<10} {workload.label}: portable {best['portable'] * 1e3:6.1f} ms, dispatched "
                      f"{best['dispatched'] * 1e3:6.1f} ms, native {best['native'] * 1e3:6.1f} ms, native / portable "
                      f"{best['portable'] / best['native']:.2f}x, "
                      f"{'bit-identical' if same else 'RESULTS DIFFER'}", flush=True)
                rows += [{"benchmark": f"native.{kernel}", "variant": build, "rate": workload.count / seconds,
                          "unit": workload.unit} for build, seconds in best.items()]
        finally:
            for worker in workers.values():
                worker.close()
    if differing:
        raise RuntimeError("the portable, dispatched and native variants give different results:\n"
                           + "\n".join(differing))
    return rows


# The x86-64-v3 builds must earn their place (>= 1.5x); the native figures are informational (target 1.0).
RATIOS = [(f"native.{kernel}", "dispatched", "portable", 1.5) for kernel in VECTOR_KERNELS] + [
    (f"native.{kernel}", "native", "portable", 1.0) for kernel in WORKLOADS]
