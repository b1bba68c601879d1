"""Write a notebook from a list of cells, without outputs, with kernelspec ``python3``.

Authoring aid: ``python -m tools.notebook_builder`` is not needed to run the course; the committed
``.ipynb`` files are the source of truth. ``cells`` is a list of ``("md" | "code", text[, tags])``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat


def write_notebook(path: Path, cells: list[tuple]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    for kind, text, *rest in cells:
        text = text.strip("\n")
        cell = nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        if rest and rest[0]:
            cell.metadata["tags"] = list(rest[0])
        notebook.cells.append(cell)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    nbformat.validate(notebook)
    path.write_text(nbformat.writes(notebook) + "\n")
    return path
