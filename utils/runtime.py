"""Seeding, device choice and the notebook bootstrap shared by every notebook's first cells."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO_URL = "https://github.com/zero-shot-vision-lab/zero-shot-vision-lab.git"


def seed_everything(seed: int = 0, deterministic: bool = False) -> int:
    """Seed Python's ``random``, NumPy and torch (CPU and CUDA) from one number.

    Data-loader workers are seeded through :func:`seed_worker`, which derives each worker's seed
    from torch's per-worker seed, so a fixed ``seed`` gives the same batches run after run.

    Args:
        seed: the seed.
        deterministic: also ask cuDNN/torch for deterministic kernels (slower on GPU).

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


def choose_device(requested: str = "auto", verbose: bool = True):
    """Pick the torch device: ``auto`` means CUDA, then Apple MPS, then CPU.

    ``$ZSL_DEVICE`` overrides ``requested`` so tests and CI can pin the CPU.

    Raises:
        RuntimeError: if a CUDA/MPS device is requested but not available.
    """
    import torch

    name = os.environ.get("ZSL_DEVICE", requested or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but torch sees no CUDA device")
    device = torch.device(name)
    if verbose:
        detail = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{os.cpu_count()} CPU cores"
        print(f"device: {device} ({detail}); torch {torch.__version__}")
    return device


def in_colab() -> bool:
    return "google.colab" in sys.modules


def bootstrap(repo_url: str = REPO_URL, clone_dir: str = "/content/zero-shot-vision-lab") -> Path:
    """First cell of every notebook: make ``import utils`` work and return the repository root.

    Locally the root is the parent of ``notebooks/``. On Colab the repository is cloned once and its
    requirements are installed *without* touching Colab's own torch/torchvision.
    """
    if in_colab():
        root = Path(clone_dir)
        if not root.exists():
            subprocess.run(["git", "clone", "--depth", "1", repo_url, str(root)], check=True)
        marker = root / ".colab_requirements_installed"
        if not marker.exists():
            # Colab's preinstalled CUDA torch/torchvision must stay: reinstalling them breaks the GPU runtime.
            requirements = [
                line.strip()
                for line in (root / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#") and not line.startswith("torch")
            ]
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", *requirements], check=True)
            marker.touch()
    else:
        root = find_repo_root()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    os.chdir(root)
    return root


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding ``utils/config.py``."""
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "utils" / "config.py").is_file():
            return candidate
    raise FileNotFoundError(f"no repository root (a folder with utils/config.py) at or above {here}")
