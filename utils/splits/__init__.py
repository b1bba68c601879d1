"""Splits of the data: files on disk and images or classes in memory, one implementation of each.

* :mod:`utils.splits.copy_awa2` — ``python -m utils.splits.copy_awa2 SRC DST [--link]``: seen classes →
  ``train/``, unseen → ``test/`` (copies, or hard links that cost no disk), never overwriting, crash-safe;
* :mod:`utils.splits.move_awa2` — ``python -m utils.splits.move_awa2 DST --valid 0.1``: a seeded share of each
  ``train/`` class → ``valid/``;
* :mod:`utils.splits.settings` — ``split_settings.json`` beside a split folder, so that a split made with other
  settings is made again (notebooks 00–04);
* :mod:`utils.splits.classes` — per-class hold-outs, the pseudo-unseen validation classes, xlsa17's image split.
* :mod:`utils.splits.folders` — a split folder's ``(path, class)`` items, made by the scripts when missing
  (:func:`~utils.splits.folders.ensure_split`; notebooks 01–04).

Every file operation goes through :mod:`utils.fileops` (temporary name, verify, rename).
"""

from utils.splits.classes import choose_pseudo_unseen, first_per_class, hold_out_per_class, split_images

__all__ = ["choose_pseudo_unseen", "first_per_class", "hold_out_per_class", "split_images"]
