"""Every world by name, found through the `optiscape.worlds` entry points; nothing heavy is imported to list them.

A world declares itself once, in its package's `__init__.py`:

    WORLD = WorldEntry(name="sgd", title="...", model="models.sgd.model:SGDModel",
                       params="models.sgd.params:SGDParams", claims="models.sgd.claims:claims",
                       page="models.sgd.page:sgd_page", figures="models.sgd.figures:sgd_figures")

and a distribution's metadata points at it: `[project.entry-points."optiscape.worlds"] sgd = "models.sgd:WORLD"`.
Each piece is a "module:attribute" string, imported only when asked for, so a plug-in world is a package of
its own that declares the same entry point.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

GROUP = "optiscape.worlds"
UNREGISTERED = (f"a world is known by its package's {GROUP!r} entry point: after adding one, install the package "
                "again, e.g. `pip install -e .`")


def resolve(ref: str) -> Any:
    """The object a "package.module:attribute" string names (its module imported now)."""
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"bad reference {ref!r}: expected 'package.module:attribute'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:  # a plug-in's typo or missing dependency: one line, not a traceback
        raise ValueError(f"{ref!r} cannot be loaded ({type(exc).__name__}: {exc}); expected 'package.module:attribute' "
                         f"of an installed module") from exc


@dataclass(frozen=True)
class WorldEntry:
    """One world: its name and title, and where its model, params, claims, page and figures live."""

    name: str
    title: str
    model: str  # "module:Class", a models.world.World
    params: str  # "module:Class", a models.params.Params
    claims: str | None = None  # "module:function" returning the world's list of models.claims.Claim
    page: str | None = None  # "module:function" from a scenario to a models.viz.WorldPage
    figures: str | None = None  # "module:function" from (model, tables) to models.viz.Outputs
    scenarios: str | None = None  # a package whose *.yaml files are scenarios shipped with the world
    order: int = 100  # where the world comes among the worlds and in the report (then by name)
    showcase: str | None = None  # the shipped scenario its page picture and page test use (else its first, by name)
    key_figure: str | None = None  # "scenario:figure.png", the run figure its docs page shows (`make docs` draws it)

    def model_class(self) -> Any:
        return self._load("model")

    def params_class(self) -> Any:
        return self._load("params")

    def claim_list(self) -> list[Any]:
        """The claims of the world's source text (none if it declares none)."""
        return self._load("claims")() if self.claims else []

    def page_builder(self) -> Callable[..., Any] | None:
        return self._load("page") if self.page else None

    def figure_maker(self) -> Callable[..., Any] | None:
        return self._load("figures") if self.figures else None

    def _load(self, piece: str) -> Any:
        """What this entry's `piece` names; a typo in it is the world's error, named so, not the scenario's."""
        try:
            return resolve(getattr(self, piece))
        except ValueError as exc:
            raise ValueError(f"world {self.name!r}, its WorldEntry's {piece}: {exc}") from None


@functools.cache
def worlds() -> dict[str, WorldEntry]:
    """Every installed world by name, in their declared order."""
    found: dict[str, WorldEntry] = {}
    for point in entry_points(group=GROUP):
        if point.name in found:
            continue  # the same distribution seen twice on sys.path: the first copy wins, as for imports
        try:
            entry = point.load()
        except Exception as exc:  # one broken plug-in must not take every other world (and the CLI) down with it
            print(f"optiscape: warning: world {point.name!r} ({point.value}) left out: it cannot be loaded "
                  f"({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        if not isinstance(entry, WorldEntry) or entry.name != point.name:
            raise ValueError(f"entry point {point.name!r} = {point.value!r} in group {GROUP!r}: expected a "
                             f"WorldEntry named {point.name!r}")
        found[point.name] = entry
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def world(name: str) -> WorldEntry:
    """The world registered under `name`, or a ValueError naming the known ones."""
    known = worlds()
    if name not in known:
        raise ValueError(f"unknown model {name!r}: expected one of {sorted(known)} ({UNREGISTERED})")
    return known[name]


def all_claims() -> list[Any]:
    """Every registered claim, world by world, in the worlds' order."""
    return [claim for entry in worlds().values() for claim in entry.claim_list()]
