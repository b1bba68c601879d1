"""Run profiles, paths and the per-notebook configuration dataclasses.

One switch, the environment variable ``ZSL_PROFILE`` (``smoke`` | ``sample`` | ``full``, default
``sample``), picks the data and the budget of every notebook:

* ``smoke``  — the embedded sample world, tiny images, one epoch, subsets: seconds per notebook (CI).
* ``sample`` — the whole sample world on the CPU: minutes per notebook, meaningful numbers.
* ``full``   — real data under ``ZSL_DATA_DIR`` (default ``data/``) with the literature's settings (GPU).

Each notebook builds its config once in a cell tagged ``parameters`` (papermill can override it)::

    config = DataConfig.for_profile()
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_SAMPLES_DIR = REPO_ROOT / "data_samples"

PROFILES = ("smoke", "sample", "full")
DEFAULT_PROFILE = "sample"

# AwA2's standard zero-shot split (Lampert et al., TPAMI 2014): these 10 classes are never seen in training.
AWA2_UNSEEN_CLASSES = (
    "chimpanzee",
    "giant+panda",
    "leopard",
    "persian+cat",
    "pig",
    "hippopotamus",
    "humpback+whale",
    "raccoon",
    "rat",
    "seal",
)


def current_profile(profile: str | None = None) -> str:
    """The run profile: ``profile`` if given, else ``$ZSL_PROFILE``, else ``sample``.

    Raises:
        ValueError: if the name is not one of ``smoke``, ``sample``, ``full``.
    """
    name = (profile or os.environ.get("ZSL_PROFILE") or DEFAULT_PROFILE).strip().lower()
    if name not in PROFILES:
        raise ValueError(f"ZSL_PROFILE={name!r} is not a profile; choose one of {', '.join(PROFILES)}")
    return name


def data_dir() -> Path:
    """Root of the real data sets (``$ZSL_DATA_DIR``, default ``<repo>/data``)."""
    return Path(os.environ.get("ZSL_DATA_DIR", REPO_ROOT / "data")).expanduser()


def outputs_dir() -> Path:
    """Root of everything a run writes (``$ZSL_OUTPUTS_DIR``, default ``<repo>/outputs``); git-ignored."""
    return Path(os.environ.get("ZSL_OUTPUTS_DIR", REPO_ROOT / "outputs")).expanduser()


def cache_dir() -> Path:
    """Where expensive intermediates and on-demand parts of the sample world go."""
    return outputs_dir() / "cache"


@dataclass
class BaseConfig:
    """Fields every notebook shares. Subclasses add their knobs and per-profile defaults."""

    profile: str = DEFAULT_PROFILE
    seed: int = 0
    device: str = "auto"
    outputs: Path = field(default_factory=outputs_dir)

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        """Per-profile field values, ``{profile: {field: value}}``; subclasses override."""
        return {}

    @classmethod
    def for_profile(cls, profile: str | None = None, **overrides: Any):
        """The config of ``profile`` (default: ``$ZSL_PROFILE``), with ``overrides`` applied last."""
        name = current_profile(profile)
        values = dict(cls.profile_defaults().get(name, {}))
        values.update(overrides)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
        return cls(profile=name, **values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (paths as strings), saved beside checkpoints."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path


@dataclass
class DataConfig(BaseConfig):
    """Notebook 00: where the AwA2-format data lives and how it is split.

    Attributes:
        awa2_dir: an AwA2 folder (``JPEGImages/``, ``classes.txt``, ``predicates.txt``, ...).
        word_vectors: a ``.vec``/``.bin`` file or ``glove:6B-50d`` for the class-name vectors.
        valid_fraction: share of each seen class moved into ``valid/``.
        images_per_class: cap on images per class copied (``None``: all).
        split_dir: where the split scripts write ``train/``, ``valid/`` and ``test/``.
        show_images_per_class: thumbnails per class in the image grid.
    """

    awa2_dir: Path = field(default_factory=lambda: DATA_SAMPLES_DIR / "awa2")
    word_vectors: str = str(DATA_SAMPLES_DIR / "word_vectors" / "awa2_classes.vec")
    valid_fraction: float = 0.1
    images_per_class: int | None = None
    split_dir: Path = field(default_factory=lambda: outputs_dir() / "awa2_split")
    show_images_per_class: int = 4

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "smoke": {"images_per_class": 12, "split_dir": outputs_dir() / "smoke" / "awa2_split"},
            "sample": {},
            "full": {
                "awa2_dir": data_dir() / "Animals_with_Attributes2",
                "word_vectors": str(data_dir() / "fasttext" / "cc.en.300.bin"),
            },
        }
