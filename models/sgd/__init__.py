"""The SGD-walker world: walkers doing GD or SGD on a landscape of per-datapoint losses."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="sgd",
    title="SGD walkers on a loss landscape",
    model="models.sgd.model:SGDModel",
    params="models.sgd.params:SGDParams",
    claims="models.sgd.claims:claims",
    page="models.sgd.page:sgd_page",
    figures="models.sgd.figures:sgd_figures",
    key_figure="sgd_pit_gd:trajectories.png",
    showcase="sgd_pit_escape",
    order=1,
)
