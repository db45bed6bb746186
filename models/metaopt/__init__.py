"""The meta-optimization world: optimization algorithms that spawn, vary and propagate on a landscape."""
