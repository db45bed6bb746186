"""Mesa agents: who acts, as views on their world's arrays, with pure-Python reference steps."""

from agents.causal import CausalNode
from agents.metaopt import OptimizationAlgorithm
from agents.sgd import SGDWalker

__all__ = ["CausalNode", "OptimizationAlgorithm", "SGDWalker"]
