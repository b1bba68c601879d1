"""utils.training.distributed: two CPU processes (gloo) launched by torchrun train notebook 05's feature regressor
through the one loop and the one checkpoint policy; their replicas agree, they match one process, and rank 0 alone
writes."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.attribute_head import AttributeRegressor
from tests.utils.training._ddp_worker import N_ATTRIBUTES, WIDTH
from utils.config import AttributeZslConfig
from utils.training import distributed
from utils.training.checkpoints import fit_or_load

WORKER = Path(__file__).with_name("_ddp_worker.py")
ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_worker(run_folder: Path, out_folder: Path, processes: int) -> None:
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_port", str(free_port())]
    command = [sys.executable, *(launcher if processes > 1 else []), str(WORKER), str(run_folder), str(out_folder)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_two_processes_train_one_model_as_one_process_would_and_rank_0_alone_writes(tmp_path, capsys):
    """2 ranks (gloo), a global batch of 16 (shares 8 + 8, the last batch of 5 shared 2 + 3), 3 epochs of AdamW.

    The replicas are equal bit for bit (DDP averages the gradients; every rank takes the same step). Against one
    process on the same global batches the weights differ only by float32 rounding: each step's gradient is two
    share means weighted and averaged instead of one mean, a few ulps apart; 21 Adam steps keep that below 1e-6
    (measured: 6e-8 on weights of magnitude up to 0.4), so max |Δ| ≤ 1e-6 absolute is asserted. Then one process
    (a notebook after ``torchrun … -m utils.stages.train``) loads the checkpoint: settings unchanged.
    """
    run_worker(tmp_path / "one" / "run", tmp_path / "one" / "out", processes=1)
    run_worker(tmp_path / "two" / "run", tmp_path / "two" / "out", processes=2)
    single = torch.load(tmp_path / "one" / "out" / "rank0.pt", weights_only=True)
    rank0, rank1 = (torch.load(tmp_path / "two" / "out" / f"rank{index}.pt", weights_only=True) for index in (0, 1))
    saved = torch.load(tmp_path / "two" / "run" / "regressor.pt", weights_only=True)
    assert all(torch.equal(rank0[name], rank1[name]) and torch.equal(rank0[name], saved[name]) for name in rank0)
    for name in single:
        torch.testing.assert_close(rank0[name], single[name], rtol=0, atol=1e-6)
    assert not all(torch.equal(rank0[name], single[name]) for name in single)  # two processes did run
    writes = [json.loads((tmp_path / "two" / "out" / f"rank{index}_writes.json").read_text()) for index in (0, 1)]
    assert writes[1] == []
    assert {Path(path).name for path in writes[0]} >= {"regressor.pt", "regressor.json", "regressor.csv"}
    assert sorted(path.name for path in (tmp_path / "two" / "run").iterdir()) == [
        "regressor.csv", "regressor.json", "regressor.pt"]
    one_log, two_log = ((tmp_path / run / "run" / "regressor.csv").read_text().splitlines() for run in ("one", "two"))
    assert [float(line.split(",")[1]) for line in two_log[1:]] == pytest.approx(
        [float(line.split(",")[1]) for line in one_log[1:]], rel=1e-6)

    model = AttributeRegressor(WIDTH, N_ATTRIBUTES, hidden=8, dropout=0.0)

    def must_not_train() -> None:
        raise AssertionError("trained again")

    decision = fit_or_load(model, tmp_path / "two" / "run" / "regressor.pt", AttributeZslConfig.for_profile("smoke"),
                           "feature_regressor", must_not_train, inputs={"test": "ddp"})
    assert not decision.trained and "settings unchanged" in capsys.readouterr().out
    assert all(torch.equal(tensor, saved[name]) for name, tensor in model.state_dict().items())


def test_in_one_process_everything_is_the_identity():
    """No process group: one rank, the main one; a share is the whole batch; sums and broadcasts return their input;
    the main process's result is the function's; the barriers return."""
    assert (distributed.world_size(), distributed.rank(), distributed.is_main_process()) == (1, 0, True)
    assert distributed.rank_share(5) == slice(0, 5)
    assert distributed.sum_over_ranks([1.5, 2.0]) == [1.5, 2.0]
    assert distributed.broadcast_value(0.25) == 0.25
    assert distributed.main_process_result(lambda value: value + 1, 1) == 2
    with distributed.main_process_first():
        distributed.barrier()
    assert distributed.init_from_environment("cpu") == torch.device("cpu")
