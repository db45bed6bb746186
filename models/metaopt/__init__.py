"""The meta-optimization world: optimization algorithms that spawn, vary and propagate on a landscape."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="metaopt",
    title="Meta-optimization: algorithms that spawn, vary and propagate",
    model="models.metaopt.model:MetaoptModel",
    params="models.metaopt.params:MetaoptParams",
    claims="models.metaopt.claims:claims",
    page="models.metaopt.page:metaopt_page",
    figures="models.metaopt.figures:metaopt_figures",
    key_figure="metaopt_watch_2d:timeseries.png",
    showcase="metaopt_watch_2d",
    order=4,
)
