"""Seeding, device choice and the notebook bootstrap shared by every notebook's first cells."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.errors import ConfigError, DeviceError

REPO_URL = "https://github.com/zero-shot-vision-lab/zero-shot-vision-lab.git"
"""What Colab clones: the one place a fork changes (then ``python -m tools.notebook_builder`` rewrites the
notebooks' first cell and Colab badges from it)."""
COLAB_CLONE_DIR = "/content/zero-shot-vision-lab"
REQUIREMENTS_MARKER = ".colab_requirements_installed"
PIP_OPTIONS_VARIABLE = "ZSL_PIP_OPTIONS"
KEEP_PREINSTALLED = ("torch", "torchvision")


def seed_everything(seed: int = 0, deterministic: bool = False) -> int:
    """Seed Python's ``random``, NumPy and torch (CPU and CUDA) from one number.

    Data-loader workers are seeded through :func:`seed_worker`, which derives each worker's seed
    from torch's per-worker seed, so a fixed ``seed`` gives the same batches run after run. Every
    training function of ``utils`` calls this with ``config.seed`` right before it builds its model and
    batches, so its weights do not depend on what ran before it in the process; on the CPU the same
    settings then give bit-identical weights in every process.

    ``PYTHONHASHSEED`` is set for child processes only: the running interpreter's string hashing was fixed
    when it started, which is why nothing that shapes a model may depend on the order of a ``set`` of strings.

    Args:
        seed: the seed.
        deterministic: also ask cuDNN/torch for deterministic kernels (slower on GPU; cuBLAS needs
            ``CUBLAS_WORKSPACE_CONFIG`` before CUDA starts, set here if absent). Without it, CUDA runs differ
            in the last bits (cuDNN's algorithm choice, atomic additions in backward passes).

    Returns:
        The seed, for logging.
    """
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for ``torch.utils.data.DataLoader``: seed NumPy and ``random`` per worker."""
    import torch

    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def data_loader_generator(seed: int = 0):
    """A ``torch.Generator`` to pass as ``DataLoader(generator=...)`` so shuffling is reproducible."""
    import torch

    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


MAX_LOADER_WORKERS = 8
"""More decoding processes than this rarely help one GPU and cost memory (each holds a copy of the dataset)."""
LOADER_WORKERS_VARIABLE = "ZSL_LOADER_WORKERS"


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def loader_workers(device: Any = "cpu", decoding: bool = True) -> int:
    """``DataLoader(num_workers=...)`` for ``device``: from the core count on CUDA, 0 on the CPU.

    On CUDA the GPU waits for decoded images, so files are decoded by ``min(cores, 8)`` worker processes
    (``decoding=False``, tensors already in memory: 0). On the CPU the model is the bottleneck by one to two
    orders of magnitude (``benchmarks/loader_bench.py``) and worker processes only take cores from the training
    step, so images are decoded in the main process. ``$ZSL_LOADER_WORKERS`` overrides both.

    Args:
        device: a ``torch.device`` or its name.
        decoding: whether the items are decoded from files (else they sit in memory).
    """
    override = os.environ.get(LOADER_WORKERS_VARIABLE, "").strip()
    if override:
        try:
            value = int(override)
        except ValueError:
            raise ConfigError(f"{LOADER_WORKERS_VARIABLE}={override!r}: must be an integer of at least 0") from None
        if value < 0:
            raise ConfigError(f"{LOADER_WORKERS_VARIABLE}={override!r}: must be an integer of at least 0")
        return value
    if not decoding or _device_type(device) != "cuda":
        return 0
    return min(available_cores(), MAX_LOADER_WORKERS)


def loader_options(device: Any = "cpu", decoding: bool = True) -> dict[str, Any]:
    """``DataLoader`` keyword arguments for ``device``: ``num_workers`` (:func:`loader_workers`), with
    ``persistent_workers`` when there are workers, and ``pin_memory`` on CUDA (faster, asynchronous copies)."""
    workers = loader_workers(device, decoding)
    options: dict[str, Any] = {"num_workers": workers, "pin_memory": _device_type(device) == "cuda"}
    if workers > 0:
        options["persistent_workers"] = True
    return options


def use_channels_last(device: Any) -> bool:
    """Whether conv nets should use ``torch.channels_last`` on ``device``: on CUDA (tensor cores prefer NHWC)."""
    return _device_type(device) == "cuda"


def mixed_precision_enabled(requested: bool, device: Any) -> bool:
    """Whether float16 autocast applies: requested and on CUDA (a ``mixed_precision`` field is ignored on the CPU)."""
    return bool(requested) and _device_type(device) == "cuda"


def _device_type(device: Any) -> str:
    kind = getattr(device, "type", None)
    if kind is not None:
        return kind
    return str(device or "cpu").split(":")[0].strip().lower()


def choose_device(requested: str = "auto", verbose: bool = True):
    """Pick the torch device: ``auto`` means CUDA, then Apple MPS, then CPU.

    ``$ZSL_DEVICE`` overrides ``requested`` so tests and CI can pin the CPU.

    Raises:
        utils.errors.DeviceError: (a ``ConfigError`` and a ``RuntimeError``) naming ``ZSL_DEVICE`` (or the
            requested device) and what this machine has, if the name is not a device torch can parse or a
            CUDA/MPS device is requested but not available.
    """
    import torch

    from utils.config import check_device_name

    from_environment = bool(os.environ.get("ZSL_DEVICE", "").strip())
    where = "ZSL_DEVICE" if from_environment else "device"
    raw = os.environ["ZSL_DEVICE"] if from_environment else (requested or "auto")
    check_device_name(raw, where)
    name = raw.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif _mps_available(torch):
            name = "mps"
        else:
            name = "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as error:
        raise DeviceError(f"{where}={raw!r}: not a device torch can parse ({error})") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(
                f"{where}={raw!r} requested but torch sees no CUDA device; available: {_available_devices(torch)}"
            )
        if device.index is not None and device.index >= count:
            raise DeviceError(
                f"{where}={raw!r} requested but torch sees only {count} CUDA device(s); "
                f"available: {_available_devices(torch)}"
            )
    if device.type == "mps" and not _mps_available(torch):
        raise DeviceError(f"{where}={raw!r} requested but MPS is not available; available: {_available_devices(torch)}")
    if verbose:
        detail = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{os.cpu_count()} CPU cores"
        print(f"device: {device} ({detail}); torch {torch.__version__}")
    return device


def _mps_available(torch) -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def _available_devices(torch) -> str:
    """What this machine offers, e.g. ``cpu, cuda:0, cuda:1`` (for error messages)."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if _mps_available(torch):
        names.append("mps")
    return ", ".join(names)


def in_colab() -> bool:
    """Whether this is a Google Colab runtime (its kernel imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def bootstrap(
    root: str | Path | None = None,
    *,
    repo_url: str = REPO_URL,
    clone_dir: str | Path = COLAB_CLONE_DIR,
    pip_options: str | Sequence[str] = (),
) -> Path:
    """First cell of every notebook: make ``import utils`` work from the repository root and return it.

    Locally nothing is installed; the root is ``root`` or :func:`find_repo_root` (so a notebook runs
    from ``notebooks/`` or from the root, by Jupyter, nbmake or papermill). On Colab (:func:`in_colab`)
    the root is ``root`` or ``clone_dir``, cloned from ``repo_url`` if it is not there yet, and its
    ``requirements.txt`` is installed by :func:`install_requirements`, which keeps Colab's preinstalled
    torch and torchvision. The install runs once per clone: the marker file
    ``.colab_requirements_installed`` in the root records which requirements, pip options and runtime it
    was done for (a changed ``requirements.txt`` or a new runtime installs again; delete it to force).

    Args:
        root: the repository root, when the caller has found it already (the notebook cell has).
        repo_url: the repository Colab clones; a fork changes :data:`REPO_URL`.
        clone_dir: the folder Colab clones into.
        pip_options: extra pip options, a list or one shell-style string, e.g.
            ``"--dry-run --report report.json"`` to see what pip would install without installing it;
            the environment variable ``ZSL_PIP_OPTIONS`` (split with :func:`shlex.split`) adds more.

    Returns:
        The repository root, now the working directory and on ``sys.path``.

    Raises:
        RuntimeError: with one line saying why, if git cannot clone or pip cannot install.
        ConfigError: naming ``ZSL_PIP_OPTIONS`` (or ``pip_options``), if it is not a shell-style list of options.
    """
    if in_colab():
        options = _pip_options(pip_options)  # a bad option fails before anything is cloned or installed
        root = Path(root or clone_dir)
        if not (root / "utils" / "config.py").is_file():
            clone_repository(repo_url, root)
        requirements = root / "requirements.txt"
        marker = root / REQUIREMENTS_MARKER
        fingerprint = _install_fingerprint(requirements, options)
        if not marker.is_file() or marker.read_text() != fingerprint:
            install_requirements(requirements, pip_options=pip_options)
            marker.write_text(fingerprint)
    else:
        root = Path(root) if root else find_repo_root()
    root = root.resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    os.chdir(root)
    return root


def clone_repository(repo_url: str, target: str | Path) -> Path:
    """``git clone --depth 1 repo_url target``.

    Raises:
        RuntimeError: one line with git's own message, if the clone fails.
    """
    result = subprocess.run(
        ["git", "clone", "-q", "--depth", "1", repo_url, str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0:
        reason = (result.stdout.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise RuntimeError(f"git could not clone {repo_url} into {target}: {reason}")
    return Path(target)


def installed_pins(names: Sequence[str] = KEEP_PREINSTALLED) -> list[str]:
    """``name==version`` for each of ``names`` that is installed (the others are skipped).

    The version is the installed one verbatim, local label included: Colab's ``torch==2.5.1+cu121`` is
    satisfied by exactly the installed ``2.5.1+cu121`` build (PEP 440), so pip keeps it.
    """
    import importlib.metadata

    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return pins


def install_requirements(
    requirements: str | Path,
    *,
    keep: Sequence[str] = KEEP_PREINSTALLED,
    pip_options: str | Sequence[str] = (),
) -> list[str]:
    """``pip install -r requirements``, holding the installed versions of ``keep`` fixed.

    pip reads the file itself (comments, inline comments, blank lines, ``-r``/``-c`` lines and options).
    The installed versions of ``keep`` (:func:`installed_pins`) go to pip as a constraints file, so a
    requirement that would replace them fails instead of reinstalling torch.

    Args:
        requirements: the requirements file.
        keep: distributions whose installed version must stay.
        pip_options: extra pip options (a list or one shell-style string); ``$ZSL_PIP_OPTIONS`` adds more.

    Returns:
        The pins passed as constraints.

    Raises:
        RuntimeError: one line naming the file and pip's first error, if pip fails (pip's whole output
            is printed above it).
    """
    import tempfile

    pins = installed_pins(keep)
    print(f"pip install -r {requirements} (keeping {', '.join(pins) or 'nothing'}) ...", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder) / "constraints.txt"
        constraints.write_text("".join(f"{pin}\n" for pin in pins))
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "-r", str(requirements), "-c", str(constraints)]
            + _pip_options(pip_options),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    # Captured and printed, because Colab's notebook does not show a subprocess's own output.
    if result.stdout.strip():
        print(result.stdout.rstrip(), flush=True)
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR:")]
        reason = errors[0] if errors else f"exit status {result.returncode}"
        raise RuntimeError(f"pip could not install {requirements}: {reason}")
    return pins


def _pip_options(pip_options: str | Sequence[str]) -> list[str]:
    """``pip_options`` (a list or a shell-style string) followed by those in ``$ZSL_PIP_OPTIONS``.

    Raises:
        ConfigError: naming ``pip_options`` or ``ZSL_PIP_OPTIONS`` and its value, if it is not a shell-style list
            (an unbalanced quote, a trailing backslash).
    """
    options = _split_options("pip_options", pip_options) if isinstance(pip_options, str) else list(pip_options)
    return options + _split_options(PIP_OPTIONS_VARIABLE, os.environ.get(PIP_OPTIONS_VARIABLE, ""))


def _split_options(setting: str, text: str) -> list[str]:
    """``text`` split as a shell splits it (:func:`shlex.split`), or a :class:`ConfigError` naming ``setting``."""
    import shlex

    try:
        return shlex.split(text)
    except ValueError as error:
        raise ConfigError(
            f"{setting}={text!r}: not a shell-style list of options ({str(error).lower()}); "
            "balance the quotes or escape them, e.g. --report 'my report.json'"
        ) from None


def _install_fingerprint(requirements: Path, pip_options: list[str]) -> str:
    """What the marker file records: the requirements' hash, the pip options and this machine's boot id."""
    import hashlib
    import shlex

    boot_id = Path("/proc/sys/kernel/random/boot_id")
    return (
        f"requirements sha256: {hashlib.sha256(requirements.read_bytes()).hexdigest()}\n"
        f"pip options: {shlex.join(pip_options)}\n"
        f"runtime boot id: {boot_id.read_text().strip() if boot_id.is_file() else 'unknown'}\n"
    )


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding ``utils/config.py``."""
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "utils" / "config.py").is_file():
            return candidate
    raise FileNotFoundError(f"no repository root (a folder with utils/config.py) at or above {here}")
