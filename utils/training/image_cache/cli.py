"""``python -m utils.training.image_cache``: build the image cache of a profile's image folders ahead of time.

The profile's folders come from the notebooks' configs: AwA2's ``JPEGImages`` (required), NUS-WIDE's ``images``
(notebook 07) and the DeViSE split folder (notebooks 01–04) when they exist; ``--folder`` names others. Errors are
one line naming the folder, exit 2 (:func:`utils.cli.cli_entry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from utils.cli import ArgumentParser, CliError, cli_entry, positive_int
from utils.config import AttributeZslConfig, DeviseConfig, SdlConfig
from utils.errors import MissingDataError
from utils.fileops import list_images
from utils.training.image_cache import DEFAULT_SHORTER_SIDE, image_cache_for


def profile_image_folders(profile: str | None) -> tuple[list[Path], list[Path]]:
    """``(required, optional)`` image folders of a profile: AwA2's ``JPEGImages`` (required); NUS-WIDE's
    ``images`` (for notebook 07, when its scenes folder is in the NUS-WIDE layout) and the DeViSE split folder
    of notebooks 01–04 (optional: cached when present)."""
    devise = DeviseConfig.for_profile(profile)
    required = [Path(devise.awa2_dir) / "JPEGImages"]
    optional = []
    sdl = SdlConfig.for_profile(profile)
    if not (Path(sdl.scenes_dir) / "classes.txt").is_file():
        optional.append(Path(sdl.scenes_dir) / "images")
    optional.append(Path(devise.split_dir))
    return required, optional


@cli_entry("python -m utils.training.image_cache")
def main(argv: Sequence[str] | None = None) -> int:
    """Build the image cache of a profile's image folders (or of ``--folder``s); errors are one line, exit 2."""
    parser = ArgumentParser(
        prog="python -m utils.training.image_cache",
        description="Resize every image of a profile's data sets once to a fixed shorter side (the image cache)",
    )
    parser.add_argument("command", nargs="?", default="build", choices=["build"], help="what to do (default build)")
    parser.add_argument("--profile", default=None, help="smoke | sample | full (default: $ZSL_PROFILE)")
    parser.add_argument("--side", type=positive_int, default=None,
                        help=f"the cached shorter side in pixels (default: the profile's cache_side, {DEFAULT_SHORTER_SIDE})")
    parser.add_argument("--workers", type=positive_int, default=None, help="processes (default: the CPU cores)")
    parser.add_argument("--root", type=Path, default=None, help="the cache folder (default: outputs/image_cache/<profile>)")
    parser.add_argument("--folder", type=Path, action="append", default=None,
                        help="cache this image folder instead of the profile's (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be written; write nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    config = AttributeZslConfig.for_profile(args.profile, image_cache=True)
    if args.side is not None:
        config.cache_side = args.side
    if args.root is not None:
        config.cache_root = args.root
    cache = image_cache_for(config)
    if args.folder:
        required, optional, dataset_key = list(args.folder), [], None
    else:
        (required, optional), dataset_key = profile_image_folders(args.profile), "awa2"
    for folder in required:
        if not folder.is_dir():
            if folder.exists():
                raise CliError(f"{folder}: not a folder")
            if dataset_key is None:
                raise MissingDataError(folder, None, what="image folder", how="check the path given to --folder")
            raise MissingDataError(folder, dataset_key, what="AwA2 image folder")
    folders = required + [folder for folder in optional if folder.is_dir()]
    for folder in optional:
        if not folder.is_dir():
            print(f"skipped (not present): {folder}")
    paths = [path for folder in folders for path in list_images(folder, recursive=True)]
    stale = cache.stale(paths)
    print(f"{cache.folder}: {len(paths)} images in {len(folders)} folder(s); {len(stale)} to process")
    if args.dry_run:
        return 0
    summary = cache.build(stale, workers=args.workers, progress=not args.no_progress)
    print(f"{cache.folder}: {summary}")
    if summary.failed:
        source, error = summary.failed[0]
        raise CliError(f"{len(summary.failed)} image(s) could not be cached (they are read from their source), "
                       f"e.g. {source}: {error}")
    return 0
