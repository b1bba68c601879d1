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
import difflib
import html
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from utils.errors import ConfigError, DeviceError, UnknownFieldError

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_SAMPLES_DIR = REPO_ROOT / "data_samples"

PROFILES = ("smoke", "sample", "full")
DEFAULT_PROFILE = "sample"

BUDGETS = ("tiny", "tiny-gpu")
"""Budget overrides (``$ZSL_BUDGET`` or ``for_profile(budget=...)``): ``tiny`` shrinks epochs, images per class
and image size of any profile without changing its data path, so ``full`` can be rehearsed on a CPU; ``tiny-gpu``
shrinks the same but keeps the profile's :data:`GPU_FIDELITY_FIELDS` (in ``full``: 224 px, pretrained weights,
mixed precision), the rehearsal of a GPU run (``benchmarks/gpu_check.py``)."""

GPU_FIDELITY_FIELDS = ("image_size", "cache_side", "pretrained", "mixed_precision")
"""The fields ``tiny-gpu`` leaves at the profile's values: what decides whether the CUDA path (image size, the
cache feeding it, pretrained weights, float16) works, as opposed to how long training takes."""

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

AWA2_SPLITS = ("standard", "proposed")
"""The class splits of AwA2 notebooks 00–04 use (``awa2_split``): ``standard`` reads the AwA2 folder's own
``trainclasses.txt``/``testclasses.txt`` (:data:`AWA2_UNSEEN_CLASSES`); ``proposed`` is Xian et al.'s Proposed Split,
read from xlsa17's ``att_splits.mat``, whose unseen classes are none of ImageNet-1k's, so ImageNet-pretrained bodies
never saw them (Xian et al., "Zero-Shot Learning — A Comprehensive Evaluation of the Good, the Bad and the Ugly",
TPAMI 2018). :func:`utils.splits.awa2_class_split` resolves them."""


def current_profile(profile: str | None = None) -> str:
    """The run profile: ``profile`` if given, else ``$ZSL_PROFILE``, else ``sample``.

    Raises:
        ConfigError: (a ``ValueError``) if the name is not one of ``smoke``, ``sample``, ``full``.
    """
    name = (profile or os.environ.get("ZSL_PROFILE") or DEFAULT_PROFILE).strip().lower()
    if name not in PROFILES:
        raise ConfigError(f"ZSL_PROFILE={name!r} is not a profile; choose one of {', '.join(PROFILES)}")
    return name


def current_budget(budget: str | None = None) -> str | None:
    """The budget override: ``budget`` if given, else ``$ZSL_BUDGET``, else ``None`` (the profile's own).

    Raises:
        ConfigError: (a ``ValueError``) if the name is not one of :data:`BUDGETS`.
    """
    name = (budget or os.environ.get("ZSL_BUDGET") or "").strip().lower() or None
    if name is not None and name not in BUDGETS:
        raise ConfigError(f"ZSL_BUDGET={name!r} is not a budget; choose one of {', '.join(BUDGETS)} (or leave it unset)")
    return name


def current_seed(seed: int | None = None) -> int:
    """The seed of every notebook: ``seed`` if given, else ``$ZSL_SEED`` (what ``python -m utils.course --seeds``
    sets for each run), else 0.

    Raises:
        ConfigError: (a ``ValueError``) if ``$ZSL_SEED`` is not an integer of at least 0.
    """
    if seed is not None:
        return seed
    text = os.environ.get("ZSL_SEED", "").strip() or "0"
    if not text.isdigit():
        raise ConfigError(f"ZSL_SEED={text!r} is not a seed; give an integer of at least 0 (or leave it unset)")
    return int(text)


# ------------------------------------------------------------------------------------- declared settings
#
# Every field says where it is declared which runs it shapes and how it is checked (``setting(...)``); the
# fingerprint of a run (:func:`utils.training.checkpoints.run_settings`), the split folders' record and validation
# all read those declarations, so a new field needs no list elsewhere.

EVERY_RUN = "every run"
"""The default ``shapes`` of a field: it shapes every model its notebook trains. A field nobody declared therefore
makes every checkpoint of its notebook stale when it changes: forgetting a declaration retrains, never reuses."""

NO_MODEL: tuple[str, ...] = ()
"""``shapes`` of a knob that shapes no model's weights: what is evaluated or shown, where files go, how fast it
runs, which runs exist (each run records its own inputs)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_sequence(value: Any) -> bool:
    """A non-empty tuple or list (what a settings cell writes for a list of values)."""
    return isinstance(value, (tuple, list)) and len(value) > 0


@dataclass(frozen=True)
class Rule:
    """How a field's value is checked: ``accepts(value)``, and what is allowed, in words (the error's end).

    Attributes:
        accepts: True for an allowed value.
        allowed: e.g. ``"must be an integer of at least 1"``.
    """

    accepts: Callable[[Any], bool]
    allowed: str

    def check(self, value: Any, where: str) -> None:
        """Raise :class:`ConfigError` ``"<where> = <value>: <allowed>"`` unless the value is allowed."""
        if not self.accepts(value):
            raise ConfigError(f"{where} = {value!r}: {self.allowed}")


class DeviceRule(Rule):
    """``auto`` or a device torch can parse (:func:`check_device_name`, which raises :class:`DeviceError`)."""

    def __init__(self) -> None:
        super().__init__(lambda value: True, "must be 'auto' or a torch device such as 'cpu', 'cuda', 'cuda:0', 'mps'")

    def check(self, value: Any, where: str) -> None:
        check_device_name(value, where)


def one_of(*choices: Any) -> Rule:
    """A value among ``choices``."""
    words = ", ".join("None" if choice is None else str(choice) for choice in choices)
    return Rule(lambda value: value in choices, f"must be one of {words}")


POSITIVE_INT = Rule(lambda value: _is_int(value) and value >= 1, "must be an integer of at least 1")
OPTIONAL_POSITIVE_INT = Rule(lambda value: value is None or (_is_int(value) and value >= 1),
                             "must be None or an integer of at least 1")
"""A count, or ``None`` for all (or torch's default)."""
NON_NEGATIVE_INT = Rule(lambda value: _is_int(value) and value >= 0, "must be an integer of at least 0")
"""A count where 0 means none (no gallery, no thumbnails, a linear regressor)."""
FRACTION = Rule(lambda value: _is_number(value) and 0 < value < 1, "must be a fraction strictly between 0 and 1")
"""A share strictly between 0 and 1 (0 or 1 would leave one side of a split empty)."""
FRACTIONS = Rule(lambda value: _is_sequence(value) and all(_is_number(v) and 0 < v < 1 for v in value),
                 "must be a non-empty list of fractions strictly between 0 and 1")
POSITIVE_INTS = Rule(lambda value: _is_sequence(value) and all(_is_int(v) and v >= 1 for v in value),
                     "must be a non-empty list of integers of at least 1")
LEARNING_RATE = Rule(lambda value: _is_number(value) and value > 0, "must be a number greater than 0")
NON_NEGATIVE_NUMBER = Rule(lambda value: _is_number(value) and value >= 0, "must be a number of at least 0")
DEVICE = DeviceRule()
OPTIONAL_BUDGET = Rule(lambda value: value is None or value in BUDGETS, f"must be None or one of {', '.join(BUDGETS)}")


def setting(
    default: Any = dataclasses.MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    rule: Rule | None = None,
    shapes: str | tuple[str, ...] = EVERY_RUN,
    split: bool = False,
) -> Any:
    """A config field with its declarations (``dataclasses.field`` metadata).

    Args:
        default: the value (or ``factory`` makes it, for paths and other mutable values).
        rule: how the value is checked when the config is built and on every assignment (``None``: any value).
        shapes: the parts of the notebook's runs (keys of the config's ``runs`` values) whose weights the field
            shapes: :data:`EVERY_RUN` (the default), a tuple such as ``("devise",)``, or :data:`NO_MODEL`.
        split: the field shapes the split folder the split scripts make (its ``split_settings.json``).
    """
    metadata = {"rule": rule, "shapes": shapes, "split": split}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _shown(value: Any) -> str:
    """A field's value as a config table shows it: paths and strings bare, the rest as Python writes them."""
    return str(value) if isinstance(value, (str, Path)) else repr(value)


def field_shapes(item: dataclasses.Field) -> str | tuple[str, ...]:
    """What ``item`` declares it shapes; :data:`EVERY_RUN` when it declares nothing."""
    return item.metadata.get("shapes", EVERY_RUN)


KNOWN_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


def check_device_name(name: Any, where: str) -> None:
    """Raise :class:`DeviceError` naming ``where`` unless ``name`` is ``auto`` or a device torch can parse."""
    if not isinstance(name, str) or not name.strip():
        raise DeviceError(f"{where} = {name!r}: must be 'auto' or a torch device such as 'cpu', 'cuda', 'cuda:0', 'mps'")
    text = name.strip().lower()
    if text == "auto":
        return
    kind, _, index = text.partition(":")
    if kind in KNOWN_DEVICE_TYPES and (not index or index.isdigit()):
        return
    try:
        import torch

        torch.device(text)
    except ImportError:
        pass
    except (RuntimeError, ValueError, TypeError):
        raise DeviceError(
            f"{where} = {name!r}: not a device torch can parse; use 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps'"
        ) from None
    else:
        return
    raise DeviceError(f"{where} = {name!r}: must be 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps'")


def data_dir() -> Path:
    """Root of the real data sets (``$ZSL_DATA_DIR``, default ``<repo>/data``)."""
    return Path(os.environ.get("ZSL_DATA_DIR", REPO_ROOT / "data")).expanduser()


def outputs_dir() -> Path:
    """Root of everything a run writes (``$ZSL_OUTPUTS_DIR``, default ``<repo>/outputs``); git-ignored."""
    return Path(os.environ.get("ZSL_OUTPUTS_DIR", REPO_ROOT / "outputs")).expanduser()


TINY_IMAGES_PER_CLASS = 4
"""Images per class of the ``tiny`` budget: enough for a train/valid split of every seen class."""


def run_label(profile: str, budget: str | None = None, seed: int = 0) -> str:
    """The folder name of a profile's outputs: ``full``, ``full-tiny`` under a budget override (so that a rehearsal
    never mixes its splits and checkpoints with the real run's), ``sample-seed1`` for a seed other than 0 (so the
    runs of a seed sweep stand apart, and seed 0 keeps the folders it always had)."""
    label = profile if budget is None else f"{profile}-{budget}"
    return label if seed == 0 else f"{label}-seed{seed}"


def awa2_split_dir(config: BaseConfig) -> Path:
    """The default ``split_dir``: ``<outputs>/awa2_split/<run label>``, shared by notebook 00 (which writes it) and
    notebooks 01–04 (which read it)."""
    return config.output_folder("awa2_split")


@dataclass
class BaseConfig:
    """Fields every notebook shares. Subclasses add their knobs and per-profile defaults.

    Attributes:
        profile: ``smoke``, ``sample`` or ``full`` (the data and the budget).
        seed: seeds data order, augmentation and initialisation (default ``$ZSL_SEED`` or 0); a seed other than 0
            has folders of its own (:func:`run_label`).
        device: ``auto``, ``cpu``, ``cuda``, ... (``$ZSL_DEVICE`` overrides it).
        outputs: the root everything of this run is written under.
        budget: ``None`` (the profile's own budget), ``tiny`` (one epoch, a few images per class, small
            images, no ``lr_find``: a rehearsal of the profile's data path in minutes on a CPU) or ``tiny-gpu``
            (the same at the profile's image size, weights and precision: :data:`GPU_FIDELITY_FIELDS`).
        retrain: train every model of the notebook even if a checkpoint with the same settings exists.
    """

    runs: ClassVar[dict[str, tuple[str, ...]]] = {}
    """The kinds of run (checkpoint) this notebook trains, ``{run: the parts it is built from}``; a field shapes a run
    when it declares one of the run's parts (or :data:`EVERY_RUN`). E.g. DeViSE's ``validation_devise`` is built from
    ``("stage1", "devise", "validation")``: stage 1's fields, DeViSE's and the γ run's all shape it."""

    # The profile, budget and seed pick the run folder (``run_label``), so two profiles never share a checkpoint.
    profile: str = setting(DEFAULT_PROFILE, rule=one_of(*PROFILES), shapes=NO_MODEL)
    seed: int = setting(factory=current_seed, rule=NON_NEGATIVE_INT, split=True)
    device: str = setting("auto", rule=DEVICE, shapes=NO_MODEL)
    outputs: Path = setting(factory=outputs_dir, shapes=NO_MODEL)
    budget: str | None = setting(None, rule=OPTIONAL_BUDGET, shapes=NO_MODEL)
    retrain: bool = setting(False, shapes=NO_MODEL)

    def __post_init__(self) -> None:
        self.validate()
        # Path fields left at None follow ``outputs`` (and the profile) from now on, until set by hand.
        object.__setattr__(self, "_derived_paths", tuple(name for name in self.derived_paths() if getattr(self, name) is None))
        self._derive_paths()
        object.__setattr__(self, "_check_assignments", True)

    @classmethod
    def derived_paths(cls) -> dict[str, Any]:
        """Path fields whose ``None`` means a default place under the config's own ``outputs``: ``{field: function of
        the config}``. Such a field is derived again after every assignment (``config.outputs = drive`` moves the
        split folder too), until it is set by hand; setting it back to ``None`` derives it again."""
        return {}

    def _derive_paths(self) -> None:
        derive = self.derived_paths()
        for name in self.__dict__.get("_derived_paths", ()):
            object.__setattr__(self, name, derive[name](self))

    def __setattr__(self, key: str, value: Any) -> None:
        """Once built, a config checks every assignment as it checks a new config: ``config.epochs = 0`` in a
        notebook's settings cell fails there, naming the field, instead of deep inside training; a misspelt
        field (``config.epoch = 5``) is an error, not a new attribute nobody reads. A refused value is not kept."""
        if not self.__dict__.get("_check_assignments"):
            object.__setattr__(self, key, value)
            return
        if key not in self.__dataclass_fields__:
            close = difflib.get_close_matches(key, list(self.__dataclass_fields__), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownFieldError(f"{type(self).__name__} has no field {key!r}{hint}")
        previous = getattr(self, key)
        object.__setattr__(self, key, value)
        try:
            self.validate()
        except ConfigError:
            object.__setattr__(self, key, previous)
            raise
        if key in self.derived_paths():
            derived = tuple(name for name in self._derived_paths if name != key)
            object.__setattr__(self, "_derived_paths", derived + ((key,) if value is None else ()))
        self._derive_paths()

    def validate(self) -> None:
        """Check every field; called when the config is built (directly or by :meth:`for_profile`) and after
        every assignment to a field.

        Raises:
            ConfigError: naming the class, the field, the value and what is allowed, e.g.
                ``SiameseConfig.epochs = 0: must be at least 1``.
        """
        name = type(self).__name__
        for item in dataclasses.fields(self):
            rule = item.metadata.get("rule")
            if rule is not None:
                rule.check(getattr(self, item.name), f"{name}.{item.name}")

    def settings_rows(self) -> list[dict[str, str]]:
        """The config as a notebook shows it: one row per field — ``field``, ``value``, the ``profile default`` where
        the value differs from what :meth:`for_profile` gives this profile and budget (empty otherwise), and what
        the field ``shapes`` (the runs whose models it shapes, ``every model``, or ``nothing trained``: what is
        shown, where files go). Changed fields come first, then the rest in declaration order."""
        try:
            defaults = type(self).for_profile(self.profile, self.budget)
        except ConfigError:  # the environment names another profile's values wrongly: show the values alone
            defaults = self
        rows = []
        for item in dataclasses.fields(self):
            value, default = getattr(self, item.name), getattr(defaults, item.name)
            shapes = field_shapes(item)
            rows.append({
                "field": item.name,
                "value": _shown(value),
                "profile default": "" if value == default else _shown(default),
                "shapes": "every model" if shapes == EVERY_RUN else ", ".join(shapes) or "nothing trained",
            })
        return sorted(rows, key=lambda row: row["profile default"] == "")

    def _repr_html_(self) -> str:
        """Jupyter's view of a config cell's ``config``: a table, changed fields first and in bold (a dataclass repr
        is one line of a thousand characters)."""
        rows = self.settings_rows()
        cells = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{'<b>' if row['profile default'] else ''}"
                             f"{html.escape(row[key])}{'</b>' if row['profile default'] else ''}</td>"
                             for key in ("field", "value", "profile default", "shapes")) + "</tr>"
            for row in rows)
        changed = sum(bool(row["profile default"]) for row in rows)
        header = "".join(f"<th style='text-align:left'>{key}</th>" for key in ("field", "value", "profile default",
                                                                                "shapes"))
        return (f"<p><b>{type(self).__name__}</b>, profile <code>{html.escape(self.profile)}</code>: {changed} of "
                f"{len(rows)} fields changed from the profile's defaults (listed first, in bold)</p>"
                f"<table><thead><tr>{header}</tr></thead><tbody>{cells}</tbody></table>")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # IPython prefers a class's own __repr__ (each @dataclass writes one) to a _repr_pretty_ it inherits.
        cls._repr_pretty_ = BaseConfig._repr_pretty_

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """The same table as text, one field per line (IPython's plain-text view)."""
        rows = self.settings_rows()
        width = max(len(row["field"]) for row in rows)
        lines = [f"{type(self).__name__} (profile {self.profile})"]
        for row in rows:
            changed = f"   (profile: {row['profile default']})" if row["profile default"] else ""
            lines.append(f"  {row['field']:<{width}}  {row['value']}{changed}")
        printer.text("\n".join(lines))

    @classmethod
    def shaping_fields(cls, run: str) -> tuple[str, ...]:
        """The fields that shape run ``run`` (a key of :attr:`runs`), in declaration order: every field that declares
        :data:`EVERY_RUN` or one of the run's parts.

        Raises:
            KeyError: naming the run and the config's runs, if ``run`` is not one of them.
        """
        if run not in cls.runs:
            raise KeyError(f"{cls.__name__} trains no run {run!r}; its runs: {', '.join(cls.runs) or 'none'}")
        parts = set(cls.runs[run])
        names = []
        for item in dataclasses.fields(cls):
            shapes = field_shapes(item)
            if shapes == EVERY_RUN or parts & set(shapes):
                names.append(item.name)
        return tuple(names)

    @classmethod
    def split_fields(cls) -> tuple[str, ...]:
        """The fields that shape the split folder (declared ``split=True``), in declaration order."""
        return tuple(item.name for item in dataclasses.fields(cls) if item.metadata.get("split"))

    @property
    def run_label(self) -> str:
        """The folder name of this profile's outputs (:func:`run_label`): ``full``, ``full-tiny``, ..."""
        return run_label(self.profile, self.budget, self.seed)

    stage_folder: ClassVar[str | None] = None
    """The kind of this notebook's run folder (``run_dir``); ``None``: it has none (notebook 00)."""

    @property
    def run_dir(self) -> Path:
        """Where this notebook's checkpoints, logs and resolved configs go: ``<outputs>/<stage_folder>/<run label>``."""
        if self.stage_folder is None:
            raise AttributeError(f"{type(self).__name__} has no run folder (it trains nothing)")
        return self.output_folder(self.stage_folder)

    def output_folder(self, kind: str) -> Path:
        """``<outputs>/<kind>/<run label>``: the one layout of everything a run writes — ``devise``,
        ``attribute_zsl``, ``siamese``, ``sdl``, ``search`` (a stage's ``run_dir``), ``awa2_split`` (the split
        folders), ``image_cache``. One profile and budget never reads another's files."""
        return Path(self.outputs) / kind / self.run_label

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        """Per-profile field values, ``{profile: {field: value}}``; subclasses override."""
        return {}

    @classmethod
    def budget_defaults(cls) -> dict[str, dict[str, Any]]:
        """Per-budget field values applied over the profile's, ``{budget: {field: value}}``; subclasses override."""
        return {}

    @classmethod
    def for_profile(cls, profile: str | None = None, budget: str | None = None, **overrides: Any):
        """The config of ``profile`` (default: ``$ZSL_PROFILE``) under ``budget`` (default: ``$ZSL_BUDGET``),
        with ``overrides`` applied last."""
        name = current_profile(profile)
        budget_name = current_budget(budget)
        values = dict(cls.profile_defaults().get(name, {}))
        if budget_name == "tiny-gpu":
            tiny = cls.budget_defaults().get("tiny", {})
            values.update({key: value for key, value in tiny.items() if key not in GPU_FIDELITY_FIELDS})
        elif budget_name is not None:
            values.update(cls.budget_defaults().get(budget_name, {}))
        values.update(overrides)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise UnknownFieldError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
        return cls(profile=name, budget=budget_name, **values)

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
        awa2_split: which classes are unseen (:data:`AWA2_SPLITS`): ``standard`` (``smoke``, ``sample``) or
            ``proposed`` (``full``: its pretrained bodies saw ImageNet, which holds the standard unseen classes).
        xlsa17_dir: the xlsa17 ``AWA2`` folder whose ``att_splits.mat`` (and ``res101.mat``'s labels) give the
            proposed split; read only when ``awa2_split`` is ``proposed``.
        valid_fraction: share of each seen class moved into ``valid/``.
        test_seen_fraction: share of each seen class copied into ``test_seen/``: the seen test images (GZSL's S),
            which no choice (checkpoint, γ) touches.
        images_per_class: cap on images per class copied (``None``: all).
        split_dir: where the split scripts write ``train/``, ``valid/``, ``test_seen/`` and ``test/`` (``None``:
            ``<outputs>/awa2_split/<run label>``, the folder notebooks 01–04 read).
        split_link: make the split with hard links instead of copies (``copy_awa2 --link``): no disk
            space, same files; copies where links are impossible (``full``: on, the rest: off).
        show_images_per_class: thumbnails per class in the image grid.
    """

    awa2_dir: Path = setting(factory=lambda: DATA_SAMPLES_DIR / "awa2", split=True)
    word_vectors: str = str(DATA_SAMPLES_DIR / "word_vectors" / "awa2_classes.vec")
    awa2_split: str = setting("standard", rule=one_of(*AWA2_SPLITS), split=True)
    xlsa17_dir: Path = setting(factory=lambda: data_dir() / "xlsa17" / "data" / "AWA2")
    valid_fraction: float = setting(0.1, rule=FRACTION, split=True)
    test_seen_fraction: float = setting(0.2, rule=FRACTION, split=True)
    images_per_class: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, split=True)
    split_dir: Path | None = None
    # Links and copies hold the same files: switching does not remake a recorded split.
    split_link: bool = False
    show_images_per_class: int = setting(4, rule=NON_NEGATIVE_INT)

    @classmethod
    def derived_paths(cls) -> dict[str, Any]:
        return {"split_dir": awa2_split_dir}

    def datasets_to_check(self) -> dict[str, Path]:
        """Every data set the course reads in this profile, ``{data set: path}`` (the keys name the download):
        the sample world's folders, or in ``full`` the real ones under ``$ZSL_DATA_DIR``."""
        if self.profile != "full":
            return {"awa2": Path(self.awa2_dir), "cifar100": DATA_SAMPLES_DIR / "cifar100",
                    "scenes": DATA_SAMPLES_DIR / "scenes", "word_vectors": Path(self.word_vectors)}
        return {
            "awa2": Path(self.awa2_dir),
            "xlsa17": data_dir() / "xlsa17",
            "cifar100": data_dir() / "cifar-100-python",
            "nus_wide": data_dir() / "nus_wide",
            "nus_wide_label_vectors": data_dir() / "ZS_SDL" / "data" / "NUS_WIDE",
            "fasttext": Path(self.word_vectors),
        }

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "smoke": {"images_per_class": 12},
            "sample": {},
            "full": {
                "awa2_dir": data_dir() / "Animals_with_Attributes2",
                "word_vectors": str(data_dir() / "fasttext" / "cc.en.300.bin"),
                "awa2_split": "proposed",
                "split_link": True,
            },
        }

    @classmethod
    def budget_defaults(cls) -> dict[str, dict[str, Any]]:
        return {"tiny": {"images_per_class": TINY_IMAGES_PER_CLASS, "show_images_per_class": 2}}


@dataclass
class AttributeZslConfig(BaseConfig):
    """Notebook 05: attribute-based zero-shot learning (an attribute network trained end to end on images) and ReMSE
    vs MSE on features (ReZSL).

    Attributes:
        awa2_dir: AwA2-format folder whose images the end-to-end model trains on.
        xlsa17_dir: folder holding ``res101.mat`` + ``att_splits.mat``. In ``smoke``/``sample`` the
            notebook writes it from the sample world's backbone features (``None``:
            ``<run_dir>/xlsa17/<xlsa17_dataset>``); in ``full`` it is the real ``xlsa17/data/<DATASET>`` folder.
        xlsa17_dataset: ``AWA2``, ``CUB`` or ``SUN``: picks ReZSL's hyper-parameters (and, in
            ``full``, the folder).
        export_features: write ``xlsa17_dir`` from the end-to-end backbone (True) or read real files.
        backbone: ``resnet50`` (the original project's), ``resnet18``, ``small_cnn`` or ``tiny_cnn``.
        pretrained: ImageNet weights for the ResNet (the original project trained without).
        image_size: side of the square input images in pixels.
        images_per_class: cap on images per class (``None``: all).
        image_epochs, image_batch_size, image_learning_rate, image_schedule: end-to-end training
            (the original project: 25 epochs, batch 24, Adam 2.5e-5, ``constant``; ``one_cycle`` for short CPU runs).
        test_seen_fraction: share of each seen class held out as ``test_seen`` (xlsa17: about 20%).
        n_validation_classes: seen classes carved out as pseudo-unseen to choose the calibration γ, drawn with the
            seed where the xlsa17 folder gives no validation classes of its own (``valclasses1.txt``).
        losses: the losses compared on features (keys of ``models.losses.ATTRIBUTE_LOSSES``).
        regressor_hidden: hidden units of the feature regressor (0: linear).
        feature_epochs, feature_batch_size, feature_learning_rate, weight_decay: feature training.
        remse_p, remse_p2, lambda_regression: ReMSE exponents and weight (``None``: ReZSL's values
            for ``xlsa17_dataset``); lambda_ce: weight of the scaled-cosine CE; cosine_scale: its scale.
        n_gammas: size of the calibrated-stacking grid searched on validation data.
        distances: nearest-class distances compared for the attribute network.
        mixed_precision: ``torch.autocast`` float16 with a gradient scaler while the attribute network trains on CUDA
            (ignored on the CPU).
        image_cache: read AwA2's images through the image cache (``utils.training.image_cache``): each resized once
            to ``cache_side`` on its shorter side, built on first use (``full``; the sample world's images
            are small already).
        cache_side: the cached shorter side in pixels (256 for 224-pixel training).
        cache_root: the cache's folder (``None``: ``<outputs>/image_cache/<run label>``, shared by the
            profile's notebooks).
    """

    stage_folder: ClassVar[str | None] = "attribute_zsl"
    runs: ClassVar[dict[str, tuple[str, ...]]] = {
        "attribute_network": ("images",),  # the end-to-end attribute network on AwA2's images
        "feature_regressor": ("features",),  # one per loss and class split, on (exported or xlsa17) features
    }

    awa2_dir: Path = setting(factory=lambda: DATA_SAMPLES_DIR / "awa2", shapes=("images",))
    # The regressors record the features' content hash, so where they are read from shapes nothing.
    xlsa17_dir: Path | None = setting(None, shapes=NO_MODEL)
    xlsa17_dataset: str = setting("AWA2", shapes=("features",))  # picks ReZSL's defaults of the None options
    export_features: bool = setting(True, shapes=NO_MODEL)
    backbone: str = setting("small_cnn", shapes=("images",))
    pretrained: bool = setting(False, shapes=("images",))
    image_size: int = setting(48, rule=POSITIVE_INT, shapes=("images",))
    images_per_class: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, shapes=("images",))
    image_epochs: int = setting(12, rule=POSITIVE_INT, shapes=("images",))
    image_batch_size: int = setting(64, rule=POSITIVE_INT, shapes=("images",))
    image_learning_rate: float = setting(3e-3, rule=LEARNING_RATE, shapes=("images",))
    image_schedule: str = setting("one_cycle", shapes=("images",))
    test_seen_fraction: float = setting(0.2, rule=FRACTION, shapes=("images",))
    n_validation_classes: int = setting(10, rule=POSITIVE_INT, shapes=("images",))
    losses: tuple[str, ...] = setting(("mse", "remse_in_batch", "remse_cross_batch", "bce"), shapes=NO_MODEL)
    regressor_hidden: int = setting(256, rule=NON_NEGATIVE_INT, shapes=("features",))
    feature_epochs: int = setting(30, rule=POSITIVE_INT, shapes=("features",))
    feature_batch_size: int = setting(64, rule=POSITIVE_INT, shapes=("features",))
    feature_learning_rate: float = setting(1e-3, rule=LEARNING_RATE, shapes=("features",))
    weight_decay: float = setting(1e-4, rule=NON_NEGATIVE_NUMBER)
    remse_p: float | None = setting(None, shapes=("features",))
    remse_p2: float | None = setting(None, shapes=("features",))
    lambda_regression: float | None = setting(None, shapes=("features",))
    lambda_ce: float = setting(1.0, shapes=("features",))
    cosine_scale: float = setting(20.0, shapes=("features",))
    n_gammas: int = setting(81, rule=POSITIVE_INT, shapes=NO_MODEL)
    distances: tuple[str, ...] = setting(("euclidean", "cosine", "hamming"), shapes=NO_MODEL)
    mixed_precision: bool = setting(False, shapes=("images",))
    image_cache: bool = setting(False, shapes=("images",))  # the cached pixels differ slightly from a resize
    cache_side: int = setting(256, rule=POSITIVE_INT, shapes=("images",))
    cache_root: Path | None = setting(None, shapes=NO_MODEL)

    @classmethod
    def derived_paths(cls) -> dict[str, Any]:
        return {"xlsa17_dir": lambda config: config.run_dir / "xlsa17" / config.xlsa17_dataset}

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "smoke": {
                "backbone": "tiny_cnn",
                "image_size": 32,
                "images_per_class": 10,
                "image_epochs": 1,
                "n_validation_classes": 8,
                "regressor_hidden": 64,
                "feature_epochs": 2,
                "n_gammas": 21,
            },
            "sample": {},
            "full": {
                "awa2_dir": data_dir() / "Animals_with_Attributes2",
                "xlsa17_dir": data_dir() / "xlsa17" / "data" / "AWA2",
                "export_features": False,
                "backbone": "resnet50",
                "image_size": 224,
                "image_epochs": 25,
                "image_batch_size": 24,
                "image_learning_rate": 2.5e-5,
                "image_schedule": "constant",
                "mixed_precision": True,
                "image_cache": True,
                "n_validation_classes": 13,
                "regressor_hidden": 1024,
                "feature_epochs": 50,
                "feature_batch_size": 256,
                "feature_learning_rate": 5e-4,
            },
        }

    @classmethod
    def budget_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "tiny": {
                "pretrained": False,
                "image_size": 32,
                "cache_side": 64,  # the tiny analogue of 256 px for 224 px: the cache is exercised
                "images_per_class": TINY_IMAGES_PER_CLASS * 2,
                "image_epochs": 1,
                "image_batch_size": 16,
                "regressor_hidden": 64,
                "feature_epochs": 1,
                "n_gammas": 11,
            },
        }


@dataclass
class SiameseConfig(BaseConfig):
    """Notebook 06: a Siamese triplet network, one-shot on held-out CIFAR-100 classes, split sweep.

    Attributes:
        cifar100_dir: a ``cifar-100-python`` folder; ``None`` uses the sample world (the committed one,
            or a larger variant generated once into ``<outputs>/sample_world/`` when ``sample_train_per_class``
            is set).
        sample_train_per_class: training images per class of the generated sample variant (``None``: the
            committed 20).
        sample_test_per_class: test images per class of the generated sample variant.
        train_fraction: share of the classes trained on in the detailed study (``0.5``: the 50-50 split).
        sweep_fractions: the splits of the sweep (``0.1``: 10-90, ..., ``0.9``: 90-10).
        class_split_dir: a folder of CIFAR-FS lists (``train.txt``, ``val.txt``, ``test.txt``) to use
            instead of ``train_fraction`` in the detailed study; ``None``: a seeded ratio split.
        validation_fraction: share of each train class's images kept for validation.
        max_images_per_class: cap per class and file (smoke subsets); ``None``: all.
        backbone: ``resnet20``, ``resnet32``, ``resnet56`` or ``small_convnet``.
        embedding_dim: size of the L2-normalised embedding.
        loss: ``triplet`` or ``contrastive``.
        distance: ``cosine`` or ``euclidean``.
        mining: triplet mining in each batch: ``semihard``, ``hardest`` or ``all``.
        margin: the triplet (or contrastive) margin.
        epochs, learning_rate, weight_decay, batch_size: Adam training.
        m_per_class: images per class in each batch (pytorch-metric-learning's ``MPerClassSampler``).
        augment: random crops (4-pixel padding) and horizontal flips.
        mixed_precision: ``torch.autocast`` float16 on CUDA (ignored on the CPU).
        n_triplets, n_pairs: random triplets / pairs for triplet and binary accuracy.
        n_support_draws: draws of the support set for N-way 1-shot accuracy.
        n_episodes, n_query: 5-way episodes and queries per class for episode accuracy.
        digits_epochs: epochs of the handwritten-digits Siamese model (the interactive extra).
        retrain: train even if a checkpoint exists.
        progress: show progress bars.
        cpu_threads: torch's intra-op threads on the CPU while training and evaluating (``None``: torch's
            default, one per core); 1 avoids thread contention on a machine shared with other jobs.
        checkpoint_dir: runs go to ``checkpoint_dir/<run label>/<run name>/`` (``None``: ``<outputs>/siamese``, the
            layout of every stage).
    """

    stage_folder: ClassVar[str | None] = "siamese"
    runs: ClassVar[dict[str, tuple[str, ...]]] = {
        "siamese": ("siamese",),  # one per class split, which the run records
        "digits": ("digits",),  # the handwritten-digits model (its recipe is fixed: utils.stages.digits)
    }

    cifar100_dir: Path | None = setting(None, shapes=("siamese",))
    sample_train_per_class: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, shapes=("siamese",))
    sample_test_per_class: int = setting(10, rule=POSITIVE_INT, shapes=("siamese",))
    # Which class splits run; each run records its own split.
    train_fraction: float = setting(0.5, rule=FRACTION, shapes=NO_MODEL)
    sweep_fractions: tuple[float, ...] = setting((0.1, 0.3, 0.5, 0.7, 0.9), rule=FRACTIONS, shapes=NO_MODEL)
    class_split_dir: Path | None = setting(None, shapes=NO_MODEL)
    validation_fraction: float = setting(0.1, rule=FRACTION, shapes=("siamese",))
    max_images_per_class: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, shapes=("siamese",))
    backbone: str = setting("resnet20", shapes=("siamese",))
    embedding_dim: int = setting(64, rule=POSITIVE_INT, shapes=("siamese",))
    loss: str = setting("triplet", shapes=("siamese",))
    distance: str = setting("cosine", shapes=("siamese",))
    mining: str = setting("semihard", shapes=("siamese",))
    margin: float = setting(0.2, shapes=("siamese",))
    epochs: int = setting(8, rule=POSITIVE_INT, shapes=("siamese",))
    learning_rate: float = setting(1e-3, rule=LEARNING_RATE, shapes=("siamese",))
    weight_decay: float = setting(5e-4, rule=NON_NEGATIVE_NUMBER, shapes=("siamese",))
    batch_size: int = setting(128, rule=POSITIVE_INT, shapes=("siamese",))
    m_per_class: int = setting(4, rule=POSITIVE_INT, shapes=("siamese",))
    augment: bool = setting(True, shapes=("siamese",))
    mixed_precision: bool = setting(False, shapes=("siamese",))
    # The validation triplets that choose the best epoch are drawn from this many.
    n_triplets: int = setting(10_000, rule=POSITIVE_INT, shapes=("siamese",))
    n_pairs: int = setting(4_000, rule=POSITIVE_INT, shapes=NO_MODEL)
    n_support_draws: int = setting(10, rule=POSITIVE_INT, shapes=NO_MODEL)
    n_episodes: int = setting(600, rule=POSITIVE_INT, shapes=NO_MODEL)
    n_query: int = setting(15, rule=POSITIVE_INT, shapes=NO_MODEL)
    digits_epochs: int = setting(20, rule=POSITIVE_INT, shapes=("digits",))
    progress: bool = setting(False, shapes=NO_MODEL)
    cpu_threads: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, shapes=NO_MODEL)
    checkpoint_dir: Path | None = setting(None, shapes=NO_MODEL)

    @classmethod
    def derived_paths(cls) -> dict[str, Any]:
        return {"checkpoint_dir": lambda config: Path(config.outputs) / config.stage_folder}

    @property
    def run_dir(self) -> Path:
        """Where this profile's runs go: ``<checkpoint_dir>/<run label>`` (by default ``output_folder("siamese")``)."""
        return Path(self.checkpoint_dir) / self.run_label

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "smoke": {
                "sweep_fractions": (0.5, 0.9),
                "backbone": "small_convnet",
                "epochs": 1,
                "n_triplets": 2_000,
                "n_pairs": 1_000,
                "n_support_draws": 3,
                "n_episodes": 100,
                "n_query": 5,
                "digits_epochs": 3,
                "cpu_threads": 1,
            },
            "sample": {"sample_train_per_class": 50, "sample_test_per_class": 20, "epochs": 3},
            "full": {
                "cifar100_dir": data_dir() / "cifar-100-python",
                "backbone": "resnet56",
                "epochs": 150,
                "mixed_precision": True,
                "n_pairs": 10_000,
                "n_support_draws": 20,
                "n_episodes": 2_000,
                "progress": True,
            },
        }

    @classmethod
    def budget_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "tiny": {
                "sweep_fractions": (0.5, 0.9),
                "max_images_per_class": 20,
                "epochs": 1,
                "n_triplets": 1_000,
                "n_pairs": 500,
                "n_support_draws": 2,
                "n_episodes": 50,
                "n_query": 3,
                "digits_epochs": 1,
                "progress": False,
            },
        }


@dataclass
class SdlConfig(BaseConfig):
    """Notebook 07: multi-label zero-shot learning with Semantic Diversity Learning (SDL).

    Ben-Cohen et al., "Semantic Diversity Learning for Zero-Shot Multi-label Classification", ICCV 2021,
    arXiv 2105.05926 (seed: TResNet-M, Adam 2.5e-5, one-cycle, 10 epochs, M = 7, λ = 0.01).

    Attributes:
        scenes_dir: a multi-label folder in the scenes format (``utils.datasets.scenes``): the sample
            world's ``data_samples/scenes`` or, in ``full``, ``$ZSL_DATA_DIR/nus_wide`` (layout in
            ``utils.stages.sdl``).
        label_vectors_dir: an SDL label-vector folder (``wordvec_array.pickle``, ``classes.pickle``,
            ``unseen_classes.pickle``); ``None``: ``scenes_dir/label_vectors``. In ``full`` ZS_SDL's
            ``data/NUS_WIDE``, which also names the 1006 labels and the 81 unseen ones.
        backbone: ``small_cnn``, ``tiny_cnn``, ``resnet18``, ``resnet34`` or ``resnet50`` (the seed's
            TResNet-M is not in torchvision; ``full`` uses an ImageNet ResNet-50 instead).
        pretrained: ImageNet weights for the ResNet.
        image_size: side of the square input images in pixels (seed: 224 to 608).
        n_principal_vectors: ``M``, columns of the embedding matrix of the main model.
        use_diversity_weight: weigh each image's ranking loss by its labels' semantic diversity.
        regularization_weight: ``λ`` of the column-variance regulariser (seed's training script: 0.01).
        epochs, batch_size, learning_rate, weight_decay, schedule: AdamW training (``one_cycle`` or
            ``constant``).
        comparison_principal_vectors: the values of ``M`` compared, each with and without the weight.
        top_k: the ``k`` of precision / recall / F1 at top-k.
        max_train_images, max_test_images: caps on the images used (``None``: all).
        gallery_size: test scenes shown with their predicted tags.
        retrain: train even if a checkpoint exists.
        cpu_threads: torch CPU threads while training (``None``: torch's default).
        verbose: print one line per epoch.
        mixed_precision: ``torch.autocast`` float16 with a gradient scaler while training on CUDA (ignored on
            the CPU).
        image_cache: read the images through the image cache (``utils.training.image_cache``): each resized once to
            ``cache_side`` on its shorter side, built on first use (``full``).
        cache_side: the cached shorter side in pixels (256 for 224-pixel training).
        cache_root: the cache's folder (``None``: ``<outputs>/image_cache/<run label>``, shared by the
            profile's notebooks).
    """

    stage_folder: ClassVar[str | None] = "sdl"
    runs: ClassVar[dict[str, tuple[str, ...]]] = {"sdl": ("sdl",)}  # one per variant (M, weight), which it records

    scenes_dir: Path = setting(factory=lambda: DATA_SAMPLES_DIR / "scenes")
    label_vectors_dir: Path | None = None
    backbone: str = "small_cnn"
    pretrained: bool = False
    image_size: int = setting(64, rule=POSITIVE_INT)
    # Which variant is the main model; each variant's run records its own M and weighting.
    n_principal_vectors: int = setting(7, rule=POSITIVE_INT, shapes=NO_MODEL)
    use_diversity_weight: bool = setting(True, shapes=NO_MODEL)
    regularization_weight: float = 0.01
    epochs: int = setting(30, rule=POSITIVE_INT)
    batch_size: int = setting(32, rule=POSITIVE_INT)
    learning_rate: float = setting(3e-3, rule=LEARNING_RATE)
    weight_decay: float = setting(1e-4, rule=NON_NEGATIVE_NUMBER)
    schedule: str = "one_cycle"
    comparison_principal_vectors: tuple[int, ...] = setting((1, 7), rule=POSITIVE_INTS, shapes=NO_MODEL)
    top_k: tuple[int, ...] = setting((3, 5), rule=POSITIVE_INTS, shapes=NO_MODEL)
    max_train_images: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT)
    max_test_images: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, shapes=NO_MODEL)
    gallery_size: int = setting(8, rule=NON_NEGATIVE_INT, shapes=NO_MODEL)
    cpu_threads: int | None = setting(1, rule=OPTIONAL_POSITIVE_INT, shapes=NO_MODEL)
    verbose: bool = setting(True, shapes=NO_MODEL)
    mixed_precision: bool = False
    image_cache: bool = False  # the cached pixels differ slightly from a resize of the original
    cache_side: int = setting(256, rule=POSITIVE_INT)
    cache_root: Path | None = setting(None, shapes=NO_MODEL)

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "smoke": {
                "backbone": "tiny_cnn",
                "image_size": 32,
                "epochs": 2,
                "max_train_images": 160,
                "max_test_images": 80,
                "gallery_size": 4,
                "verbose": False,
            },
            "sample": {},
            "full": {
                "scenes_dir": data_dir() / "nus_wide",
                "label_vectors_dir": data_dir() / "ZS_SDL" / "data" / "NUS_WIDE",
                "backbone": "resnet50",
                "pretrained": True,
                "image_size": 224,
                "epochs": 10,
                "batch_size": 48,
                "learning_rate": 2.5e-5,
                "cpu_threads": None,
                "mixed_precision": True,
                "image_cache": True,
            },
        }

    @classmethod
    def budget_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "tiny": {
                "pretrained": False,
                "image_size": 32,
                "cache_side": 64,  # the tiny analogue of 256 px for 224 px: the cache is exercised
                "epochs": 1,
                "batch_size": 16,
                "max_train_images": 64,
                "max_test_images": 32,
                "gallery_size": 4,
                "verbose": False,
            },
        }



@dataclass
class DeviseConfig(BaseConfig):
    """Notebooks 01–03: a stage-1 classifier, DeViSE on top of its body (stage 2), error analysis.

    Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013.

    Attributes:
        awa2_dir: AwA2-format folder (``JPEGImages/``, ``classes.txt``, ``trainclasses.txt``, ...).
        word_vectors: ``.vec``/``.bin`` file (or ``glove:6B-50d``) giving each class name a label vector.
        awa2_split: which classes are unseen (:data:`AWA2_SPLITS`): ``standard`` (``smoke``, ``sample``) or
            ``proposed`` (``full``: ImageNet, which its pretrained bodies saw, holds the standard unseen classes).
        xlsa17_dir: the xlsa17 ``AWA2`` folder whose ``att_splits.mat`` (and ``res101.mat``'s labels) give the
            proposed split; read only when ``awa2_split`` is ``proposed``.
        split_dir: the folders of the split scripts (``train/`` + ``valid/`` + ``test_seen/`` seen, ``test/`` unseen);
            written by ``utils.splits.copy_awa2`` and ``utils.splits.move_awa2`` if absent (``None``:
            ``<outputs>/awa2_split/<run label>``, the folder notebook 00 writes).
        images_per_class: cap on images per class copied into ``split_dir`` (``None``: all).
        split_link: make the split of hard links instead of copies when it is missing (``full``: no disk; as
            ``DataConfig.split_link``, for a notebook run before notebook 00).
        valid_fraction: share of each seen class moved into ``valid/``.
        test_seen_fraction: share of each seen class copied into ``test_seen/``: notebook 02 measures GZSL's S on
            them, images that chose nothing (not the checkpoint, not γ).
        backbones: the stage-1 backbones compared in notebook 01 (keys of ``models.backbones.BACKBONES``).
        backbone: the one whose body DeViSE reuses (stage 2) and the oracle trains.
        pretrained: ImageNet weights. ImageNet contains several of the standard split's unseen classes
            (chimpanzee, giant panda, leopard, hippopotamus, ...), so with ``awa2_split="standard"`` pretrained
            bodies have seen them and zero-shot figures are optimistic; ``full`` therefore uses the proposed split.
        image_size: side of the square network input in pixels.
        batch_size: images per batch.
        stage1_epochs, stage1_learning_rate: the classifier's one-cycle training.
        head_epochs, head_learning_rate: phase 2a, the semantic head alone on the frozen body.
        unfrozen_epochs, body_learning_rate, unfrozen_learning_rate: phase 2b, everything trained with
            discriminative learning rates ``slice(body_learning_rate, unfrozen_learning_rate)``.
        loss: ``cosine`` (cosine distance to the label vector, a later variant) or ``hinge_rank`` (DeViSE's
            ranking loss).
        margin: the hinge rank margin.
        semantic_head: ``mlp`` (a small MLP, a later variant) or ``linear`` (DeViSE's linear projection); keys of
            ``models.semantic_head.SEMANTIC_HEADS``.
        semantic_hidden: hidden width of the ``mlp`` semantic head.
        n_validation_classes: seen classes carved out as pseudo-unseen to choose the calibration γ, drawn with the
            seed where the xlsa17 folder gives no validation classes of its own (``valclasses1.txt``).
        validation_holdout_fraction: share of the other seen classes' training images held out for γ.
        n_gammas: candidate γ values searched on validation data.
        oracle_epochs, oracle_batch_size, oracle_test_fraction: the supervised reference on the unseen
            classes (a few hundred images: small batches give BatchNorm's running statistics enough steps).
        pca_classes: four classes drawn in the PCA projection of notebook 03.
        run_lr_find: run fastai's learning-rate finder in notebook 01.
        mixed_precision: ``learn.to_fp16()`` on CUDA (ignored on the CPU).
        inference_images: images timed for the CPU inference throughput of notebook 01.
        retrain: train even if a checkpoint exists.
        cpu_threads: torch's intra-op threads on the CPU (``None``: torch's default).
        image_cache: read the split's images through the image cache (``utils.training.image_cache``): each resized
            once to ``cache_side`` on its shorter side, built on first use (``full``).
        cache_side: the cached shorter side in pixels (256 for 224-pixel training).
        cache_root: the cache's folder (``None``: ``<outputs>/image_cache/<run label>``, shared by the
            profile's notebooks).
    """

    stage_folder: ClassVar[str | None] = "devise"
    runs: ClassVar[dict[str, tuple[str, ...]]] = {
        "stage1": ("stage1",),  # stage1_<backbone>, for each of ``backbones``
        "validation_stage1": ("stage1", "validation"),  # stage 1 of the γ run, without the pseudo-unseen classes
        "devise": ("stage1", "devise"),  # stage 2 on the body of stage1_<backbone>
        "validation_devise": ("stage1", "devise", "validation"),
        "oracle": ("stage1", "oracle"),  # the supervised reference, from the stage-1 body
    }

    awa2_dir: Path = setting(factory=lambda: DATA_SAMPLES_DIR / "awa2", split=True)
    word_vectors: str = setting(str(DATA_SAMPLES_DIR / "word_vectors" / "awa2_classes.vec"), shapes=("devise",))
    awa2_split: str = setting("standard", rule=one_of(*AWA2_SPLITS), split=True)
    # The classes it names shape the runs through ``awa2_split``; where the file lies does not.
    xlsa17_dir: Path = setting(factory=lambda: data_dir() / "xlsa17" / "data" / "AWA2", shapes=NO_MODEL)
    split_dir: Path | None = None  # another folder may hold another split
    images_per_class: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, split=True)
    # Links and copies hold the same files: switching does not remake a recorded split.
    split_link: bool = setting(False, shapes=NO_MODEL)
    valid_fraction: float = setting(0.1, rule=FRACTION, split=True)
    test_seen_fraction: float = setting(0.2, rule=FRACTION, split=True)
    # Which stage-1 runs notebook 01 trains; every classifier run records the backbone it trains.
    backbones: tuple[str, ...] = setting(("squeezenet1_1", "resnet34"), shapes=NO_MODEL)
    backbone: str = setting("resnet18", shapes=("devise",))
    pretrained: bool = False
    image_size: int = setting(48, rule=POSITIVE_INT)
    batch_size: int = setting(64, rule=POSITIVE_INT)
    stage1_epochs: int = setting(4, rule=POSITIVE_INT)
    stage1_learning_rate: float = setting(3e-3, rule=LEARNING_RATE)
    head_epochs: int = setting(2, rule=POSITIVE_INT, shapes=("devise",))
    head_learning_rate: float = setting(3e-3, rule=LEARNING_RATE, shapes=("devise",))
    unfrozen_epochs: int = setting(2, rule=POSITIVE_INT, shapes=("devise",))
    body_learning_rate: float = setting(1e-4, rule=LEARNING_RATE, shapes=("devise",))
    unfrozen_learning_rate: float = setting(1e-3, rule=LEARNING_RATE, shapes=("devise",))
    loss: str = setting("cosine", shapes=("devise",))
    margin: float = setting(0.1, shapes=("devise",))
    semantic_head: str = setting("mlp", shapes=("devise",))
    semantic_hidden: int = setting(512, rule=POSITIVE_INT, shapes=("devise",))
    n_validation_classes: int = setting(8, rule=POSITIVE_INT, shapes=("validation",))
    validation_holdout_fraction: float = setting(0.2, rule=FRACTION, shapes=("validation",))
    n_gammas: int = setting(41, rule=POSITIVE_INT, shapes=NO_MODEL)
    oracle_epochs: int = setting(8, rule=POSITIVE_INT, shapes=("oracle",))
    oracle_batch_size: int = setting(16, rule=POSITIVE_INT, shapes=("oracle",))
    oracle_test_fraction: float = setting(0.5, rule=FRACTION, shapes=("oracle",))
    pca_classes: tuple[str, ...] = setting(("elephant", "buffalo", "cow", "dolphin"), shapes=NO_MODEL)
    run_lr_find: bool = setting(True, shapes=NO_MODEL)
    mixed_precision: bool = False
    inference_images: int = setting(256, rule=POSITIVE_INT, shapes=NO_MODEL)
    cpu_threads: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT, shapes=NO_MODEL)
    image_cache: bool = False  # the cached pixels differ slightly from a resize of the original
    cache_side: int = setting(256, rule=POSITIVE_INT)
    cache_root: Path | None = setting(None, shapes=NO_MODEL)

    @classmethod
    def derived_paths(cls) -> dict[str, Any]:
        return {"split_dir": awa2_split_dir}

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "smoke": {
                "images_per_class": 12,
                "backbones": ("squeezenet1_1", "resnet18"),
                "image_size": 32,
                "batch_size": 32,
                "stage1_epochs": 1,
                "head_epochs": 1,
                "unfrozen_epochs": 1,
                "oracle_epochs": 2,
                "n_gammas": 11,
                "run_lr_find": False,
                "inference_images": 32,
                "cpu_threads": 1,
            },
            "sample": {},
            "full": {
                "awa2_dir": data_dir() / "Animals_with_Attributes2",
                "word_vectors": str(data_dir() / "fasttext" / "cc.en.300.bin"),
                "awa2_split": "proposed",
                "pca_classes": ("elephant", "buffalo", "cow", "killer+whale"),  # seen in both splits
                "backbone": "resnet34",
                "pretrained": True,
                "image_size": 224,
                "batch_size": 64,
                "stage1_epochs": 10,
                "stage1_learning_rate": 1e-3,
                "head_epochs": 5,
                "head_learning_rate": 1e-3,
                "unfrozen_epochs": 10,
                "body_learning_rate": 1e-5,
                "unfrozen_learning_rate": 1e-4,
                "semantic_hidden": 1024,
                "oracle_epochs": 5,
                "mixed_precision": True,
                "image_cache": True,
                "split_link": True,
            },
        }

    @classmethod
    def budget_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "tiny": {
                "images_per_class": TINY_IMAGES_PER_CLASS,
                "pretrained": False,
                "image_size": 32,
                "cache_side": 64,  # the tiny analogue of 256 px for 224 px: the cache is exercised
                "batch_size": 16,
                "stage1_epochs": 1,
                "head_epochs": 1,
                "unfrozen_epochs": 1,
                "semantic_hidden": 64,
                "oracle_epochs": 1,
                "oracle_batch_size": 8,
                "n_gammas": 5,
                "run_lr_find": False,
                "inference_images": 16,
            },
        }


@dataclass
class SearchConfig(DeviseConfig):
    """Notebook 04: nearest-neighbour search in DeViSE's visual-semantic space (image↔image, image↔text).

    Every field of :class:`DeviseConfig` applies to the embeddings searched (notebook 02 trains them, or
    this notebook does when ``outputs/devise/<profile>/embeddings.npz`` is missing), plus:

    Attributes:
        index: the index searched, a key of ``utils.search.SEARCH_INDEXES``: ``nmslib`` (the HNSW graph the
            course teaches, the default), ``faiss-hnsw`` (the same graph from FAISS, ``pip install faiss-cpu``:
            about half nmslib's build time and 1.1–1.6× its batch throughput at recall@10 ≥ 0.99 on
            100 k × 300, ``benchmarks/search_bench.py``), or ``exact``.
        hnsw_m: HNSW's ``M``, the links per node (Malkov & Yashunin, TPAMI 2018): more links, better
            recall, a bigger index.
        ef_construction: candidate-list size while building; more is slower to build and more accurate.
        ef_search: candidate-list size while querying, the speed/recall knob (at least ``k``).
        ef_search_sweep: the ``ef_search`` values of the recall-versus-speed table.
        k: results per query.
        query_classes: classes whose images and label vectors serve as example queries (unseen ones
            show zero-shot retrieval).
        text_queries: free-text queries embedded word by word (a multi-word query is the mean of its
            words' unit vectors).
        text_vectors: the word vectors of free text: ``glove:6B-50d`` (the GloVe package, 400 000 words,
            the space of the sample world's label vectors), a ``.vec``/``.bin`` file, or ``None`` for
            ``word_vectors`` itself (fastText's ``.bin`` embeds any word through its subwords).
    """

    # The indexes are built again on every run: no field of notebook 04's own shapes a model.
    index: str = setting("nmslib", shapes=NO_MODEL)
    hnsw_m: int = setting(16, rule=POSITIVE_INT, shapes=NO_MODEL)
    ef_construction: int = setting(200, rule=POSITIVE_INT, shapes=NO_MODEL)
    ef_search: int = setting(100, rule=POSITIVE_INT, shapes=NO_MODEL)
    ef_search_sweep: tuple[int, ...] = setting((10, 20, 50, 100, 200), rule=POSITIVE_INTS, shapes=NO_MODEL)
    k: int = setting(8, rule=POSITIVE_INT, shapes=NO_MODEL)
    query_classes: tuple[str, ...] = setting(("leopard", "humpback+whale", "giant+panda", "zebra"), shapes=NO_MODEL)
    text_queries: tuple[str, ...] = setting(("spotted cat", "black and white bear", "whale", "striped horse"),
                                            shapes=NO_MODEL)
    text_vectors: str | None = setting("glove:6B-50d", shapes=NO_MODEL)

    @property
    def index_dir(self) -> Path:
        """Where the notebook saves its indexes: ``outputs/search/<run label>``."""
        return self.output_folder("search")

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        defaults = {profile: dict(values) for profile, values in DeviseConfig.profile_defaults().items()}
        defaults["smoke"].update({"k": 5, "ef_search_sweep": (10, 50)})
        # Three of the Proposed Split's unseen classes and a seen one, as the standard split's defaults are.
        defaults["full"].update({"text_vectors": None, "k": 10,
                                 "query_classes": ("bobcat", "blue+whale", "giraffe", "zebra")})
        return defaults


CLIP_PROMPT_TEMPLATES = (
    "a photo of a {}.",
    "a drawing of a {}.",
    "a cartoon of a {}.",
    "a picture of the {}.",
    "an illustration of a {}.",
)
"""Prompt templates of notebook 08: every training caption and every class prompt is one of them around a class name
or a description (Radford et al., ICML 2021, section 3.1.4: a template ensemble averages the normalised text
embeddings of each class's prompts)."""


@dataclass
class ClipConfig(BaseConfig):
    """Notebook 08: contrastive image–text learning (CLIP), zero-shot by class names and by class descriptions.

    Radford et al., "Learning Transferable Visual Models From Natural Language Supervision", ICML 2021; the models,
    loss and tokenizer are open_clip's (Ilharco et al., 2021; Cherti et al., "Reproducible scaling laws for
    contrastive language-image learning", CVPR 2023).

    Attributes:
        awa2_dir: AwA2-format folder: its images, and the attributes that the captions put into words.
        awa2_split: which classes are unseen (:data:`AWA2_SPLITS`), as notebooks 02 and 05: ``standard`` (``smoke``,
            ``sample``) or ``proposed`` (``full``).
        xlsa17_dir: the xlsa17 ``AWA2`` folder holding the proposed split (read only for ``proposed``).
        images_per_class: cap on images per class (``None``: all).
        test_seen_fraction: share of each seen class held out as ``test_seen``: GZSL's S, images no choice touched.
        n_validation_classes: seen classes carved out as pseudo-unseen: a second CLIP trained without them chooses
            the calibrated-stacking γ.
        validation_holdout_fraction: share of the other seen classes' training images held out for γ.
        image_size: side of the square input in pixels (a multiple of 32: the image tower is open_clip's
            ``ModifiedResNet``, whose attention pooling sees a grid of ``image_size / 32``).
        vision_width, vision_layers: the ResNet's stem width and residual blocks per stage.
        text_width, text_layers, text_heads: the text transformer.
        context_length: tokens per text (open_clip's tokenizer pads or truncates to it): the sample world's class
            descriptions take up to 37 inside a template, real AwA2's up to about 115 (a pretrained CLIP reads 77 and
            truncates the rest).
        embed_dim: dimension of the shared image–text space.
        captions_per_image: captions drawn once per training image; each step takes one of them at random.
        caption_attributes: the fewest and the most attributes one caption names (a seeded random subset of the
            class's attributes, so that captions vary).
        prompt_templates: the templates of training captions and of the class prompts (:data:`CLIP_PROMPT_TEMPLATES`).
        epochs, batch_size, learning_rate, weight_decay, schedule: AdamW training with open_clip's ``ClipLoss``.
        n_gammas: candidate γ values searched on validation data.
        pretrained_clip: also evaluate an open_clip model pretrained on LAION-2B (``full``): zero-shot by names and
            descriptions, with the caveat that its training data hold these animals.
        pretrained_model, pretrained_tag: the open_clip architecture and weights (``ViT-B-32`` /
            ``laion2b_s34b_b79k``: 151 M parameters, 605 MB, 66.6% ImageNet zero-shot top-1; fits a T4 easily);
            ``pretrained_model`` may also be the path of an open_clip model configuration ``.json``.
        pretrained_weights: a local weights file (``None``: ``$ZSL_DATA_DIR/open_clip/<model>_<tag>.bin`` if it
            exists, else open_clip downloads the tag from the Hugging Face Hub).
        search_queries: free-text queries of the text → image search.
        k: results per search query.
        cpu_threads: torch's intra-op threads while training on the CPU (``None``: torch's default).
        mixed_precision: ``torch.autocast`` float16 with a gradient scaler while training on CUDA.
    """

    stage_folder: ClassVar[str | None] = "clip"
    runs: ClassVar[dict[str, tuple[str, ...]]] = {
        "clip": ("clip",),  # the model of record, on every seen class
        "validation_clip": ("clip", "validation"),  # without the pseudo-unseen classes, to choose γ
    }

    awa2_dir: Path = setting(factory=lambda: DATA_SAMPLES_DIR / "awa2")
    awa2_split: str = setting("standard", rule=one_of(*AWA2_SPLITS))
    # The classes it names shape the runs through ``awa2_split``; where the file lies does not.
    xlsa17_dir: Path = setting(factory=lambda: data_dir() / "xlsa17" / "data" / "AWA2", shapes=NO_MODEL)
    images_per_class: int | None = setting(None, rule=OPTIONAL_POSITIVE_INT)
    test_seen_fraction: float = setting(0.2, rule=FRACTION)
    n_validation_classes: int = setting(8, rule=POSITIVE_INT, shapes=("validation",))
    validation_holdout_fraction: float = setting(0.2, rule=FRACTION, shapes=("validation",))
    image_size: int = setting(32, rule=Rule(lambda value: _is_int(value) and value >= 32 and value % 32 == 0,
                                            "must be a multiple of 32 (ModifiedResNet's attention pooling)"))
    vision_width: int = setting(16, rule=POSITIVE_INT)
    vision_layers: tuple[int, ...] = setting((1, 1, 1, 1), rule=Rule(
        lambda value: _is_sequence(value) and len(value) == 4 and all(_is_int(v) and v >= 1 for v in value),
        "must be four integers of at least 1 (residual blocks per ResNet stage)"))
    text_width: int = setting(64, rule=POSITIVE_INT)
    text_layers: int = setting(2, rule=POSITIVE_INT)
    text_heads: int = setting(2, rule=POSITIVE_INT)
    context_length: int = setting(40, rule=POSITIVE_INT)
    embed_dim: int = setting(64, rule=POSITIVE_INT)
    captions_per_image: int = setting(8, rule=POSITIVE_INT)
    caption_attributes: tuple[int, ...] = setting((2, 5), rule=Rule(
        lambda value: _is_sequence(value) and len(value) == 2 and all(_is_int(v) and v >= 1 for v in value)
        and value[0] <= value[1], "must be (fewest, most) attributes per caption, 1 ≤ fewest ≤ most"))
    prompt_templates: tuple[str, ...] = setting(CLIP_PROMPT_TEMPLATES, rule=Rule(
        lambda value: _is_sequence(value) and all(isinstance(v, str) and v.count("{}") == 1 for v in value),
        "must be a non-empty list of templates, each with one '{}'"))
    epochs: int = setting(20, rule=POSITIVE_INT)
    batch_size: int = setting(128, rule=POSITIVE_INT)
    learning_rate: float = setting(2e-3, rule=LEARNING_RATE)
    weight_decay: float = setting(0.1, rule=NON_NEGATIVE_NUMBER)
    schedule: str = "one_cycle"
    n_gammas: int = setting(41, rule=POSITIVE_INT, shapes=NO_MODEL)
    # The pretrained model is evaluated, never trained here.
    pretrained_clip: bool = setting(False, shapes=NO_MODEL)
    pretrained_model: str = setting("ViT-B-32", shapes=NO_MODEL)
    pretrained_tag: str = setting("laion2b_s34b_b79k", shapes=NO_MODEL)
    pretrained_weights: Path | None = setting(None, shapes=NO_MODEL)
    search_queries: tuple[str, ...] = setting(
        ("a black and white striped animal", "a big gray animal with tusks", "an animal that lives in the ocean",
         "a spotted animal with a long neck"), shapes=NO_MODEL)
    k: int = setting(5, rule=POSITIVE_INT, shapes=NO_MODEL)
    cpu_threads: int | None = setting(1, rule=OPTIONAL_POSITIVE_INT, shapes=NO_MODEL)
    mixed_precision: bool = False

    @classmethod
    def profile_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "smoke": {"images_per_class": 12, "epochs": 2, "batch_size": 64, "n_gammas": 11, "k": 3},
            "sample": {},
            "full": {
                "awa2_dir": data_dir() / "Animals_with_Attributes2",
                "awa2_split": "proposed",
                "n_validation_classes": 13,
                "image_size": 128,
                "vision_width": 64,
                "vision_layers": (2, 2, 2, 2),
                "text_width": 256,
                "text_layers": 4,
                "text_heads": 4,
                "context_length": 128,  # AwA2's 85 predicates make descriptions of up to about 115 tokens
                "embed_dim": 256,
                "epochs": 30,
                "batch_size": 256,
                "learning_rate": 1e-3,
                "pretrained_clip": True,
                "cpu_threads": None,
                "mixed_precision": True,
            },
        }

    @classmethod
    def budget_defaults(cls) -> dict[str, dict[str, Any]]:
        return {
            "tiny": {
                "images_per_class": TINY_IMAGES_PER_CLASS,
                "image_size": 32,
                "vision_width": 16,
                "vision_layers": (1, 1, 1, 1),
                "text_width": 64,
                "text_layers": 2,
                "text_heads": 2,
                "embed_dim": 64,
                "epochs": 1,
                "batch_size": 32,
                "n_gammas": 5,
                "pretrained_clip": False,  # 605 MB of weights: the unit tests load a tiny stand-in instead
            },
        }
