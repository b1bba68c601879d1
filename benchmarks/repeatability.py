"""Is one seed repeatable across x86-64 CPUs? The same notebooks under pinned instruction sets, compared bit for bit.

The same code and seed gave other figures on another 2-core host of this kind (e.g. notebook 02's T1 0.427 against
0.458 here). Bit-identical runs on one machine (``tests/rehearsal/test_same_seed.py``) say nothing about another,
because three libraries pick their kernels by the CPU they run on, and kernels of other vector widths add floats in
other orders:

* ATen's own kernels (``ATEN_CPU_CAPABILITY``: ``default``, ``avx2``, ``avx512``);
* oneDNN's convolutions (``ONEDNN_MAX_CPU_ISA``: ``SSE41``, ``AVX2``, ``AVX512_CORE``, ...);
* MKL's BLAS (``MKL_CBWR``: conditional numerical reproducibility; on non-Intel CPUs only ``AUTO`` and ``COMPATIBLE``
  are honoured, Intel's oneMKL developer guide);

and the number of threads splits every reduction. This script runs the named notebooks (``python -m utils.course``,
each configuration in its own outputs folder) once per configuration of :data:`CONFIGURATIONS` — the machine's own
choice, then each library capped at one instruction set, with the threads fixed — and prints, per configuration,
the wall time and whether its recorded figures and its checkpoint files are identical to the first run of each
other configuration::

    python -m benchmarks.repeatability                          # notebooks 01 05 06, smoke
    python -m benchmarks.repeatability --profile sample 05 --repeats 2

A cap only lowers what a library uses, so a cap every host supports (AVX2 on x86-64 machines of the last ten years)
gives every such host the same kernels; a configuration identical to itself across repeats but different from the
others shows that the figures depend on the instruction set, which is what moves them between hosts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

CONFIGURATIONS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "MKL_CBWR": "COMPATIBLE"},
    "sse": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"},
}
"""Configuration name → the environment that caps each library's instruction set (``native``: none)."""


TIMINGS = ("s/epoch", "images/s", "seconds")
"""Recorded figures that are wall-clock timings (they differ between any two runs and are left out)."""


def fingerprints(outputs: Path, results: Path) -> dict[str, str]:
    """SHA-256 of every checkpoint under ``outputs`` and of each notebook's recorded figures (timings left out), by
    relative path."""
    digests = {}
    for path in sorted(outputs.rglob("*")):
        if path.suffix in {".pt", ".pth", ".npz"} and path.is_file():
            digests[str(path.relative_to(outputs))] = hashlib.sha256(path.read_bytes()).hexdigest()
    for path in sorted(results.glob("*.json")):
        figures = {name: value for name, value in json.loads(path.read_text())["figures"].items()
                   if not any(timing in name for timing in TIMINGS)}
        digests[f"figures/{path.name}"] = hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()
    return digests


def run_configuration(name: str, notebooks: list[str], profile: str, threads: int, work: Path) -> dict:
    """Run the notebooks under configuration ``name`` into ``work``; its wall time, figures and digests."""
    environment = {**os.environ, **CONFIGURATIONS[name], "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                   "ZSL_OUTPUTS_DIR": str(work / "outputs"), "ZSL_DEVICE": "cpu"}
    for variable in ("ZSL_PROFILE", "ZSL_BUDGET", "ZSL_SEED", "ZSL_RESULTS_DIR"):
        environment.pop(variable, None)
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "utils.course", "--profile", profile, "--out", str(work / "course"),
                                *notebooks], cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"{name}: the course failed: {completed.stdout[-1500:]}{completed.stderr[-1500:]}")
    results = work / "course" / "results"
    figures = {json.loads(path.read_text())["notebook"]: json.loads(path.read_text())["figures"]
               for path in sorted(results.glob("*.json"))}
    return {"seconds": seconds, "figures": figures, "digests": fingerprints(work / "outputs", results)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.repeatability", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=["01", "05", "06"], help="notebook prefixes (default 01 05 06)")
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--configurations", nargs="+", choices=list(CONFIGURATIONS), default=list(CONFIGURATIONS))
    parser.add_argument("--repeats", type=int, default=2, help="runs of each configuration (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="OMP/MKL threads of every run (default 2)")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="repeatability_") as folder:
        for name in args.configurations:
            for repeat in range(args.repeats):
                run = run_configuration(name, args.notebooks, args.profile, args.threads, Path(folder) / f"{name}{repeat}")
                runs.setdefault(name, []).append(run)
                print(f"{name} run {repeat + 1}: {run['seconds']:.0f} s", flush=True)
    first = {name: configuration_runs[0] for name, configuration_runs in runs.items()}
    print(f"\nnotebooks {' '.join(args.notebooks)} ({args.profile}), {args.threads} threads; "
          f"{len(next(iter(first.values()))['digests'])} files compared (checkpoints and recorded figures)\n")
    print("| configuration | mean wall time | vs native | repeats identical | identical to | checkpoints differing from native |")
    print("|---|---|---|---|---|---|")
    base = sum(run["seconds"] for run in runs.get("native", runs[args.configurations[0]])) / args.repeats
    for name, configuration_runs in runs.items():
        mean = sum(run["seconds"] for run in configuration_runs) / len(configuration_runs)
        repeats_identical = all(run["digests"] == configuration_runs[0]["digests"] for run in configuration_runs)
        same = [other for other in first if other != name and first[other]["digests"] == first[name]["digests"]]
        reference = first.get("native", first[args.configurations[0]])["digests"]
        differing = sum(digest != reference.get(path) for path, digest in first[name]["digests"].items())
        print(f"| {name} | {mean:.0f} s | {mean / base:.2f}x | {'yes' if repeats_identical else 'NO'} | "
              f"{', '.join(same) or 'none'} | {differing} of {len(reference)} |")
    print("\nFigures that differ between configurations (first run of each):")
    for notebook in next(iter(first.values()))["figures"]:
        for figure, value in first[args.configurations[0]]["figures"][notebook].items():
            values = {name: run["figures"].get(notebook, {}).get(figure) for name, run in first.items()}
            if len({json.dumps(value) for value in values.values()}) > 1 and not any(t in figure for t in TIMINGS):
                print(f"- {notebook} / {figure}: " + ", ".join(f"{name} {value}" for name, value in values.items()))
    return runs


if __name__ == "__main__":
    main()
