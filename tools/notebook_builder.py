"""Write a notebook from a list of cells, without outputs, with kernelspec ``python3``.

Authoring aid: ``python -m tools.notebook_builder`` is not needed to run the course; the committed
``.ipynb`` files are the source of truth. ``cells`` is a list of ``("md" | "code", text[, tags])``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

BOOTSTRAP = """# Setup 1/4 — on Colab fetch the repository (once); everywhere put its root on the import path.
import sys
from pathlib import Path

COLAB_CLONE = Path("/content/zero-shot-vision-lab")
if "google.colab" in sys.modules and not COLAB_CLONE.exists():
    !git clone -q --depth 1 https://github.com/zero-shot-vision-lab/zero-shot-vision-lab {COLAB_CLONE}
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents, COLAB_CLONE] if (p / "utils" / "config.py").is_file())
sys.path.insert(0, str(ROOT))
from utils.runtime import bootstrap

ROOT = bootstrap()  # Colab: installs requirements.txt once, keeping Colab's own torch"""


def setup_cells(imports: str, config_class: str, extra_config: str = "") -> list[tuple]:
    """The setup block every notebook shares: bootstrap, imports, parameters + config, seed and device.

    Args:
        imports: the body of the imports cell (must import ``seed_everything`` and ``choose_device``).
        config_class: name of the config dataclass in ``utils.config`` the notebook uses.
        extra_config: lines run after the config is built (e.g. comments showing knobs to try).
    """
    return [
        (
            "md",
            "## Setup\nFour cells every notebook shares: bootstrap, imports, configuration, seed and device.",
        ),
        ("code", BOOTSTRAP),
        (
            "code",
            "# Setup 2/4 — imports: the notebook calls the library, it does not re-implement it.\n" + imports,
        ),
        (
            "md",
            "The one cell of knobs. `PROFILE` picks the data and the budget (`smoke`: seconds, for CI; "
            "`sample`: the whole sample world on a CPU; `full`: the real data set on a GPU). `None` reads "
            "the environment variable `ZSL_PROFILE` and falls back to `sample`. Change any field of `config` "
            "in the next cell, e.g. `config.seed = 1`.",
        ),
        (
            "code",
            "# Setup 3/4 — parameters (papermill may override this cell).\nPROFILE = None",
            ["parameters"],
        ),
        ("code", f"config = {config_class}.for_profile(PROFILE)\n{extra_config}config"),
        (
            "code",
            "# Setup 4/4 — one seed for random, NumPy and torch; the device in use.\n"
            'seed_everything(config.seed)\ndevice = choose_device(config.device)\nprint(f"profile: {config.profile}")',
        ),
    ]


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
