"""The library's import rules, read from the source: notebooks → utils → models, and stage families apart.

A stage family is the code of one notebook (or of 02–04, or of 06): it may use its own helper modules and every
shared package, never another family, so a change for one notebook cannot break another's.
"""

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGE_FAMILIES = {
    "classifier": "01",
    "devise": "02-04", "embeddings": "02-04",
    "attribute_zsl": "05",
    "siamese": "06", "episodes": "06", "digits": "06",
    "sdl": "07",
}


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


def test_every_stage_module_belongs_to_a_family():
    modules = {path.stem for path in python_files("utils/stages")} - {"__init__"}
    assert modules == set(STAGE_FAMILIES), "add the new stage module to STAGE_FAMILIES (and the README layout)"


@pytest.mark.parametrize("path", python_files("utils/stages"), ids=lambda path: path.stem)
def test_a_stage_imports_only_its_own_family(path):
    if path.stem == "__init__":
        return
    family = STAGE_FAMILIES[path.stem]
    for name in imported_modules(path):
        if name.startswith("utils.stages."):
            imported = name.split(".")[2]
            assert STAGE_FAMILIES.get(imported) == family, f"{path.name} ({family}) imports {name}"


@pytest.mark.parametrize("folder", ["models", "utils"])
def test_imports_go_one_way(folder):
    for path in python_files(folder):
        names = imported_modules(path)
        if folder == "models":
            assert not {name for name in names if name.split(".")[0] in ("utils", "notebooks", "tests")}, path
        elif not path.is_relative_to(REPO_ROOT / "utils" / "stages"):
            assert not {name for name in names if name.startswith("utils.stages")}, f"{path} imports a stage"
            assert not {name for name in names if name.split(".")[0] in ("notebooks", "tests")}, path
