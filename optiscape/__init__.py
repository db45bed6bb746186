"""optiscape: agent-based worlds of optimizers (the application: CLI, runs, report, browser app)."""

__version__ = "0.1.0"
