"""The library's import rules, read from the source: notebooks → utils → models, and stages follow the course.

Each stage module belongs to the notebook that teaches it. A stage may import an *earlier* stage's public functions
(DeViSE, notebook 02, builds on the classifier of notebook 01) or one of its own notebook, never a later one, so a
change for a later notebook cannot break an earlier one.
"""

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGE_NOTEBOOKS = {
    "classifier": 1,
    "devise": 2,
    "embeddings": 3,
    "attribute_zsl": 5,
    "siamese": 6, "episodes": 6, "digits": 6,
    "sdl": 7,
}
"""The notebook of each module of ``utils/stages``."""


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (absolute names)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((REPO_ROOT / folder).rglob("*.py"))


def later_stage_imports(path: Path) -> list[str]:
    """The imports in stage module ``path`` of a stage taught after its own notebook."""
    notebook = STAGE_NOTEBOOKS[path.stem]
    return sorted(
        name for name in imported_modules(path)
        if name.startswith("utils.stages.") and STAGE_NOTEBOOKS[name.split(".")[2]] > notebook
    )


def test_every_stage_module_has_its_notebook():
    modules = {path.stem for path in python_files("utils/stages")} - {"__init__"}
    assert modules == set(STAGE_NOTEBOOKS), "add the new stage module to STAGE_NOTEBOOKS (and the README layout)"


@pytest.mark.parametrize("path", python_files("utils/stages"), ids=lambda path: path.stem)
def test_a_stage_imports_no_later_stage(path):
    if path.stem == "__init__":
        return
    assert later_stage_imports(path) == [], f"{path.name} (notebook {STAGE_NOTEBOOKS[path.stem]:02d}) imports a later stage"


def test_the_rule_catches_a_later_stage_and_lets_an_earlier_one_through(tmp_path):
    classifier = tmp_path / "classifier.py"
    classifier.write_text("def fit():\n    from utils.stages.devise import train_devise\n")
    assert later_stage_imports(classifier) == ["utils.stages.devise", "utils.stages.devise.train_devise"]
    devise = tmp_path / "devise.py"
    devise.write_text("from utils.stages import classifier, episodes\nfrom utils.stages.classifier import fit_stage1\n")
    assert later_stage_imports(devise) == ["utils.stages.episodes"]


@pytest.mark.parametrize("folder", ["models", "utils"])
def test_imports_go_one_way(folder):
    for path in python_files(folder):
        names = imported_modules(path)
        if folder == "models":
            assert not {name for name in names if name.split(".")[0] in ("utils", "notebooks", "tests")}, path
        elif not path.is_relative_to(REPO_ROOT / "utils" / "stages"):
            assert not {name for name in names if name.startswith("utils.stages")}, f"{path} imports a stage"
            assert not {name for name in names if name.split(".")[0] in ("notebooks", "tests")}, path
