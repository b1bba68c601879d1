"""The notebooks' first cell and ``utils.runtime.bootstrap``, on Colab simulated without Colab.

Colab is three things here: an importable ``google.colab`` (a fake package on ``PYTHONPATH`` of a
subprocess, imported before the cell as Colab's kernel does), a git repository to clone (a local one built
from a copy of the *working tree*, so the code under test is what is on disk, not ``HEAD``), and pip
resolving the real ``requirements.txt`` with ``--dry-run --report`` (the venv's torch stands for the torch
Colab preinstalls). The cell's source is read from the notebook files and run in IPython's
``InteractiveShell``, ``!git clone`` included.
"""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import types
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tools.notebook_builder import BOOTSTRAP
from utils.runtime import (
    COLAB_CLONE_DIR,
    REPO_URL,
    REQUIREMENTS_MARKER,
    bootstrap,
    clone_repository,
    install_requirements,
    installed_pins,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"

# Runs the cell ``runs`` times in one InteractiveShell (before a rerun, each of ``set_aside`` is renamed
# ``<name>.before``) and prints one JSON line per run: working directory, ROOT, where utils came from, which
# files exist.
DRIVER = r"""
import json, os, sys
from pathlib import Path

spec = json.loads(sys.argv[1])
if spec["colab"]:
    import google.colab  # Colab's kernel has imported it before the first cell runs
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance(colors="NoColor")
for run in range(spec["runs"]):
    if run:
        for path in map(Path, spec["set_aside"]):
            if path.exists():
                path.rename(path.with_name(path.name + ".before"))
    if not shell.run_cell(spec["source"]).success:
        sys.exit(3)
    import utils.config, utils.runtime
    state = {
        "cwd": os.getcwd(),
        "root": str(shell.user_ns["ROOT"]),
        "utils_config": utils.config.__file__,
        "in_colab": utils.runtime.in_colab(),
        "exists": {path: Path(path).exists() for path in spec["watch"]},
    }
    print("STATE " + json.dumps(state), flush=True)
"""


def colab_url(notebook: str) -> str:
    repository = REPO_URL.removeprefix("https://github.com/").removesuffix(".git")
    return f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{notebook}"


def first_cell_source() -> str:
    return nbformat.read(NOTEBOOKS[0], as_version=4).cells[2].source


def run_cell(
    source: str, cwd: Path, *, colab_package: Path | None, runs: int = 1, watch=(), set_aside=(), env=None
):
    """Run ``source`` in a fresh interpreter; returns (the states printed after each run, the output)."""
    spec = {
        "source": source,
        "colab": colab_package is not None,
        "runs": runs,
        "watch": [str(path) for path in watch],
        "set_aside": [str(path) for path in set_aside],
    }
    environment = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "ZSL_PIP_OPTIONS")
    }
    if colab_package is not None:
        environment["PYTHONPATH"] = str(colab_package)
    environment.update(env or {})
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(spec)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    states = [json.loads(line[6:]) for line in result.stdout.splitlines() if line.startswith("STATE ")]
    return result.returncode, states, output


def registry_unreachable() -> str | None:
    """Why pip's package index cannot be reached, or ``None`` when it can."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/")
    try:
        urllib.request.urlopen(index.rstrip("/") + "/pip/", timeout=10).close()
    except OSError as error:
        return f"package index {index} unreachable ({error})"
    return None


@pytest.fixture(scope="module")
def fake_colab(tmp_path_factory) -> Path:
    """A folder for ``PYTHONPATH`` holding ``google/colab/__init__.py`` (``google`` stays a namespace)."""
    folder = tmp_path_factory.mktemp("fake_colab")
    (folder / "google" / "colab").mkdir(parents=True)
    (folder / "google" / "colab" / "__init__.py").write_text('"""Stands for Colab in tests."""\n')
    return folder


@pytest.fixture(scope="module")
def working_tree_remote(tmp_path_factory) -> str:
    """A ``file://`` URL of a git repository holding one commit of the working tree (tracked files and
    untracked ones that are not ignored), standing for the GitHub repository."""
    remote = tmp_path_factory.mktemp("remote") / "zero-shot-vision-lab"
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():  # a file deleted but not yet staged is listed too
            (remote / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, remote / name)
    git = [
        "git",
        "-c",
        "user.name=zsl-test",
        "-c",
        "user.email=zsl-test@example.invalid",
        "-c",
        "init.defaultBranch=main",
    ]
    subprocess.run([*git, "init", "-q"], cwd=remote, check=True)
    subprocess.run([*git, "add", "-A"], cwd=remote, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "working tree"], cwd=remote, check=True)
    return remote.as_uri()


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch) -> Path:
    """``zsl-fake-torch 2.5.1+cu121`` "installed" (a dist-info on sys.path and PYTHONPATH): Colab's torch."""
    site = tmp_path / "site"
    dist_info = site / "zsl_fake_torch-2.5.1+cu121.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: zsl-fake-torch\nVersion: 2.5.1+cu121\n")
    (dist_info / "RECORD").write_text("")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.delenv("ZSL_PIP_OPTIONS", raising=False)
    return site


# --- the notebooks' first cell and badges ---------------------------------------------------------------


def test_every_notebook_first_code_cell_is_the_bootstrap():
    assert len(NOTEBOOKS) == 9
    assert REPO_URL in BOOTSTRAP and COLAB_CLONE_DIR in BOOTSTRAP
    for path in NOTEBOOKS:
        cell = nbformat.read(path, as_version=4).cells[2]
        assert cell.cell_type == "code" and cell.outputs == [], path.name
        assert cell.source == BOOTSTRAP, f"{path.name}: cell 2 differs; run python -m tools.notebook_builder"


def test_every_notebook_badge_opens_its_own_file():
    for path in NOTEBOOKS:
        title, *rest = nbformat.read(path, as_version=4).cells[0].source.split("\n")
        assert re.fullmatch(rf"# {path.name[:2]} · .+", title), title
        first_line = next(line for line in rest if line.strip())
        assert first_line == f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(path.name)})", path.name


def test_readme_course_map_has_one_badge_per_notebook():
    readme = (REPO_ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert readme.count(f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(path.name)})") == 1, path.name
    linked = set(
        re.findall(r"colab\.research\.google\.com/github/[^)\s]+/notebooks/([^)\s]+\.ipynb)", readme)
    )
    assert linked == {path.name for path in NOTEBOOKS}


# --- the first cell, run -------------------------------------------------------------------------------


def test_first_cell_locally_finds_the_root_from_notebooks_and_from_the_root():
    marker = REPO_ROOT / REQUIREMENTS_MARKER
    marker_before = marker.exists()
    returncode, states, output = run_cell(
        first_cell_source(), REPO_ROOT / "notebooks", colab_package=None, runs=2
    )
    assert returncode == 0, output
    assert len(states) == 2
    for state in states:  # the first run starts in notebooks/, the rerun in the root it moved to
        assert Path(state["cwd"]) == REPO_ROOT and Path(state["root"]) == REPO_ROOT
        assert Path(state["utils_config"]) == REPO_ROOT / "utils" / "config.py"
        assert state["in_colab"] is False
    assert marker.exists() == marker_before, "bootstrap installed something outside Colab"


@pytest.mark.slow
def test_first_cell_on_colab_clones_installs_once_and_imports_from_the_clone(
    tmp_path, fake_colab, working_tree_remote
):
    source = first_cell_source()
    assert source.count(REPO_URL) == 1 and source.count(COLAB_CLONE_DIR) == 1
    clone = tmp_path / "content" / "zero-shot-vision-lab"
    clone.parent.mkdir()
    source = source.replace(REPO_URL, working_tree_remote).replace(COLAB_CLONE_DIR, str(clone))
    report = tmp_path / "report.json"
    marker = clone / REQUIREMENTS_MARKER
    returncode, states, output = run_cell(
        source,
        clone.parent,  # Colab starts in /content
        colab_package=fake_colab,
        runs=2,
        watch=[marker, report],
        set_aside=[report],
        env={"ZSL_PIP_OPTIONS": f"--dry-run --report {report}"},
    )
    if returncode != 0 and "No matching distribution" in output and (reason := registry_unreachable()):
        pytest.skip(reason)  # pip needed the index for a requirement this venv lacks
    assert returncode == 0, output
    assert "Invalid requirement" not in output, output
    first, rerun = states
    for state in states:
        assert state["in_colab"] is True
        assert Path(state["cwd"]) == clone.resolve() and Path(state["root"]) == clone.resolve()
        assert Path(state["utils_config"]) == clone.resolve() / "utils" / "config.py"
        assert state["exists"][str(marker)] is True
    assert first["exists"][str(report)] is True
    assert rerun["exists"][str(report)] is False, "the rerun ran pip again despite the marker"
    assert (clone / "requirements.txt").read_bytes() == (REPO_ROOT / "requirements.txt").read_bytes()
    assert "--dry-run" in marker.read_text()
    first_report = json.loads(report.with_name(report.name + ".before").read_text())
    planned = {item["metadata"]["name"].lower() for item in first_report["install"]}
    assert not planned & {"torch", "torchvision"}, (
        f"pip would replace the preinstalled torch: {sorted(planned)}"
    )


@pytest.mark.slow
def test_bootstrap_on_colab_clones_from_its_parameters_and_joins_both_pip_options(
    tmp_path, working_tree_remote, monkeypatch
):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "report.json"
    monkeypatch.setenv("ZSL_PIP_OPTIONS", f"--report '{report}'")
    clone = tmp_path / "clone"
    root = bootstrap(repo_url=working_tree_remote, clone_dir=clone, pip_options="--dry-run")
    assert root == clone.resolve() == Path.cwd() and sys.path[0] == str(root)
    assert (clone / "utils" / "runtime.py").read_bytes() == (REPO_ROOT / "utils" / "runtime.py").read_bytes()
    assert f"pip options: --dry-run --report {report}\n" in (clone / REQUIREMENTS_MARKER).read_text()
    assert report.is_file()


# --- the pieces ----------------------------------------------------------------------------------------


def test_installed_pins_are_the_installed_versions_verbatim():
    assert installed_pins(("torch", "torchvision", "zsl-not-installed-anywhere")) == [
        f"torch=={importlib.metadata.version('torch')}",
        f"torchvision=={importlib.metadata.version('torchvision')}",
    ]


def test_a_failed_clone_says_why_in_one_line(tmp_path):
    with pytest.raises(RuntimeError) as failure:
        clone_repository((tmp_path / "no-such-repository").as_uri(), tmp_path / "clone")
    message = str(failure.value)
    assert (
        "\n" not in message and message.startswith("git could not clone") and "no-such-repository" in message
    )


@pytest.mark.slow
def test_pip_parses_comments_blank_lines_includes_and_options_and_keeps_a_local_version_build(
    tmp_path, fake_distribution
):
    (tmp_path / "base.txt").write_text("numpy>=1.0  # inline comment in an included file\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# a comment line\n\n"
        "--prefer-binary\n"
        "-r base.txt\n"
        "zsl-fake-torch>=2.2,<3  # optional: an inline comment, as on ipywidgets' line\n"
        "   \n"
    )
    report = tmp_path / "report.json"
    pins = install_requirements(
        requirements,
        keep=("zsl-fake-torch",),
        pip_options=f"--dry-run --no-index --report {report}",
    )
    # A constraint with Colab's local label (+cu121) is satisfied by exactly that installed build.
    assert pins == ["zsl-fake-torch==2.5.1+cu121"]
    assert json.loads(report.read_text())["install"] == []


@pytest.mark.slow
def test_pip_failures_are_one_line_and_a_kept_build_is_never_replaced(tmp_path, fake_distribution):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("zsl-fake-torch>=3\n")
    with pytest.raises(RuntimeError) as conflict:
        install_requirements(requirements, keep=("zsl-fake-torch",), pip_options=["--dry-run", "--no-index"])
    requirements.write_text("not a requirement ===\n")
    with pytest.raises(RuntimeError) as invalid:
        install_requirements(requirements, keep=(), pip_options=["--dry-run", "--no-index"])
    for failure in (conflict, invalid):
        message = str(failure.value)
        assert "\n" not in message and message.startswith(f"pip could not install {requirements}: ERROR:")
    assert "Invalid requirement" in str(invalid.value)
