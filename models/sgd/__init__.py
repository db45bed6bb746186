"""The SGD-walker world: walkers doing GD or SGD on a landscape of per-datapoint losses."""
