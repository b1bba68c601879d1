"""utils.stages.train: the command line that trains a notebook's models. Notebooks 01, 02 and 05 in one process
(trains, then a second call loads: settings unchanged); notebook 05 in two gloo processes through torchrun (rank 0
alone writes, the same files as one process). The 2-process run of the training loop itself: tests/utils/training/
test_distributed.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.training.test_distributed import free_port
from utils.stages.train import NOTEBOOKS, main

ROOT = Path(__file__).resolve().parents[3]


def test_a_notebook_without_a_trainer_is_one_line_and_exit_2(capsys):
    assert main(["03"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "invalid choice: '03'" in error[0] and "06" in error[0]


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_each_notebook_has_a_config_and_a_trainer(notebook):
    config_class, train = NOTEBOOKS[notebook]
    assert config_class.for_profile("smoke").profile == "smoke" and callable(train)


def decisions(output: str) -> dict[str, str]:
    """Each checkpoint's printed decision (``name: training: …`` / ``name: loaded: settings unchanged …``) → ``training``
    or ``loaded``."""
    lines = [line.split(": ", 2) for line in output.splitlines()
             if ": training: " in line or ": loaded: settings unchanged" in line]
    return {name: action for name, action, _ in lines}


@pytest.mark.slow
@pytest.mark.parametrize(("notebook", "runs"), [
    ("01", {"stage1_squeezenet1_1", "stage1_resnet18"}),
    ("02", {"stage1_resnet18", "devise", "validation_stage1_resnet18", "validation_devise", "oracle_resnet18"}),
    ("05", {"attribute_network", *(f"{loss}{part}" for loss in ("mse", "remse_in_batch", "remse_cross_batch", "bce")
                                   for part in ("", "_validation"))}),
    ("08", {"clip", "validation_clip"}),
])
def test_one_process_trains_then_a_second_call_loads(notebook, runs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZSL_OUTPUTS_DIR", str(tmp_path))
    monkeypatch.setenv("ZSL_DEVICE", "cpu")
    assert main([notebook, "--profile", "smoke"]) == 0
    assert decisions(capsys.readouterr().out) == dict.fromkeys(runs, "training")
    assert main([notebook, "--profile", "smoke"]) == 0
    assert decisions(capsys.readouterr().out) == dict.fromkeys(runs, "loaded")


def run_launcher(outputs: Path, processes: int) -> str:
    """``python -m utils.stages.train 05 --profile smoke`` (under torchrun for several processes), writing into
    ``outputs``; its standard output."""
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_port", str(free_port())]
    command = [sys.executable, *(launcher if processes > 1 else []), "-m", "utils.stages.train", "05", "--profile", "smoke"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "ZSL_OUTPUTS_DIR": str(outputs),
                   "ZSL_DEVICE": "cpu"}
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_two_processes_train_notebook_05_into_the_files_one_process_writes(tmp_path):
    """torchrun, 2 gloo ranks: every run trains once (rank 0 prints), and the outputs hold exactly the files of a
    one-process run, each checkpoint recording the same settings (rank 1 writes nothing beside rank 0's files).

    The exported features differ from one process's by float32 rounding (the attribute network's gradients are
    averaged over two shares; tests/utils/training/test_distributed.py bounds that), so the regressors record another
    ``features_sha256``; every other setting is the same.
    """
    one_output = run_launcher(tmp_path / "one", processes=1)
    two_output = run_launcher(tmp_path / "two", processes=2)
    assert two_output.count("notebook 05") == 1 and decisions(two_output) == decisions(one_output)
    assert set(decisions(two_output).values()) == {"training"}
    files = {run: sorted(path.relative_to(tmp_path / run) for path in (tmp_path / run).rglob("*") if path.is_file())
             for run in ("one", "two")}
    assert files["two"] == files["one"] and any(path.suffix == ".pt" for path in files["one"])
    for path in files["one"]:
        if path.suffix == ".json":
            one, two = (json.loads((tmp_path / run / path).read_text()) for run in ("one", "two"))
            for record in (one, two):
                record["settings"].pop("features_sha256", None)
            assert two["settings"] == one["settings"], path
