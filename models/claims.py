"""The source texts' claims as checkable objects: each world registers its own; `optiscape reproduce` runs them.

A claim measures something and returns a verdict: "reproduced" when optiscape finds what
the text says, "differs" (with a one-line reason and the correct figure) when it does not.
Where the text is wrong, the verdict is "differs": models are never bent to match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["reproduced", "differs"]


@dataclass(frozen=True)
class Series:
    """One line of a figure; `error` is a symmetric error bar (a standard error), if any."""

    label: str
    x: list[float]
    y: list[float]
    error: list[float] | None = None


@dataclass(frozen=True)
class Figure:
    """A figure described as data; `optiscape.report` draws it."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series]
    xscale: Literal["linear", "log"] = "linear"
    yscale: Literal["linear", "log"] = "linear"
    hlines: list[tuple[float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Measured:
    """What a claim's measurement found."""

    measured: Any
    verdict: Verdict
    note: str = ""
    figure: Figure | None = None


@dataclass(frozen=True)
class Claim:
    """A claim of a source text: a stable dotted id, the text's words and value, and how to measure it.

    `measure(quick)` runs the experiment; quick=True uses fewer walkers (for tests), with
    verdicts that still hold at that size.
    """

    id: str
    world: str
    claim: str
    text_value: Any
    measure: Callable[[bool], Measured]
