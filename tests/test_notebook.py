"""The example notebook (docs/example.ipynb) runs from top to bottom in a fresh kernel, with no network."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "example.ipynb"


def test_the_example_notebook_runs_and_shows_its_tables_figure_and_page(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [[output for output in cell.outputs if output.output_type in ("execute_result", "display_data")]
               for cell in code]
    escape, figure, scan, page = (cell[0]["data"] for cell in outputs)
    assert "escape_probability" in escape["text/html"]
    assert "image/png" in figure
    assert scan["text/html"].count("<tr") == 1 + 6  # the header and one row per temperature
    assert "application/vnd.jupyter.widget-view+json" in page  # the page, as a widget
    assert not [output for cell in code for output in cell.outputs if output.output_type == "error"]
