"""The library's import rules, read from the source: notebooks → utils → models, stages follow the course, the
ground floor at the bottom, and no import in a circle.

Each stage module belongs to the notebook that teaches it. A stage may import an *earlier* stage's public functions
(DeViSE, notebook 02, builds on the classifier of notebook 01) or one of its own notebook, never a later one, so a
change for a later notebook cannot break an earlier one.
"""

import ast
import functools
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
    "clip": 8,
    "train": 99,  # the command line that trains any notebook's models (python -m utils.stages.train): after them all
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
    assert modules == set(STAGE_NOTEBOOKS), "add the new stage module to STAGE_NOTEBOOKS (and docs/layout.md)"


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


# ------------------------------------------------------------------------------------------- the import graph
#
# How packages count. Importing ``a.b.c`` first runs ``a/__init__.py`` and ``a/b/__init__.py``, so an import
# also reaches the packages above its target. Those the importer itself sits in are left out: Python has already
# started them before the importer runs, so they are no dependency the import adds; a package's ``__init__.py``
# importing its own submodules, and those submodules importing each other, are no cycle by themselves. An import
# that names a package outright (``from utils.search import build_index`` inside ``utils.search.exact``) does count:
# it needs that ``__init__.py`` to have got there, which is a real circle. On top of the module graph, each
# package of utils/ and models/ is one layer: :func:`test_packages_import_each_other_one_way` folds its modules
# into one node, so an arrow from a package back up to one that imports it is a cycle too.

LIBRARY_ROOTS = ("utils", "models")
GROUND_FLOOR = {
    "utils.errors": set(),
    "utils.config": {"utils.errors"},
    "utils.fingerprints": {"utils.errors", "utils.config"},
    "utils.metrics": {"utils.errors", "utils.config"},
    "utils.fileops": {"utils.errors", "utils.config"},
}
"""The modules at the bottom of utils/ -> the modules of utils/ each may import (models/, the layer below, is free)."""


@functools.cache
def library_modules() -> dict[str, Path]:
    """Every module of utils/ and models/ by its dotted name; a package by its own name (its ``__init__.py``)."""
    modules = {}
    for root in LIBRARY_ROOTS:
        for path in python_files(root):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _packages_above(name: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b"]``."""
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


@functools.cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the library modules it imports, at the top or inside a function.

    ``from package import name`` leads to the submodule ``package.name`` when that is a module, else to
    ``package``; an import also leads to the packages above its target, except the importer's own (see above).
    """
    modules = library_modules()

    def nearest_module(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        own_package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(nearest_module(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package_parts = own_package.split(".")[: len(own_package.split(".")) - node.level + 1]
                    base = ".".join(package_parts + ([base] if base else []))
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.add(submodule if submodule in modules else nearest_module(base))
        targets.discard(None)
        own_packages = {module, *_packages_above(module)}
        implied = {package for target in targets for package in _packages_above(target) if package in modules}
        graph[module] = frozenset((targets | (implied - own_packages)) - {module})
    return graph


def find_cycle(graph: dict[str, set[str] | frozenset[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]`` (depth-first, in sorted order), or None if there is none."""
    finished, path, on_path = set(), [], set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return path[path.index(target):] + [target]
            if target not in finished and (cycle := visit(target)):
                return cycle
        path.pop()
        on_path.discard(node)
        finished.add(node)
        return None

    for node in sorted(graph):
        if node not in finished and (cycle := visit(node)):
            return cycle
    return None


def library_package(module: str) -> str:
    """The layer a module belongs to: ``utils.search.base`` -> ``utils.search``; ``utils.config`` stays itself."""
    parts = module.split(".")
    is_package = library_modules()[module].name == "__init__.py"
    return module if len(parts) == 1 or (len(parts) == 2 and not is_package) else ".".join(parts[:2])


def test_the_module_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_packages_import_each_other_one_way():
    module_graph = import_graph()
    package_graph, example_import = {}, {}
    for module, targets in module_graph.items():
        for target in targets:
            edge = (library_package(module), library_package(target))
            if edge[0] != edge[1]:
                package_graph.setdefault(edge[0], set()).add(edge[1])
                example_import.setdefault(edge, f"{module} imports {target}")
    cycle = find_cycle(package_graph)
    assert cycle is None, "packages import each other in a circle: " + " -> ".join(cycle) + " (" + "; ".join(
        example_import[edge] for edge in zip(cycle, cycle[1:], strict=False)
    ) + ")"


@pytest.mark.parametrize("module", sorted(GROUND_FLOOR))
def test_the_ground_floor_imports_nothing_above_it(module):
    # models/ is the layer below utils/ (it imports nothing of utils/), so a ground-floor module may use it.
    above = {name for name in import_graph()[module] if name.split(".")[0] == "utils"} - GROUND_FLOOR[module]
    assert not above, f"{module} is on the ground floor but imports {sorted(above)}"


def test_every_project_error_derives_from_the_root():
    bases_by_error = {}
    for path in library_modules().values():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                assert node.name not in bases_by_error, f"two library errors named {node.name}"
                # A bare name is a library class or a built-in; ``shutil.SameFileError`` is the standard library's.
                bases_by_error[node.name] = {base.id for base in node.bases if isinstance(base, ast.Name)}

    def rooted(error: str) -> bool:
        return error == "ProjectError" or any(rooted(base) for base in bases_by_error[error] if base in bases_by_error)

    unrooted = sorted(error for error in bases_by_error if not rooted(error))
    assert not unrooted, f"derive these from utils.errors.ProjectError (or one of its subclasses): {unrooted}"
