"""The one checkpoint policy of every stage: reuse a trained model only while what shapes its weights is unchanged.

What shapes a run is declared on the config's fields (:func:`utils.config.setting`: each field names the runs it
shapes, every run of its notebook unless declared otherwise) plus the run's own inputs that are not config fields
(its backbone, class split or variant, the content hash of its features, the fingerprint of the run it starts
from). Together they are the run's *shaping settings* (:func:`run_settings`); their
*fingerprint* (:mod:`utils.fingerprints`) is the SHA-256 of their canonical JSON (sorted keys, no whitespace), so it
is the same in every process and whatever the order the settings were given in.

Beside each checkpoint ``<name>.<ext>`` a metadata file ``<name>.json`` holds the fingerprint, the
shaping settings and the resolved config (``config.to_dict()``). Before a stage trains or loads it asks
:func:`decide`, which prints one line such as::

    stage1_resnet34: loaded: settings unchanged (outputs/devise/sample/checkpoints/stage1_resnet34.pth)
    attribute_network: training: image_epochs 12 → 20
    mse: training: no checkpoint yet
    devise: training: retrain=True

A decision to train deletes the old metadata at once, and :func:`record` writes the new one only once the
checkpoint is complete, so an interrupted run leaves a checkpoint without metadata, which is retrained
rather than loaded half-done. Checkpoints are plain tensors and values, written atomically by
:func:`save_weights` and read by :func:`load_weights` with ``torch.load(..., weights_only=True)``: a
crafted file cannot run code, and weights that do not fit the model the config builds are refused in one line
naming the file (:func:`apply_state`).

With several processes (:mod:`utils.training.distributed`) rank 0 alone decides (and prints) and every rank gets its
decision, and rank 0 alone writes checkpoints and metadata while the others wait until the file is complete; every
rank must therefore call :func:`decide`, :func:`save_weights` and :func:`record` (as :func:`fit_or_load` does).

Every stage trained with the one training loop (05, 06, 07) goes through :func:`fit_or_load`; fastai's
learners (01–02) decide with :func:`decide` and load with :func:`load_state_into` in
:func:`utils.training.fastai_glue.decide_or_load`::

    network = build_attribute_network(config, n_attributes)   # built (and seeded) by the stage
    decision = fit_or_load(network, checkpoint, config, "attribute_network", train=lambda: train(network))
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.config import BaseConfig
from utils.errors import PathError, library_message
from utils.fingerprints import (
    canonical,
    canonical_json,
    changed_settings,
    display,
    fingerprint,
)
from utils.training.distributed import barrier, is_main_process, main_process_result

METADATA_VERSION = 1
"""Layout of the metadata file; a file of another version counts as no metadata."""


def arrays_sha256(*arrays: Any) -> str:
    """SHA-256 (hex) of arrays' dtypes, shapes and bytes, in order (NumPy arrays or CPU tensors)."""
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        values = np.ascontiguousarray(array.numpy() if hasattr(array, "numpy") else np.asarray(array))
        digest.update(f"{values.dtype.str}{values.shape};".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def run_settings(config: BaseConfig, run: str, **inputs: Any) -> dict[str, Any]:
    """The shaping settings of one run: the value of every field the config declares as shaping ``run``
    (:meth:`utils.config.BaseConfig.shaping_fields`) plus the run's own ``inputs`` (what is not a config field: its
    backbone, class split or variant, a content hash of its data, the fingerprint of the run it starts from),
    canonicalised. Their fingerprint decides whether a checkpoint is reused (:func:`decide`).

    Args:
        config: the notebook's config.
        run: a key of ``type(config).runs`` (``"stage1"``, ``"devise"``, ``"siamese"``, ...).
        inputs: the run's own inputs; none may repeat a shaping field.

    Raises:
        KeyError: if the config trains no such run.
        ValueError: if an input repeats a field that shapes the run.
    """
    fields = config.shaping_fields(run)
    overlap = set(fields) & set(inputs)
    if overlap:
        raise ValueError(f"inputs {sorted(overlap)} of run {run!r} repeat config fields that shape it")
    return canonical({**{name: getattr(config, name) for name in fields}, **inputs})


def metadata_path(checkpoint: str | Path) -> Path:
    """``<checkpoint without its suffix>.json``: ``checkpoints/stage1_resnet34.pth`` → ``checkpoints/stage1_resnet34.json``."""
    return Path(checkpoint).with_suffix(".json")


def read_metadata(checkpoint: str | Path) -> dict[str, Any] | None:
    """The metadata recorded beside ``checkpoint``, or ``None`` if absent, unreadable or of another layout."""
    return _read_metadata_or_problem(checkpoint)[0]


def _read_metadata_or_problem(checkpoint: str | Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(metadata, None)``, ``(None, None)`` when there is no metadata file, or ``(None, why it is unusable)``.

    A record this library did not write is never trusted, and never a traceback: JSON nested deeper than the
    interpreter recurses (``RecursionError``, a hostile or corrupted file), text that is not JSON, or a record
    whose ``fingerprint`` is not text or whose ``settings`` are not a mapping of plain values all read as unusable.
    """
    path = metadata_path(checkpoint)
    if not path.is_file():
        return None, None
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
        if (not isinstance(metadata, dict) or metadata.get("version") != METADATA_VERSION
                or not isinstance(metadata.get("fingerprint"), str)
                or not isinstance(metadata.get("settings", {}), dict)):
            return None, f"not a settings record of this library's layout (version {METADATA_VERSION})"
        canonical_json(metadata.get("settings", {}))  # settings the decision line can compare and show
    except RecursionError:
        return None, "nested too deeply to be a settings record"
    except (OSError, ValueError) as error:
        return None, f"unreadable ({library_message(error, limit=80)})"
    return metadata, None


@dataclass(frozen=True)
class Decision:
    """Whether a stage trains or loads its checkpoint, and why.

    Attributes:
        name: the run (``stage1_resnet34``, ``attribute_network``, ``mse_validation``, ...).
        trained: True when the model is (to be) trained now, False when the checkpoint is loaded.
        reason: ``settings unchanged``, ``no checkpoint yet``, ``retrain=True``, ``no settings recorded
            beside the checkpoint``, ``the settings record <file> is <why it is unusable>``, or the changed
            settings as ``field old → new``.
        checkpoint: the checkpoint file.
        fingerprint: the fingerprint of the current shaping settings.
        changed: the names of the settings that differ from the recorded ones (empty unless they do).
        settings: the current shaping settings (canonical), which :func:`record` writes once the model is trained.
    """

    name: str
    trained: bool
    reason: str
    checkpoint: Path
    fingerprint: str
    changed: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def action(self) -> str:
        return "training" if self.trained else "loaded"

    def __str__(self) -> str:
        where = "" if self.trained else f" ({display(self.checkpoint)})"
        return f"{self.name}: {self.action}: {self.reason}{where}"


def decide(
    checkpoint: str | Path,
    settings: Mapping[str, Any],
    config: BaseConfig | None = None,
    name: str | None = None,
    retrain: bool | None = None,
    verbose: bool = True,
) -> Decision:
    """Train or load? ``load`` only if ``checkpoint`` exists with metadata whose fingerprint equals that of ``settings``.

    A decision to train removes the old metadata, so that a run interrupted while overwriting the checkpoint
    is never taken for the old, complete one. With several processes rank 0 decides and every rank returns its
    decision (:func:`utils.training.distributed.main_process_result`).

    Args:
        checkpoint: the checkpoint file.
        settings: the run's shaping settings (:func:`run_settings`).
        config: the config; its ``retrain`` forces training.
        name: the run's name in the printed line (default: the checkpoint's stem, or its folder's name
            for a ``model.*`` file).
        retrain: overrides ``config.retrain``.
        verbose: print the decision's line.
    """
    return main_process_result(_decide, checkpoint, settings, config, name, retrain, verbose)


def _decide(
    checkpoint: str | Path, settings: Mapping[str, Any], config: BaseConfig | None, name: str | None,
    retrain: bool | None, verbose: bool,
) -> Decision:
    checkpoint = Path(checkpoint)
    if name is None:
        name = checkpoint.parent.name if checkpoint.stem == "model" else checkpoint.stem
    settings = canonical(settings)
    current = fingerprint(settings)
    if retrain is None:
        retrain = bool(getattr(config, "retrain", False))
    changed: tuple[str, ...] = ()
    if retrain:
        trained, reason = True, "retrain=True"
    elif not checkpoint.is_file():
        trained, reason = True, "no checkpoint yet"
    else:
        metadata, problem = _read_metadata_or_problem(checkpoint)
        if problem is not None:
            trained, reason = True, f"the settings record {display(metadata_path(checkpoint))} is {problem}"
        elif metadata is None:
            trained, reason = True, "no settings recorded beside the checkpoint"
        elif metadata["fingerprint"] == current:
            trained, reason = False, "settings unchanged"
        else:
            differences = changed_settings(metadata.get("settings", {}), settings)
            changed = tuple(line.split(" ", 1)[0] for line in differences)
            trained, reason = True, ", ".join(differences) or "settings recorded differently"
    if trained:
        metadata_path(checkpoint).unlink(missing_ok=True)
    decision = Decision(name, trained, reason, checkpoint, current, changed, settings)
    if verbose:
        print(decision)
    return decision


def _write_atomically(path: Path, write) -> Path:
    """``write(partial)`` then rename the partial file to ``path``; with several processes in rank 0 alone, every
    rank returning once the file is complete."""
    if is_main_process():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".partial{os.getpid()}")
        try:
            write(partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    barrier()
    return path


def record(checkpoint: str | Path, settings: Mapping[str, Any], config: BaseConfig | None = None, **extra: Any) -> Path:
    """Write the metadata of a complete checkpoint: fingerprint, shaping settings, resolved config, ``extra``.

    Call it only after the checkpoint is fully written.

    Raises:
        FileNotFoundError: if ``checkpoint`` does not exist (metadata of a missing model would lie).
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"no checkpoint at {checkpoint}: record its metadata after saving it")
    settings = canonical(settings)
    metadata = {
        "version": METADATA_VERSION,
        "fingerprint": fingerprint(settings),
        "settings": settings,
        "config": canonical(config.to_dict()) if hasattr(config, "to_dict") else canonical(config),
        **canonical(extra),
    }
    text = json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return _write_atomically(metadata_path(checkpoint), lambda partial: partial.write_text(text))


def save_weights(state: Mapping[str, Any], checkpoint: str | Path) -> Path:
    """``torch.save`` ``state`` to ``checkpoint`` atomically (a partial file, renamed once complete).

    ``state`` must hold only what ``weights_only=True`` reads back: tensors, numbers, strings, lists and
    dicts of them.
    """
    import torch

    return _write_atomically(Path(checkpoint), lambda partial: torch.save(dict(state), partial))


class CheckpointError(PathError):
    """A checkpoint that cannot be read, or whose weights do not fit the model: one line naming the file.

    A :class:`~utils.errors.PathError` (so a :class:`ValueError`): ``str(error)`` is
    ``"<checkpoint>: <problem>"``; ``path`` and ``problem`` hold the two parts.
    """


def load_weights(checkpoint: str | Path) -> dict[str, Any]:
    """``torch.load(checkpoint, map_location="cpu", weights_only=True)``: tensors and plain values only.

    Raises:
        CheckpointError: naming the file, if it is missing, empty, truncated, not a PyTorch checkpoint,
            holds objects ``weights_only`` refuses, or is not a dict.
    """
    import pickle

    import torch

    path = Path(checkpoint)
    if not path.is_file():
        raise CheckpointError(path, "checkpoint not found" if not path.exists() else "checkpoint is not a file")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(path, "empty file (0 bytes): an interrupted save? delete it and retrain")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            path,
            "refused by torch.load(weights_only=True): it holds something other than tensors and plain "
            f"values, or is not a checkpoint ({library_message(error)})",
        ) from error
    except (OSError, EOFError, RuntimeError, KeyError, ValueError, IndexError, TypeError,
            AttributeError, UnicodeDecodeError, MemoryError, OverflowError) as error:  # fmt: skip
        raise CheckpointError(
            path,
            f"not a readable PyTorch checkpoint ({size} bytes; truncated, or another kind of file?): "
            f"{library_message(error)}",
        ) from error
    if not isinstance(state, dict):
        raise CheckpointError(path, f"holds a {type(state).__name__}, not a dict of weights")
    return state


def _describe_keys(keys: Iterable[str], limit: int = 3) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")
    return f"{len(keys)} ({shown})"


def load_state_into(model: Any, checkpoint: str | Path, key: str | None = None, strict: bool = True) -> Any:
    """``model.load_state_dict(load_weights(checkpoint)[key])``, failing in one line naming the file.

    Args:
        model: a ``torch.nn.Module``.
        checkpoint: the checkpoint file.
        key: the entry holding the state dict (e.g. ``"state_dict"``), or ``None`` for the whole file.
        strict: as ``load_state_dict``'s.

    Returns:
        What ``load_state_dict`` returns (missing and unexpected keys).

    Raises:
        CheckpointError: naming the file, if it cannot be read (:func:`load_weights`), lacks ``key``,
            or its weights do not fit ``model`` (missing or unexpected keys, mismatched shapes).
    """
    path = Path(checkpoint)
    state = load_weights(path)
    if key is not None:
        state = checkpoint_entry(state, key, path)
    return apply_state(model, state, path, strict=strict)


def checkpoint_entry(bundle: Mapping[str, Any], key: str, checkpoint: str | Path) -> Any:
    """``bundle[key]`` of a loaded checkpoint, or :class:`CheckpointError` naming the file and its entries."""
    if key not in bundle:
        raise CheckpointError(
            Path(checkpoint), f"has no entry {key!r} (entries: {', '.join(map(str, bundle)) or 'none'})"
        )
    return bundle[key]


def apply_state(model: Any, state: Any, checkpoint: str | Path, strict: bool = True) -> Any:
    """``model.load_state_dict(state)`` for a state read from ``checkpoint``, with :func:`load_state_into`'s checks.

    Raises:
        CheckpointError: naming ``checkpoint``, if ``state`` is not a state dict or does not fit ``model``.
    """
    path = Path(checkpoint)
    if not isinstance(state, Mapping):
        raise CheckpointError(path, f"holds a {type(state).__name__}, not a state dict")
    expected = model.state_dict()
    problems = []
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    if strict and missing:
        problems.append(f"missing keys {_describe_keys(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys {_describe_keys(unexpected)}")
    shapes = [
        f"{name} {tuple(state[name].shape)} vs {tuple(expected[name].shape)}"
        for name in expected
        if name in state and hasattr(state[name], "shape") and tuple(state[name].shape) != tuple(expected[name].shape)
    ]
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es) (checkpoint vs model): {'; '.join(shapes[:3])}")
    if problems:
        raise CheckpointError(
            path, f"does not fit the {type(model).__name__} model: {', '.join(problems)}; retrain or pick the right file"
        )
    try:
        return model.load_state_dict(state, strict=strict)
    except (RuntimeError, ValueError, TypeError) as error:
        raise CheckpointError(path, f"does not fit the {type(model).__name__} model: {library_message(error)}") from error


def fit_or_load(
    model: Any,
    checkpoint: str | Path,
    config: BaseConfig,
    run: str,
    train: Callable[[], Any],
    *,
    inputs: Mapping[str, Any] | None = None,
    name: str | None = None,
    saved_state: Callable[[], Mapping[str, Any]] | None = None,
    state_key: str | None = None,
) -> Decision:
    """Load ``model``'s weights from ``checkpoint`` while the settings that shape run ``run`` are unchanged, else train
    it, save it atomically and record its settings: the one policy every plain-PyTorch stage uses.

    The shaping settings are :func:`run_settings` of ``config`` for ``run`` plus ``inputs``; the
    decision is printed; ``config.retrain`` forces training. Nothing is seeded here: the stage builds (and seeds) the
    model, and ``train`` seeds what its recipe needs.

    Args:
        model: the ``torch.nn.Module`` the config builds, loaded or trained in place.
        checkpoint: the weights file (``<checkpoint>.json`` beside it holds the settings).
        config: the notebook's config.
        run: a key of ``type(config).runs`` (which fields shape the model).
        train: called without arguments to train ``model``.
        inputs: the run's own shaping inputs that are not config fields.
        name: the run's name in the printed line (default: the checkpoint's folder for ``model.*``, else its stem).
        saved_state: what is saved (default ``model.state_dict()``), e.g. a bundle with a description.
        state_key: the entry of a saved bundle that holds the state dict (``None``: the whole file).

    Returns:
        The :class:`Decision` (``decision.trained``: trained now; a loaded model is left in eval mode).

    Raises:
        CheckpointError: naming the file, if the checkpoint cannot be read or its weights do not fit ``model``.
    """
    checkpoint = Path(checkpoint)
    settings = run_settings(config, run, **dict(inputs or {}))
    decision = decide(checkpoint, settings, config, name=name)
    if not decision.trained:
        load_state_into(model, checkpoint, key=state_key)
        model.eval()
        return decision
    train()
    save_weights(model.state_dict() if saved_state is None else saved_state(), checkpoint)
    record(checkpoint, settings, config)
    return decision
