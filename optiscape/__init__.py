"""optiscape: agent-based worlds of optimizers (the application: CLI, runs, report, browser app)."""

from typing import Any

__version__ = "0.1.0"


def scan(*args: Any, **kwargs: Any) -> Any:
    """Run a scenario's scan and return its table (a pandas DataFrame): see `optiscape.scans.scan`."""
    from optiscape.scans import scan as run

    return run(*args, **kwargs)
