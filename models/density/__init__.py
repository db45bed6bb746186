"""The probability-current world: the walker density four ways (chain, Fokker-Planck, the seed's master equation
and Gaussian rule) beside Monte Carlo walkers."""
