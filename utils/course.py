"""Run the course: execute every notebook headless and collect the figures they report.

``python -m utils.course [--profile sample] [--budget tiny] [--seeds 0 1 2] [--out DIR] [NOTEBOOK ...]``
executes each notebook of ``notebooks/`` (or the ones named) with papermill, in the given profile, into
``<out>/<name>.ipynb``, and writes ``<out>/results.md`` with each notebook's status, wall time
and the figures it recorded through :func:`utils.results.record_results`. A failing notebook is
reported by name with its failing cell, and the others still run; the exit code is 1 if any failed.

``--budget tiny`` (``utils.config.BUDGETS``) shrinks every notebook to one epoch, a few images per class
and small images while the data path stays the profile's own: ``python -m utils.course --profile full
--budget tiny`` rehearses the whole real-data pipeline on a CPU in minutes, before anyone rents a GPU.
``--budget tiny-gpu`` shrinks the same but keeps the profile's image size, pretrained weights and mixed precision:
the rehearsal on the GPU itself (``benchmarks/gpu_check.py`` runs it).

``--seeds 0 1 2`` runs the course once per seed (``config.seed`` through ``$ZSL_SEED``; each seed other than 0 trains
in folders of its own, ``<kind>/sample-seed1``, and seed 0 reuses ``make course``'s) and writes one ``results.md``
with every figure's mean, standard deviation and min–max over the seeds beside each seed's value
(:func:`seed_sweep_markdown`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.cli import ArgumentParser, cli_entry
from utils.config import (
    BUDGETS,
    PROFILES,
    REPO_ROOT,
    current_budget,
    current_profile,
    current_seed,
    outputs_dir,
    run_label,
)
from utils.results import load_results

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    name: str
    seconds: float
    ok: bool
    failure: str = ""
    figures: dict = field(default_factory=dict)


def find_notebooks(names: list[str] | None = None, folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks of ``folder`` in order, or those named (with or without ``.ipynb``).

    Raises:
        FileNotFoundError: naming a requested notebook that does not exist.
    """
    notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return notebooks
    chosen = []
    for name in names:
        matches = [path for path in notebooks if path.stem == Path(name).stem or path.name.startswith(name)]
        if not matches:
            raise FileNotFoundError(f"no notebook {name!r} in {folder}")
        chosen.extend(matches)
    return chosen


def describe_failure(error: Exception) -> str:
    """One line naming the failing cell (1-based index among all cells) and the error."""
    cell_index = getattr(error, "cell_index", None)
    if cell_index is not None:
        source = (getattr(error, "source", "") or "").strip().splitlines()
        first_line = source[0] if source else ""
        return f"cell {cell_index + 1} ({first_line[:60]!r}): {error.ename}: {str(error.evalue)[:300]}"
    return f"{type(error).__name__}: {str(error)[:300]}"


def run_notebook(path: Path, out_dir: Path, profile: str, timeout: int = 3600) -> NotebookRun:
    """Execute ``path`` with papermill in ``profile``; the executed copy goes to ``out_dir``."""
    import papermill
    from traitlets.config import Config

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zsl-kernel-") as sockets:
        # The kernel talks over local IPC sockets in a private folder, not TCP ports: nothing to eavesdrop on,
        # and no "Kernel is running over TCP without encryption" warning per notebook (ZeroMQ's IPC needs POSIX).
        kernel_config = Config({"KernelManager": {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}}
                               if os.name == "posix" else {})
        try:
            papermill.execute_notebook(
                str(path),
                str(out_dir / path.name),
                parameters={"PROFILE": profile},
                kernel_name="python3",
                cwd=str(REPO_ROOT),
                progress_bar=False,
                execution_timeout=timeout,
                config=kernel_config,
            )
        except Exception as error:  # noqa: BLE001 — any failure is reported, then the next notebook runs
            return NotebookRun(path.stem, time.perf_counter() - start, False, describe_failure(error))
    return NotebookRun(path.stem, time.perf_counter() - start, True)


def results_markdown(runs: list[NotebookRun], profile: str, budget: str | None = None) -> str:
    """The ``results.md`` text: a status table, then each notebook's figures."""
    command = f"python -m utils.course --profile {profile}" + (f" --budget {budget}" if budget else "")
    lines = [
        f"# Course results ({profile} profile{f', {budget} budget' if budget else ''})",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "| notebook | status | wall time |",
        "|---|---|---|",
    ]
    for run in runs:
        status = "ok" if run.ok else f"FAILED: {run.failure}"
        lines.append(f"| {run.name} | {status} | {run.seconds:.0f} s |")
    for run in runs:
        if run.figures:
            lines += ["", f"## {run.name}", "", "| figure | value |", "|---|---|"]
            lines += [f"| {name} | {value} |" for name, value in run.figures.items()]
    return "\n".join(lines) + "\n"


def run_course(
    profile: str, out_dir: Path, names: list[str] | None = None, budget: str | None = None, seed: int | None = None
) -> list[NotebookRun]:
    """Execute the notebooks in order and write ``out_dir/results.md``; ``seed`` (default: ``$ZSL_SEED`` or 0) is
    every notebook's ``config.seed``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results_folder = out_dir / "results"
    results_folder.mkdir(exist_ok=True)
    # Notebook kernels inherit the environment: the profile, the budget, the seed and where to record figures.
    os.environ["ZSL_PROFILE"] = profile
    os.environ["ZSL_RESULTS_DIR"] = str(results_folder)
    if budget is None:
        os.environ.pop("ZSL_BUDGET", None)
    else:
        os.environ["ZSL_BUDGET"] = budget
    if seed is not None:
        os.environ["ZSL_SEED"] = str(seed)
    runs = []
    for path in find_notebooks(names):
        for stale in results_folder.glob(f"{path.stem}.json"):
            stale.unlink()
        print(f"running {path.name} ({profile}) ...", flush=True)
        run = run_notebook(path, out_dir, profile)
        recorded = {entry["notebook"]: entry["figures"] for entry in load_results(results_folder)}
        run.figures = recorded.get(path.stem, {})
        print(f"  {'ok' if run.ok else 'FAILED'} in {run.seconds:.0f} s{'' if run.ok else ': ' + run.failure}", flush=True)
        runs.append(run)
    (out_dir / "results.md").write_text(results_markdown(runs, profile, budget))
    return runs


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _formatted(value: float) -> str:
    return f"{value:.4g}"


def seed_sweep_markdown(runs_per_seed: dict[int, list[NotebookRun]], profile: str, budget: str | None = None) -> str:
    """The ``results.md`` of a seed sweep: each notebook's status and wall time per seed, then per notebook one table
    with every figure's mean, standard deviation (n − 1) and min–max over the seeds, beside each seed's value.

    A figure that is not a number (a name, a verdict) shows its values; one a seed did not record shows ``–``.
    """
    seeds = list(runs_per_seed)
    command = f"python -m utils.course --profile {profile}" + (f" --budget {budget}" if budget else "")
    command += " --seeds " + " ".join(map(str, seeds))
    lines = [f"# Course results over seeds {', '.join(map(str, seeds))} ({profile} profile"
             f"{f', {budget} budget' if budget else ''})", "", f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M')}."
             " Each seed's own table is in its folder's results.md.", "",
             "| notebook | " + " | ".join(f"seed {seed}" for seed in seeds) + " |", "|---|" + "---|" * len(seeds)]
    names = list(dict.fromkeys(run.name for runs in runs_per_seed.values() for run in runs))
    by_seed = {seed: {run.name: run for run in runs} for seed, runs in runs_per_seed.items()}
    for name in names:
        cells = []
        for seed in seeds:
            run = by_seed[seed].get(name)
            cells.append("–" if run is None else f"{'ok' if run.ok else 'FAILED'} in {run.seconds:.0f} s")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name in names:
        figures = list(dict.fromkeys(figure for seed in seeds if name in by_seed[seed]
                                     for figure in by_seed[seed][name].figures))
        if not figures:
            continue
        lines += ["", f"## {name}", "", "| figure | mean | sd | min–max | " + " | ".join(f"seed {seed}" for seed in seeds)
                  + " |", "|---|---|---|---|" + "---|" * len(seeds)]
        for figure in figures:
            values = [by_seed[seed][name].figures.get(figure) if name in by_seed[seed] else None for seed in seeds]
            numbers = [value for value in values if _number(value)]
            if numbers and len(numbers) == sum(value is not None for value in values):
                spread = _formatted(statistics.stdev(numbers)) if len(numbers) > 1 else "–"
                summary = [_formatted(statistics.fmean(numbers)), spread,
                           f"{_formatted(min(numbers))}–{_formatted(max(numbers))}"]
            else:
                summary = ["–", "–", "–"]
            cells = ["–" if value is None else _formatted(value) if _number(value) else str(value) for value in values]
            lines.append(f"| {figure} | " + " | ".join(summary + cells) + " |")
    return "\n".join(lines) + "\n"


def non_negative_int(text: str) -> int:
    """An argparse type: an integer of at least 0 (a seed)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer of at least 0")
    return int(text)


@cli_entry("python -m utils.course")
def main(argv: list[str] | None = None) -> int:
    """Run the notebooks; 0 when all ran, 1 when some failed, 2 on a bad setting (one line, :mod:`utils.cli`)."""
    parser = ArgumentParser(prog="python -m utils.course", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook names or prefixes (default: all)")
    parser.add_argument("--profile", choices=PROFILES, default=None, help="default: $ZSL_PROFILE or sample")
    parser.add_argument("--budget", choices=BUDGETS, default=None,
                        help="shrink epochs, images and image size, keeping the profile's data (default: $ZSL_BUDGET)")
    parser.add_argument("--seeds", type=non_negative_int, nargs="+", default=None,
                        help="one run per seed, each in its own folders (sample-seed1, ...), and one results.md with "
                             "each figure's mean, sd and min-max (default: one run, $ZSL_SEED or 0)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: outputs/course/<run label> (sample, full-tiny, sample-seed1, ...); with --seeds "
                             "outputs/course/<run label>-seeds-0-1-2, each seed under seed<k>/")
    args = parser.parse_args(argv)
    profile, budget = current_profile(args.profile), current_budget(args.budget)
    if args.seeds is None:
        out_dir = args.out or outputs_dir() / "course" / run_label(profile, budget, current_seed())
        runs = run_course(profile, out_dir, args.notebooks, budget)
    else:
        seeds = list(dict.fromkeys(args.seeds))
        out_dir = args.out or outputs_dir() / "course" / f"{run_label(profile, budget)}-seeds-{'-'.join(map(str, seeds))}"
        runs_per_seed = {}
        for seed in seeds:
            print(f"== seed {seed}", flush=True)
            runs_per_seed[seed] = run_course(profile, out_dir / f"seed{seed}", args.notebooks, budget, seed)
        (out_dir / "results.md").write_text(seed_sweep_markdown(runs_per_seed, profile, budget))
        runs = [run for seed_runs in runs_per_seed.values() for run in seed_runs]
    failed = [run for run in runs if not run.ok]
    print(f"{len(runs) - len(failed)}/{len(runs)} notebooks ran; results in {out_dir / 'results.md'}")
    for run in failed:
        print(f"FAILED {run.name}: {run.failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
