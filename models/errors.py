"""The one error type bad input ends in, whether it is found loading a scenario, building its world or stepping it.

`ScenarioError` names the file (when there is one), the key path and what was expected, in one line; the command
line prints it and exits with status 2. A world raises a `WorldError` (a ScenarioError without a file) when its
set-up or a step finds that its parameters cannot run: a diverging walker, a population past its memory budget, a
landscape or expression that cannot be built.
"""

from __future__ import annotations

from pathlib import Path


class ScenarioError(ValueError):
    """A scenario that cannot run; the message is one line naming file, key path and expectation."""

    def __init__(self, path: Path | str | None, key: str, message: str) -> None:
        self.path, self.key, self.message = (str(path) if path else ""), key, message
        where = ": ".join(part for part in (self.path, key) if part)
        super().__init__(f"{where}: {message}" if where else message)

    def naming(self, path: Path | str) -> ScenarioError:
        """This error (of its own type), naming the scenario file `path` where it names none."""
        if not self.path:
            ScenarioError.__init__(self, path, self.key, self.message)
        return self


class WorldError(ScenarioError):
    """Bad input found by a world itself, while building it or stepping it (no file to name)."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(None, key, message)
