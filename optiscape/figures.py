"""PNG figures: a claim's figure drawn for the report, and a run's figures (each world draws its own) saved."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure as MatplotlibFigure

from models.claims import Figure


def draw(figure: Figure, path: Path) -> Path:
    """Draw a Figure (a claim's data) to a PNG."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for s in figure.series:
        if s.error is not None:
            ax.errorbar(s.x, s.y, yerr=s.error, label=s.label, marker="o", markersize=3, capsize=2)
        else:
            ax.plot(s.x, s.y, label=s.label, marker="." if len(s.x) < 60 else None)
    for y, label in figure.hlines:
        ax.axhline(y, color="grey", linestyle=":", label=label)
    ax.set(title=figure.title, xlabel=figure.xlabel, ylabel=figure.ylabel, xscale=figure.xscale,
           yscale=figure.yscale)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save({path.name: fig}, path.parent)[0]


def save(outputs: dict[str, MatplotlibFigure | str | bytes], folder: Path) -> list[Path]:
    """Write a run's outputs by file name: a Figure as a PNG, text or bytes as they are; the paths, in order."""
    paths = []
    for name, output in outputs.items():
        path = folder / name
        if isinstance(output, MatplotlibFigure):
            output.savefig(path, dpi=110)
            plt.close(output)  # a pyplot figure stays open until closed
        elif isinstance(output, bytes):
            path.write_bytes(output)
        else:
            path.write_text(output, encoding="utf-8")
        paths.append(path)
    return paths
