"""Every world by name: its Model class, its Params class, a title, and the seed claims it registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mesa

from models.claims import Claim
from models.params import Params


@dataclass(frozen=True)
class World:
    name: str
    title: str
    model: type[mesa.Model]
    params: type[Params]
    claims: Callable[[], list[Claim]]


def _sgd() -> World:
    from models.sgd.claims import claims
    from models.sgd.model import SGDModel
    from models.sgd.params import SGDParams

    return World("sgd", "SGD walkers on a loss landscape (seed 000)", SGDModel, SGDParams, claims)


def _density() -> World:
    from models.density.claims import claims
    from models.density.model import DensityModel
    from models.density.params import DensityParams

    return World("density", "The walker density four ways: chain, Fokker-Planck, seed's rule, Monte Carlo (seed 000)",
                 DensityModel, DensityParams, claims)


def _causal() -> World:
    from models.causal.claims import claims
    from models.causal.model import CausalModel
    from models.causal.params import CausalParams

    return World("causal", "Measures of optimization: Comp and Op on causal graphs (seed 000, Parts 1-4)",
                 CausalModel, CausalParams, claims)


def _metaopt() -> World:
    from models.metaopt.claims import claims
    from models.metaopt.model import MetaoptModel
    from models.metaopt.params import MetaoptParams

    return World("metaopt", "Meta-optimization: algorithms that spawn, vary and propagate (seed 001 §2)",
                 MetaoptModel, MetaoptParams, claims)


def _intelligence() -> World:
    from models.intelligence.claims import claims
    from models.intelligence.model import IntelligenceModel
    from models.intelligence.params import IntelligenceParams

    return World("intelligence", "Intelligence density: who may exterminate whom on the intelligence line "
                 "(seed 001 appendix B)", IntelligenceModel, IntelligenceParams, claims)


def _knowledge() -> World:
    from models.knowledge.claims import claims
    from models.knowledge.model import KnowledgeModel
    from models.knowledge.params import KnowledgeParams

    return World("knowledge", "Knowledge localization: where does a change of data change the weights? (seed 000)",
                 KnowledgeModel, KnowledgeParams, claims)


def _cooperation() -> World:
    from models.cooperation.claims import claims
    from models.cooperation.model import CooperationModel
    from models.cooperation.params import CooperationParams

    return World("cooperation", "Humans and AIs with hashed IDs, wallets, reputation and votes on a ledger (seed 001)",
                 CooperationModel, CooperationParams, claims)


_FACTORIES: dict[str, Callable[[], World]] = {"sgd": _sgd, "density": _density, "causal": _causal,
                                              "metaopt": _metaopt, "intelligence": _intelligence,
                                              "knowledge": _knowledge, "cooperation": _cooperation}
registry: dict[str, World] = {name: make() for name, make in _FACTORIES.items()}


def world(name: str) -> World:
    """The world registered under `name`, or a ValueError naming the known ones."""
    if name not in registry:
        raise ValueError(f"unknown model {name!r}: expected one of {sorted(registry)}")
    return registry[name]


def all_claims() -> list[Claim]:
    """Every registered claim, world by world, in registration order."""
    return [c for w in registry.values() for c in w.claims()]
