"""Write a notebook from a list of cells, without outputs, with kernelspec ``python3``.

Authoring aid, not needed to run the course; the committed ``.ipynb`` files are the source of truth.
``cells`` is a list of ``("md" | "code", text[, tags])``. ``python -m tools.notebook_builder`` rewrites
every notebook's first code cell (:data:`BOOTSTRAP`) and its Colab badge from ``utils.runtime.REPO_URL``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from utils.runtime import COLAB_CLONE_DIR, REPO_URL

BOOTSTRAP = f"""# Setup 1/4 — on Colab clone the repository (once); everywhere import from its root and work there.
import sys
from pathlib import Path

CLONE = Path("{COLAB_CLONE_DIR}")
if "google.colab" in sys.modules and not CLONE.exists():
    !git clone -q --depth 1 {REPO_URL} {{CLONE}}
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents, CLONE] if (p / "utils" / "config.py").is_file())
sys.path.insert(0, str(ROOT))
from utils.runtime import bootstrap

ROOT = bootstrap(ROOT)  # Colab: installs requirements.txt once, keeping Colab's own torch and torchvision"""
"""The first code cell of every notebook (cell 2), built from :data:`utils.runtime.REPO_URL`."""

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def colab_url(notebook: str) -> str:
    """The address that opens ``notebooks/<notebook>`` of :data:`~utils.runtime.REPO_URL` in Colab."""
    repository = REPO_URL.removeprefix("https://github.com/").removesuffix(".git")
    return f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{notebook}"


def colab_badge(notebook: str) -> str:
    """The "Open In Colab" badge (markdown) for ``notebooks/<notebook>``."""
    image = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({image})]({colab_url(notebook)})"


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


def sync_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """Rewrite, in every ``0*.ipynb`` of ``folder``, cell 2 as :data:`BOOTSTRAP` and the Colab badge under
    the title of cell 0; nothing else changes. Run it after changing :data:`~utils.runtime.REPO_URL`.

    Returns:
        The notebooks that changed.
    """
    changed = []
    for path in sorted(folder.glob("0*.ipynb")):
        before = path.read_text()
        notebook = nbformat.reads(before, as_version=4)
        title, *rest = notebook.cells[0].source.split("\n")
        body = "\n".join(rest).lstrip("\n")
        if body.startswith("[![Open In Colab]"):
            body = body.split("\n", 1)[1].lstrip("\n") if "\n" in body else ""
        notebook.cells[0].source = f"{title}\n\n{colab_badge(path.name)}\n\n{body}".rstrip("\n")
        notebook.cells[2].source = BOOTSTRAP
        after = nbformat.writes(notebook) + "\n"
        if after != before:
            path.write_text(after)
            changed.append(path)
    return changed


if __name__ == "__main__":
    for changed_path in sync_notebooks():
        print(f"updated {changed_path}")
