"""An example plug-in world: walkers taking Gaussian steps on a line, declared to optiscape by an entry point."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="random_walk",
    title="Random walkers on a line",
    model="random_walk_world.model:RandomWalkModel",
    params="random_walk_world.params:RandomWalkParams",
    page="random_walk_world.page:random_walk_page",
    scenarios="random_walk_world",
)
