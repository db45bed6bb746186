"""What every world is: a Mesa model built from its Params, seeded by Mesa, collecting its own data.

A world subclasses `World`, names its parameters class (`Params = SGDParams`), and its `__init__`
starts with `super().__init__(params, rng=rng, **overrides)`; after that `self.params` holds the
validated parameters and `self.rng` the seeded Generator, so the rest reads like the paper's set-up.
It ends with `self.collect_from(reporters)`, which sets up the DataCollector and collects step 0.
`tables()` and `summary()` are what `optiscape run` writes: Parquet tables and summary.json.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mesa
import pandas as pd

from models.params import Params


class World(mesa.Model):
    """A world: Params resolved from an instance, a mapping or keyword overrides; Mesa's seeding; a DataCollector.

    Seeding is Mesa's own (`mesa.Model.__init__(rng=rng)`): numpy's Generator is `np.random.default_rng(rng)`,
    so an integer seed goes through numpy's SeedSequence into PCG64, and stdlib `random` is seeded with the
    same integer; any other `rng` (None, a Generator) costs one draw from the Generator to seed `random`.
    """

    Params: ClassVar[type[Params]]
    # The steps its scenario asks for (`Scenario.build` sets it), so a world that stops early can still report
    # at that horizon; None for a world built otherwise.
    planned_steps: int | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        named = getattr(cls, "Params", None)
        if not (isinstance(named, type) and issubclass(named, Params)):
            raise TypeError(f"{cls.__module__}.{cls.__name__}: a World names its parameters class, as in "
                            f"`Params = MyParams` (a models.params.Params subclass); found {named!r}")

    def __init__(self, params: Params | dict[str, Any] | None = None, *, rng: Any = None, scenario: Any = None,
                 **overrides: Any) -> None:
        # `scenario` is accepted and ignored: Mesa's SolaraViz Reset passes an empty Mesa Scenario to any
        # model with **kwargs, and everything a world needs is in its Params and the scenario's seed.
        super().__init__(rng=rng)
        self.params = type(self).Params.resolve(params, **overrides)

    def collect_from(self, model_reporters: dict[str, Any], agent_reporters: dict[str, Any] | None = None) -> None:
        """Set up the DataCollector with these reporters and collect the state before the first step."""
        self.datacollector = mesa.DataCollector(model_reporters=model_reporters, agent_reporters=agent_reporters)
        self.collect()

    def collect(self) -> None:
        """One DataCollector row of the state now (a world may add its own records)."""
        self.datacollector.collect(self)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables by name ('model': one row per collected step); written as Parquet files."""
        raise NotImplementedError(f"{type(self).__name__} must say which tables a run writes")

    def summary(self) -> dict[str, Any]:
        """The run's headline numbers (JSON-able), written as summary.json and printed by `optiscape run`."""
        raise NotImplementedError(f"{type(self).__name__} must say what a run's summary holds")
