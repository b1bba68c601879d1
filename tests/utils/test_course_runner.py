"""The course runner executes notebooks, collects their figures and names the failing cell."""

import nbformat
import pytest

from utils import course
from utils.results import load_results, record_results


def _notebook(path, *sources):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# test")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.cells[1].metadata["tags"] = ["parameters"]
    path.write_text(nbformat.writes(notebook))
    return path


def test_record_and_load_results(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_RESULTS_DIR", str(tmp_path))
    record_results("01_x", {"accuracy": __import__("numpy").float32(0.123456)})
    [entry] = load_results()
    assert entry["notebook"] == "01_x" and entry["figures"] == {"accuracy": 0.1235}


@pytest.mark.slow
def test_runner_reports_figures_and_the_failing_cell(tmp_path, monkeypatch, repo_root):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    record = (
        f"import sys; sys.path.insert(0, {str(repo_root)!r})\n"
        "from utils.results import record_results\n"
        "import os\n"
        "record_results('00_good', {'answer': 42, 'profile seen': os.environ['ZSL_PROFILE']})"
    )
    _notebook(notebooks / "00_good.ipynb", "PROFILE = None", record)
    _notebook(notebooks / "01_bad.ipynb", "PROFILE = None", "x = 1", "raise ValueError('broken on purpose')")
    monkeypatch.setattr(course, "NOTEBOOKS_DIR", notebooks)
    monkeypatch.setattr(course, "find_notebooks", lambda names=None: sorted(notebooks.glob("*.ipynb")))
    out = tmp_path / "course"
    exit_code = course.main(["--profile", "smoke", "--out", str(out)])
    assert exit_code == 1
    results = (out / "results.md").read_text()
    assert "| 00_good | ok |" in results
    assert "| answer | 42 |" in results and "| profile seen | smoke |" in results
    # Cell 5 counts the markdown cell, the parameters cell, the cell papermill injects, and "x = 1".
    assert "01_bad | FAILED: cell 5" in results and "broken on purpose" in results
    assert (out / "00_good.ipynb").exists()


def test_unknown_notebook_is_a_clear_error(capsys, tmp_path):
    assert course.main(["no_such_notebook", "--out", str(tmp_path)]) == 2
    assert "no notebook 'no_such_notebook'" in capsys.readouterr().err
