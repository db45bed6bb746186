"""The probability-current world: SGD in 2-D or 3-D as an exact chain on a grid, with its stationary current,
entropy production and escape over a saddle, beside SGD walkers."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="current",
    title="Probability currents in 2-D: the exact SGD chain, its stationary current and saddle escape",
    model="models.current.model:CurrentModel",
    params="models.current.params:CurrentParams",
    claims="models.current.claims:claims",
    page="models.current.page:current_page",
    figures="models.current.figures:current_figures",
    order=8,
    showcase="current_rank1_valley",
    key_figure="current_rank1_valley:stationary_current.png",
)
