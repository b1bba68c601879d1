"""The settings an AwA2 split folder was made with, recorded beside it, so that changing one remakes the split.

Notebook 00 and the stage-1/DeViSE glue write ``train/``, ``valid/``, ``test_seen/`` and ``test/`` with the split scripts
(:mod:`utils.splits.copy_awa2`, :mod:`utils.splits.move_awa2`). Those scripts never overwrite and never delete, which makes
them safe on a user's data — and means a second run with another ``images_per_class`` or ``valid_fraction``
would quietly keep the old folder (another ``test_seen_fraction`` or ``awa2_split`` would be refused by
:mod:`utils.splits.copy_awa2`, which never puts one image in two splits). So the folder records its settings in ``split_settings.json`` (the
same fingerprint as :mod:`utils.training.checkpoints`, :mod:`utils.fingerprints`), and before the scripts run :func:`prepare_split_folder`
says which case holds::

    split folder: settings unchanged (outputs/sample/awa2_split)
    split folder: new (outputs/sample/awa2_split)
    split folder: remade: images_per_class 12 → 20 (outputs/sample/awa2_split)

A stale folder is removed only when it carries this project's record: it then holds copies (or links) the
scripts made from the source, never the source itself. A folder without a record is completed by the
scripts (they skip what is already there) and recorded.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.config import DataConfig, DeviseConfig
from utils.fingerprints import canonical, canonical_json, changed_settings, display, fingerprint

RECORD_FILE = "split_settings.json"


@dataclass(frozen=True)
class SplitFolderState:
    """What :func:`prepare_split_folder` found: ``unchanged``, ``new``, ``remade`` or ``unrecorded``."""

    state: str
    split_dir: Path
    reason: str = ""

    @property
    def up_to_date(self) -> bool:
        """True when the folder already holds the split of these settings."""
        return self.state == "unchanged"

    def __str__(self) -> str:
        detail = {"unchanged": "settings unchanged", "new": "new", "unrecorded": "no record of its settings; "
                  "completing it with the split scripts", "remade": f"remade: {self.reason}"}[self.state]
        return f"split folder: {detail} ({display(self.split_dir)})"


def split_settings(config: DataConfig | DeviseConfig) -> dict[str, Any]:
    """The settings of ``config`` (a ``DataConfig`` or ``DeviseConfig``) that decide which images land in ``train/``,
    ``valid/``, ``test_seen/`` and ``test/``: the fields declared ``split=True`` (:meth:`utils.config.BaseConfig.split_fields`)."""
    return canonical({name: getattr(config, name) for name in config.split_fields()})


def _recorded_settings(split_dir: Path) -> dict[str, Any] | None:
    """The settings recorded in ``split_dir``, or ``None`` where the record is absent or unusable.

    Unusable includes hostile JSON: nested deeper than the interpreter recurses (``RecursionError``).
    """
    try:
        recorded = json.loads((split_dir / RECORD_FILE).read_text(encoding="utf-8"))
        settings = recorded.get("settings") if isinstance(recorded, dict) else None
        if not isinstance(settings, dict):
            return None
        canonical_json(settings)  # the fingerprint the caller compares must be computable
    except (OSError, ValueError, RecursionError):
        return None
    return settings


def prepare_split_folder(config: DataConfig | DeviseConfig) -> SplitFolderState:
    """Decide, before the split scripts run, whether ``config.split_dir`` can be used as it is.

    A folder recorded with other settings is removed (it holds the scripts' copies only), so the scripts make
    the split of the current settings.
    """
    split_dir = Path(config.split_dir)
    settings = split_settings(config)
    if not split_dir.exists():
        return SplitFolderState("new", split_dir)
    recorded = _recorded_settings(split_dir)
    if recorded is None:
        return SplitFolderState("unrecorded", split_dir)
    if fingerprint(recorded) == fingerprint(settings):
        return SplitFolderState("unchanged", split_dir)
    reason = ", ".join(changed_settings(recorded, settings))
    shutil.rmtree(split_dir)
    return SplitFolderState("remade", split_dir, reason)


def record_split_settings(config: DataConfig | DeviseConfig) -> Path:
    """Write ``split_settings.json`` into ``config.split_dir``: call it once the split scripts have finished."""
    path = Path(config.split_dir) / RECORD_FILE
    settings = split_settings(config)
    payload = {"fingerprint": fingerprint(settings), "settings": json.loads(canonical_json(settings))}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path
