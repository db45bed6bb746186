"""What every world's parameters share: strict pydantic models, declared once per world.

A world's Params class is the single declaration used by scenario files, the CLI, the
browser sliders and `mesa.batch_run` keyword arguments.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Finite = Annotated[float, Field(allow_inf_nan=False, strict=True)]
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]

MAX_VALUES = 100_000  # values one list of a scenario may expand to (a scan of more is not a run, it is a typo)
MEGABYTE = 2**20


class FieldError(ValueError):
    """A cross-field check's failure, naming the key path it is about (for one-line error messages)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class Strict(BaseModel):
    """Unknown keys are errors, NaN and infinity are refused, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Params(Strict):
    """Base class of every world's parameters.

    `memory_budget_mb`: a run whose world would hold more than this (its `memory_estimate_mb`, a rough upper
    figure each world gives for its own arrays, tables and records) is refused before anything is allocated.
    """

    memory_budget_mb: PositiveFinite = 4096.0

    def memory_estimate_mb(self, steps: int) -> float:
        """Roughly the most memory a run of `steps` steps holds at once, in MB (a world with large arrays says)."""
        return 0.0

    def check_run(self, steps: int) -> None:
        """Refuse, before anything is built, a run of `steps` steps that could not fit or could not be computed."""
        needed = self.memory_estimate_mb(steps)
        if needed > self.memory_budget_mb:
            raise FieldError(("memory_budget_mb",), f"this run would need about {needed:,.0f} MB, more than "
                             f"memory_budget_mb = {self.memory_budget_mb:g} MB; expected a smaller world or fewer "
                             "steps, or a larger budget if the machine has the memory")

    @classmethod
    def resolve(cls, params: Self | dict[str, Any] | None = None, **overrides: Any) -> Self:
        """Params from an instance or a mapping, with keyword overrides (sliders, batch_run, scan axes) on top; an
        override "a.b" sets key b of the mapping a, keeping a's other keys."""
        if params is None:
            base: dict[str, Any] = {}
        elif isinstance(params, cls):
            base = params.model_dump(exclude_unset=False)
        elif isinstance(params, dict):
            base = dict(params)
        else:
            raise TypeError(f"params: expected {cls.__name__}, a mapping or None, got {type(params).__name__}")
        for key, value in overrides.items():
            base = _with(base, key, value)
        return cls.model_validate(base)


def _with(mapping: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """mapping with the key path "a.b.c" set to value (the mappings along the path copied, their other keys kept)."""
    head, _, rest = dotted.partition(".")
    if not rest:
        return {**mapping, head: value}
    inner = mapping.get(head)
    inner = inner.model_dump() if isinstance(inner, BaseModel) else dict(inner) if isinstance(inner, dict) else {}
    return {**mapping, head: _with(inner, rest, value)}


class Values(Strict):
    """A list of values given by `linspace: [start, stop, num]` or `logspace: [start_exp, stop_exp, num]`.

    Same conventions as numpy: logspace takes base-10 exponents.
    """

    linspace: tuple[Finite, Finite, Annotated[int, Field(strict=True, ge=1, le=MAX_VALUES)]] | None = None
    logspace: tuple[Finite, Finite, Annotated[int, Field(strict=True, ge=1, le=MAX_VALUES)]] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Values:
        if (self.linspace is None) == (self.logspace is None):
            raise ValueError("expected exactly one of 'linspace' or 'logspace'")
        return self

    def values(self) -> list[float]:
        import numpy as np  # here, not at the top: `optiscape list` imports this module and needs no numpy

        if self.linspace is not None:
            a, b, n = self.linspace
            return [float(v) for v in np.linspace(a, b, n)]
        assert self.logspace is not None
        a, b, n = self.logspace
        with np.errstate(over="ignore"):  # 10^400 is inf: the parameter's own check names it, without numpy's warning
            return [float(v) for v in np.logspace(a, b, n)]
