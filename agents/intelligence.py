"""A being on the intelligence line (Tunador (2023), appendix B): humans, or one version of an AI."""

from __future__ import annotations

from typing import Any

import mesa


class Being(mesa.Agent):
    """A being at intelligence level `level`; `kind` is "ai" for an AI version, else the scenario's name (humans)."""

    def __init__(self, model: Any, level: float, kind: str, version: int = -1) -> None:
        super().__init__(model)
        self.level = float(level)
        self.kind = kind
        self.version = version  # 0, 1, 2, ... for AI versions in release order; -1 otherwise
        self.born = int(model.steps)
