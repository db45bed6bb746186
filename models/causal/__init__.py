"""The causal world: measures of optimization (Comp and Op) on causal graphs unrolled in time."""
