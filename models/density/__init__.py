"""The probability-current world: the walker density four ways (chain, Fokker-Planck, the essay's master equation
and Gaussian rule) beside Monte Carlo walkers."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="density",
    title="The walker density four ways: exact chain, Fokker-Planck, Gaussian rule, Monte Carlo",
    model="models.density.model:DensityModel",
    params="models.density.params:DensityParams",
    claims="models.density.claims:claims",
    page="models.density.page:density_page",
    figures="models.density.figures:density_figures",
    key_figure="density_pit_escape:escape_times.png",
    showcase="density_pit_escape",
    order=2,
)
