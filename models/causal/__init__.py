"""The causal world: measures of optimization (Comp and Op) on causal graphs unrolled in time."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="causal",
    title="Measures of optimization on causal graphs unrolled in time",
    model="models.causal.model:CausalModel",
    params="models.causal.params:CausalParams",
    claims="models.causal.claims:claims",
    page="models.causal.page:causal_page",
    figures="models.causal.figures:causal_figures",
    key_figure="causal_bounded_thermostat:landscape.png",
    showcase="causal_linear_thermostat",
    order=3,
)
