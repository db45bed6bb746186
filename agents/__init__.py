"""Mesa agents: who acts, as views on their world's arrays, with pure-Python reference steps."""

from agents.causal_node import CausalNode
from agents.optimization_algorithm import OptimizationAlgorithm
from agents.sgd_walker import SGDWalker

__all__ = ["CausalNode", "OptimizationAlgorithm", "SGDWalker"]
