"""Build the GPU check's wheelhouse: ``python -m tools.gpu_wheels [--dest .gpu-wheels]`` (``make gpu-wheels``).

The GPU machine has no network and its own CPython 3.12 with torch preinstalled; what the check needs beyond that
(``requirements-gpu-check.txt``) travels as wheels for CPython 3.12 on manylinux x86-64, downloaded here with
``pip download --no-deps --only-binary=:all:`` and installed there with ``pip install --no-index --no-deps --target``.
The folder is emptied of wheels first (one version of each: two stop the install), and the build fails when the
wheels pass :data:`LIMIT_MIB` (what travels with the working tree is capped at 64 MiB in all).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from utils.cli import ArgumentParser, cli_entry
from utils.errors import ProjectError

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO_ROOT / "requirements-gpu-check.txt"
LIMIT_MIB = 60
PYTHON_VERSION = "3.12"
# pip matches manylinux tags exactly, so every glibc level a wheel of the list is tagged with is named.
PLATFORMS = ("manylinux1_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_26_x86_64", "manylinux_2_27_x86_64", "manylinux_2_28_x86_64", "manylinux_2_31_x86_64",
             "manylinux_2_34_x86_64", "manylinux_2_35_x86_64")


def download_command(dest: Path, requirements: Path = REQUIREMENTS) -> list[str]:
    """The ``pip download`` command line for the wheelhouse (no dependencies resolved: the list is complete)."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--python-version", PYTHON_VERSION, "--implementation", "cp", "--abi", "cp312", "--abi", "abi3",
               "--abi", "none", "-d", str(dest), "-r", str(requirements)]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    return command


def build_wheelhouse(dest: Path, requirements: Path = REQUIREMENTS, limit_mib: float = LIMIT_MIB) -> list[Path]:
    """Download the wheels of ``requirements`` into ``dest`` (emptied of wheels first) and return them.

    Raises:
        ProjectError: naming the command when pip fails, or the size when the wheels pass ``limit_mib``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for stale in dest.glob("*.whl"):
        stale.unlink()
    completed = subprocess.run(download_command(dest, requirements), capture_output=True, text=True)
    if completed.returncode != 0:
        errors = [line for line in completed.stderr.splitlines() if line.startswith("ERROR")]
        raise ProjectError(f"{requirements}: pip download failed: {' '.join(errors)[:400] or completed.stderr[-400:]}")
    wheels = sorted(dest.glob("*.whl"))
    total_mib = sum(wheel.stat().st_size for wheel in wheels) / 2**20
    if total_mib > limit_mib:
        raise ProjectError(f"{dest}: the wheels take {total_mib:.1f} MiB, over the {limit_mib} MiB that may travel")
    return wheels


@cli_entry("python -m tools.gpu_wheels")
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m tools.gpu_wheels", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=REPO_ROOT / ".gpu-wheels", help="default: .gpu-wheels (git-ignored)")
    args = parser.parse_args(argv)
    wheels = build_wheelhouse(args.dest)
    total_mib = sum(wheel.stat().st_size for wheel in wheels) / 2**20
    print(f"{len(wheels)} wheels, {total_mib:.1f} MiB (limit {LIMIT_MIB} MiB) in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
