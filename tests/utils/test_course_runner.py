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
    for name, value in {"ZSL_PROFILE": "smoke", "ZSL_RESULTS_DIR": str(tmp_path / "results")}.items():
        monkeypatch.setenv(name, value)  # the runner sets them for its kernels: restored after the test
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


@pytest.mark.slow
def test_a_two_seed_sweep_aggregates_each_seeds_own_figures(tmp_path, monkeypatch):
    """``--seeds 0 1`` of notebook 05 in smoke: each seed runs in its own folders, records its own seed, and the
    sweep's table holds each seed's value with their mean, sd and min–max."""
    import json
    import statistics

    monkeypatch.setenv("ZSL_OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("ZSL_DEVICE", "cpu")
    # The runner sets these for its kernels; set here first, so that they are restored after the test.
    for name, value in {"ZSL_PROFILE": "smoke", "ZSL_SEED": "0", "ZSL_RESULTS_DIR": str(tmp_path / "results")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ZSL_BUDGET", raising=False)
    out = tmp_path / "sweep"
    assert course.main(["05_attribute_zsl_remse", "--profile", "smoke", "--seeds", "0", "1", "--out", str(out)]) == 0
    per_seed = {}
    for seed in (0, 1):
        [entry] = [json.loads(path.read_text()) for path in (out / f"seed{seed}" / "results").glob("*.json")]
        assert entry["seed"] == seed
        per_seed[seed] = entry["figures"]
    assert (tmp_path / "outputs" / "attribute_zsl" / "smoke").is_dir()
    assert (tmp_path / "outputs" / "attribute_zsl" / "smoke-seed1").is_dir()
    numeric = [name for name, value in per_seed[0].items() if isinstance(value, (int, float))]
    assert any(per_seed[0][name] != per_seed[1][name] for name in numeric), "the seed did not reach the notebook"
    table = (out / "results.md").read_text()
    assert "| 05_attribute_zsl_remse | ok in" in table and "--seeds 0 1" in table
    rows = {line.split(" | ")[0].lstrip("| "): line.strip("| ").split(" | ") for line in table.splitlines()
            if line.startswith("| ") and line.count(" | ") == 5}
    for name in numeric:
        values = [per_seed[0][name], per_seed[1][name]]
        _, mean, sd, span, first, second = rows[name]
        assert (float(first), float(second)) == pytest.approx(values, rel=1e-3, abs=1e-9)
        assert float(mean) == pytest.approx(statistics.fmean(values), rel=1e-3, abs=1e-9)
        assert float(sd) == pytest.approx(statistics.stdev(values), rel=1e-3, abs=1e-9)
        assert span == f"{min(values):.4g}–{max(values):.4g}"


def test_a_seed_has_folders_of_its_own_and_seed_0_keeps_the_old_ones(tmp_path, monkeypatch):
    from utils.config import AttributeZslConfig, ConfigError, current_seed, run_label

    assert run_label("sample") == run_label("sample", None, 0) == "sample"
    assert run_label("full", "tiny", 2) == "full-tiny-seed2"
    monkeypatch.setenv("ZSL_SEED", "3")
    config = AttributeZslConfig.for_profile("smoke", outputs=tmp_path)
    assert config.seed == 3 and config.run_dir == tmp_path / "attribute_zsl" / "smoke-seed3"
    config.seed = 0  # a settings cell: the folders follow
    assert config.run_dir == tmp_path / "attribute_zsl" / "smoke"
    monkeypatch.setenv("ZSL_SEED", "two")
    with pytest.raises(ConfigError, match="ZSL_SEED='two'"):
        current_seed()


@pytest.mark.slow
def test_kernels_talk_over_private_ipc_sockets_without_the_tcp_warning(tmp_path, monkeypatch, capfd):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    transport = "import json, ipykernel.connect as c; print(json.load(open(c.get_connection_file()))['transport'])"
    _notebook(notebooks / "00_transport.ipynb", "PROFILE = None", transport)
    monkeypatch.setattr(course, "find_notebooks", lambda names=None: sorted(notebooks.glob("*.ipynb")))
    # The runner sets these for its kernels; set here first, so that they are restored after the test.
    for name, value in {"ZSL_OUTPUTS_DIR": str(tmp_path / "outputs"), "ZSL_PROFILE": "smoke",
                        "ZSL_RESULTS_DIR": str(tmp_path / "results")}.items():
        monkeypatch.setenv(name, value)
    assert course.main(["--profile", "smoke", "--out", str(tmp_path / "course")]) == 0
    executed = nbformat.read(tmp_path / "course" / "00_transport.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == ("ipc" if course.os.name == "posix" else "tcp")
    assert "without encryption" not in capfd.readouterr().err
