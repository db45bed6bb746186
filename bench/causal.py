"""Condition-steps per second of the bounded thermostat's Op landscape, three ways ("Defining Optimization in
a Deeper Way", Part 4).

The world is `models.causal.claims.BOUNDED`: T_{j+1} = R_j - d, R_{j+1} = R_j - δt p clip(T_j / θ, -1, 1) with
d = 25, δt = 0.02, p = θ = 1, T_0 = 0, and R_0 = s0 swept over [5, 45]. Comp(A = every T node; n = R_0, m = R_500)
is computed exactly, by forward-mode tangents along W: X has τ_R0 = 1; Y has τ = 0 on every T node. One
condition-step is one initial condition advanced by one time step, W and both tangents.

1. "vm": `CausalModel.advance(STEPS)` over all CONDITIONS at once: the whole-system kernel
   (`_fastcore.causalvm`, the world compiled by `models.causal.program`) runs every node, W and both tangents,
   all STEPS steps in one call, in tiles of conditions on `CausalModel.threads` OpenMP threads; the model then
   records its DataCollector rows for every step. Timed from the call to the landscape (Comp of R over the sweep);
   the model's construction (compiling the world, ~10 ms) is printed but not timed. "vm, 1 thread": the same on
   one thread. (θ = 1 is a power of two, so the compiled T / θ multiplies by 1/θ: the same number, exactly.)
2. "numpy": the same recursion written by hand as numpy array operations over all CONDITIONS, values, X and Y
   tangents, with clip's derivative following the branch W takes (dx inside [lo, hi], ties inside; 0 outside).
3. "pure python": node by node over `model.graph` in topological order, one initial condition at a time, in
   plain floats, each node by its expression's `Program.reference` (the VM's independent check), on a subset
   of SUBSET conditions spread over the sweep (all CONDITIONS would take minutes).

All three must give the same Comp at step STEPS, to RTOL relative, on the common subset (and the VM and numpy
on every condition), or run() raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from models.causal.claims import BOUNDED
from models.causal.model import CausalModel
from models.causal.params import TIME

CONDITIONS, STEPS = 10_000, 500
REPEATS = 9  # best of: the machine is shared, a run varies by ±30%; the same count for the three fast variants
SUBSET = 20  # conditions the pure-Python walk runs, evenly spread over the sweep (both clip branches)
RTOL = 1e-12
SPEC = {**BOUNDED, "sweep": {"variable": "R", "values": {"linspace": [5, 45, CONDITIONS]}}}
NAME = "causal.bounded_landscape"
UNIT = "condition-steps/s"


def _best_seconds(prepare: Callable[[], object], work: Callable[[object], object], repeats: int) -> tuple[float,
                                                                                                         object]:
    """Best wall time of work(prepare()) over repeats, prepare untimed; and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        state = prepare()
        started = time.perf_counter()
        result = work(state)
        best = min(best, time.perf_counter() - started)
    return best, result


def _vm_model() -> CausalModel:
    return CausalModel(**SPEC)


def _vm_model_one_thread() -> CausalModel:
    model = CausalModel(**SPEC)
    model.threads = 1
    return model


def _vm_steps(model: CausalModel) -> np.ndarray:
    """STEPS model steps in one call; Comp of R over the whole sweep at the end."""
    model.advance(STEPS)
    return model.exact("R").comp


def numpy_comp(s0: np.ndarray, steps: int) -> np.ndarray:
    """Comp(T; R_0, R_steps) over a batch of R_0 = s0, by the essay's recursion as numpy array operations."""
    parameters = BOUNDED["parameters"]
    d, theta, gain = parameters["d"], parameters["theta"], parameters["dt"] * parameters["p"]
    temperature, room = np.zeros_like(s0), np.array(s0, dtype=np.float64)  # T_0 = 0, R_0 = s0
    x_temperature, x_room = np.zeros_like(room), np.ones_like(room)  # X: τ_R0 = 1
    y_temperature, y_room = np.zeros_like(room), np.ones_like(room)  # Y: τ_R0 = 1, τ = 0 on every T node
    ratio, slope, push = np.empty_like(room), np.empty_like(room), np.empty_like(room)
    for _ in range(steps):
        np.divide(temperature, theta, out=ratio)
        # clip's derivative follows W's branch: 1/θ inside [-1, 1] (ties inside), 0 outside
        np.multiply((ratio >= -1.0) & (ratio <= 1.0), gain / theta, out=slope)
        np.clip(ratio, -1.0, 1.0, out=push)
        push *= gain
        np.subtract(room, d, out=temperature)  # T_{j+1} = R_j - d (temperature is read only through ratio above)
        room -= push  # R_{j+1} = R_j - δt p clip(T_j / θ, -1, 1)
        x_room_next = x_room - slope * x_temperature
        x_temperature, x_room = x_room, x_room_next
        y_room -= slope * y_temperature
        y_temperature[:] = 0.0  # the clamped node: its Y tangent is 0 whatever its function gives
    return x_room / y_room


def python_comp(model: CausalModel, s0: float, steps: int) -> float:
    """Comp of the first target at `steps` for R_0 = s0, walking `model.graph` node by node in plain floats."""
    params = model.params
    names = list(params.variables)
    parents = {name: [(parent, lag) for parent, _, lag in model.graph.in_edges(name, data="lag")]
               for name in model.order}
    values = {name: float(var.initial) for name, var in params.variables.items()}
    values[params.sweep.variable] = s0
    x = {name: float(name == params.perturb) for name in names}
    y = dict(x)
    for t in range(1, steps + 1):
        new_values: dict[str, float] = {}
        new_x: dict[str, float] = {}
        new_y: dict[str, float] = {}
        for name in model.order:  # topological in the same-time edges; lag-1 parents read the previous step
            env = {**params.parameters, TIME: float(t)}
            x_in: dict[str, float] = {}
            y_in: dict[str, float] = {}
            for parent, lag in parents[name]:
                env[parent] = (new_values if lag == 0 else values)[parent]
                x_in[parent] = (new_x if lag == 0 else x)[parent]
                y_in[parent] = (new_y if lag == 0 else y)[parent]
            program = model.programs[name]
            new_values[name], new_x[name] = program.reference(env, x_in)
            _, tangent = program.reference(env, y_in)
            new_y[name] = 0.0 if model.clamped(name, t) else tangent
        values, x, y = new_values, new_x, new_y
    m = params.targets[0]
    return x[m] / y[m]


def _check(label: str, comp: np.ndarray, reference: np.ndarray) -> None:
    error = np.abs(comp - reference) / np.maximum(np.abs(reference), np.finfo(float).tiny)
    if not np.all(error <= RTOL):
        worst = int(np.argmax(error))
        raise RuntimeError(f"{label}: Comp at step {STEPS} differs by {error[worst]:.2e} relative (> {RTOL:g}) at "
                           f"condition {worst}: {comp[worst]!r} against {reference[worst]!r}")


def run() -> list[dict]:
    """The three variants, measured now, on this machine."""
    started = time.perf_counter()
    model = _vm_model()
    build_seconds = time.perf_counter() - started
    s0 = np.asarray(model.params.sweep_values())
    subset = np.linspace(0, CONDITIONS - 1, SUBSET).round().astype(int)

    vm_seconds, vm = _best_seconds(_vm_model, _vm_steps, repeats=REPEATS)
    single_seconds, by_single = _best_seconds(_vm_model_one_thread, _vm_steps, repeats=REPEATS)
    numpy_seconds, by_numpy = _best_seconds(lambda: s0, lambda s: numpy_comp(s, STEPS), repeats=REPEATS)
    python_seconds, by_python = _best_seconds(
        lambda: model, lambda m: np.array([python_comp(m, float(s0[i]), STEPS) for i in subset]), repeats=2)

    if not np.array_equal(by_single, vm):
        raise RuntimeError("vm: one thread and several give different numbers")
    _check("numpy against the VM", by_numpy, vm)
    _check("pure python against the VM", by_python, vm[subset])
    _check("pure python against numpy", by_python, by_numpy[subset])
    print(f"  bounded thermostat, {CONDITIONS} conditions x {STEPS} steps (pure python: {SUBSET} of them); "
          f"Comp at step {STEPS} in [{vm.min():.4g}, {vm.max():.4g}], the three agree to {RTOL:g}:\n"
          f"    vm {vm_seconds * 1e3:.1f} ms on {model.threads} threads, {single_seconds * 1e3:.1f} ms on one "
          f"(+ {build_seconds * 1e3:.1f} ms construction, untimed), numpy "
          f"{numpy_seconds * 1e3:.1f} ms, pure python {python_seconds:.3f} s", flush=True)

    rates = {"vm": CONDITIONS * STEPS / vm_seconds, "vm, 1 thread": CONDITIONS * STEPS / single_seconds,
             "numpy": CONDITIONS * STEPS / numpy_seconds,
             "pure python": SUBSET * STEPS / python_seconds}
    return [{"benchmark": NAME, "variant": v, "rate": r, "unit": UNIT} for v, r in rates.items()]


RATIOS = [(NAME, "vm", "numpy", 5.0), (NAME, "vm", "pure python", 200.0), (NAME, "vm, 1 thread", "numpy", 3.0),
          (NAME, "vm, 1 thread", "pure python", 200.0)]
