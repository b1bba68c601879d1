"""Fingerprints of the settings that shaped a result: canonical JSON, its SHA-256, and what changed, in words.

Shared by the one checkpoint policy (:mod:`utils.training.checkpoints`: may a trained model be reused?) and the
split folders' record (:mod:`utils.splits.settings`: may a split folder be reused?). The fingerprint is the SHA-256
of the settings' canonical JSON (sorted keys, no whitespace, sets sorted), so it is the same in every process and
whatever the order the settings were given in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def canonical(value: Any) -> Any:
    """``value`` as plain JSON values: paths and other objects as strings, tuples and sets as sorted/ordered lists.

    Sets become sorted lists, so that the hash randomisation of ``str`` (``PYTHONHASHSEED``) cannot change
    a fingerprint; NumPy scalars and arrays become Python numbers and lists; dataclasses become dicts.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((canonical(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return canonical(dataclasses.asdict(value))
    if hasattr(value, "tolist"):  # NumPy arrays and scalars, torch tensors
        return canonical(value.tolist())
    return str(value)


def canonical_json(settings: Mapping[str, Any]) -> str:
    """The canonical JSON text of ``settings``: sorted keys, no whitespace, non-ASCII kept."""
    return json.dumps(canonical(settings), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(settings: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``settings``: equal settings give equal fingerprints in any process."""
    return hashlib.sha256(canonical_json(settings).encode("utf-8")).hexdigest()


def display(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (shorter lines), else as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def describe_value(value: Any, limit: int = 40) -> str:
    """A short text of a setting's value for the decision line (long values abbreviated)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def changed_settings(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """``field old → new`` for every setting that differs, in sorted order (``(none)`` for a missing side)."""
    lines = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key, "(none)"), current.get(key, "(none)")
        if canonical_json({"v": old}) != canonical_json({"v": new}):
            lines.append(f"{key} {describe_value(old)} → {describe_value(new)}")
    return lines
