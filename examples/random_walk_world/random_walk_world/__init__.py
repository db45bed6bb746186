"""An example plug-in world: walkers taking Gaussian steps on a line, declared to optiscape by an entry point."""

from models.registry import WorldEntry

WORLD = WorldEntry(
    name="random_walk",
    title="Random walkers on a line",
    model="random_walk_world.model:RandomWalkModel",
    params="random_walk_world.params:RandomWalkParams",
    scenarios="random_walk_world",
)
