"""Animals with Attributes 2 (AwA2) folders, read exactly as they are distributed.

AwA2: Y. Xian, C. H. Lampert, B. Schiele, Z. Akata, "Zero-Shot Learning — A Comprehensive Evaluation
of the Good, the Bad and the Ugly", TPAMI 2018 (https://cvml.ist.ac.at/AwA2/). The attribute tables
come from Osherson et al. (1991) and Kemp et al. (2006); the standard 40/10 split from Lampert et al.,
"Attribute-Based Classification for Zero-Shot Visual Object Categorization", TPAMI 2014.

Layout of an AwA2 folder (the embedded sample world in ``data_samples/awa2`` uses the same format,
with fewer attributes)::

    classes.txt                      "<spaces><1-based id><TAB><name>" per line; "+" for spaces
    predicates.txt                   the same for the attribute names
    predicate-matrix-binary.txt      n_classes rows of n_attributes space-separated 0/1
    predicate-matrix-continuous.txt  n_classes rows of n_attributes floats in 0..100, -1 = missing
    trainclasses.txt, testclasses.txt  the standard split: one class name per line
    JPEGImages/<class>/<class>_<id>.jpg

The xlsa17 "Proposed Split" ships its own class lists (``trainvalclasses.txt``, ``testclasses.txt``,
``trainclasses1.txt``, ``valclasses1.txt``, ...) in the same one-name-per-line format; read any of
them with :func:`read_class_list`.

Example::

    dataset = load_awa2("data_samples/awa2")
    image_paths, labels = dataset.image_index(classes=dataset.seen_classes)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.datasets.errors import require_file, require_folder, require_path
from utils.errors import DatasetFormatError
from utils.fileops import list_images

CLASSES_FILE = "classes.txt"
PREDICATES_FILE = "predicates.txt"
BINARY_MATRIX_FILE = "predicate-matrix-binary.txt"
CONTINUOUS_MATRIX_FILE = "predicate-matrix-continuous.txt"
TRAIN_CLASSES_FILE = "trainclasses.txt"
TEST_CLASSES_FILE = "testclasses.txt"
IMAGES_FOLDER = "JPEGImages"
REQUIRED_FILES = (
    CLASSES_FILE,
    PREDICATES_FILE,
    BINARY_MATRIX_FILE,
    CONTINUOUS_MATRIX_FILE,
    TRAIN_CLASSES_FILE,
    TEST_CLASSES_FILE,
)
"""The files :func:`load_awa2` reads from an AwA2 folder (``JPEGImages/`` is optional)."""

IMAGE_EXAMPLES = 3
"""How many unreadable images :func:`check_images` names in its error."""

MISSING_VALUE = -1.0
"""How AwA2's continuous matrix marks a missing value (its README: "Missing values ... are marked by -1")."""


def _read_text_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise DatasetFormatError(path, f"not UTF-8 text ({error.reason} at byte {error.start})") from None


def read_id_name_file(path: str | Path) -> list[str]:
    """Names from an AwA2 ``classes.txt``/``predicates.txt``-style file, in id order.

    Each non-blank line is ``<optional spaces><id><TAB or spaces><name>``; ids are 1-based and must
    run 1, 2, 3, ... in file order. Names keep AwA2's ``+`` for spaces (``giant+panda``).

    Args:
        path: the file.

    Returns:
        The names, of length n_lines; ``names[i]`` has id ``i + 1``.

    Raises:
        DatasetFormatError: if the file is missing, a line does not have an id and a name, the ids
            are not 1, 2, 3, ..., or a name appears twice.
    """
    path = require_file(path)
    names: list[str] = []
    seen_at: dict[str, int] = {}
    for line_number, line in enumerate(_read_text_lines(path), start=1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not parts[1].strip():
            raise DatasetFormatError(path, f"line {line_number}: expected '<id><TAB><name>', got {line!r}")
        id_text, name = parts[0], parts[1].strip()
        if not id_text.isdigit():
            raise DatasetFormatError(path, f"line {line_number}: id {id_text!r} is not a positive integer")
        if int(id_text) != len(names) + 1:
            raise DatasetFormatError(
                path, f"line {line_number}: id {int(id_text)} out of order, expected {len(names) + 1}"
            )
        if name in seen_at:
            raise DatasetFormatError(
                path, f"line {line_number}: duplicate name {name!r} (first on line {seen_at[name]})"
            )
        seen_at[name] = line_number
        names.append(name)
    if not names:
        raise DatasetFormatError(path, "no entries")
    return names


def plus_spelling_hint(name: str, known_names: Iterable[str]) -> str:
    """``"; did you mean 'polar+bear'? ..."`` when ``name`` has spaces and its AwA2 spelling is known, else ``""``.

    AwA2 writes a space in a class name as ``+`` (``polar+bear``), in its lists and its image folders alike.
    """
    plus_name = "+".join(name.split())
    if plus_name == name or plus_name not in set(known_names):
        return ""
    return f"; did you mean {plus_name!r}? (AwA2 writes the spaces of class names as '+')"


def read_class_list(path: str | Path, known_classes: Iterable[str] | None = None) -> list[str]:
    """Class names from a one-name-per-line file (``trainclasses.txt``, ``valclasses1.txt``, ...).

    Blank lines are skipped. A line may start with an id, as ``classes.txt``'s ``<id><TAB><name>`` lines do (so
    ``classes.txt`` itself reads as a list); the rest of the line is the name, spaces included (``polar bear``,
    which AwA2 itself writes ``polar+bear``).

    Args:
        path: the file.
        known_classes: if given, every listed name must be one of these (e.g. ``classes.txt``).

    Returns:
        The names in file order, of length n_listed.

    Raises:
        DatasetFormatError: if the file is missing or empty, a name is listed twice, or a name is not
            in ``known_classes``.
    """
    path = require_file(path)
    known = None if known_classes is None else set(known_classes)
    names: list[str] = []
    seen_at: dict[str, int] = {}
    for line_number, line in enumerate(_read_text_lines(path), start=1):
        parts = line.split(None, 1)
        if not parts:
            continue
        name = parts[1].strip() if len(parts) == 2 and parts[0].isdigit() else line.strip()
        if name in seen_at:
            raise DatasetFormatError(
                path, f"line {line_number}: duplicate class {name!r} (first on line {seen_at[name]})"
            )
        if known is not None and name not in known:
            raise DatasetFormatError(path, f"line {line_number}: unknown class {name!r}{plus_spelling_hint(name, known)}")
        seen_at[name] = line_number
        names.append(name)
    if not names:
        raise DatasetFormatError(path, "no class names")
    return names


def read_attribute_matrix(
    path: str | Path, n_classes: int, n_attributes: int, kind: str = "binary"
) -> np.ndarray:
    """A class × attribute matrix from ``predicate-matrix-{binary,continuous}.txt``.

    Args:
        path: the file: ``n_classes`` lines of ``n_attributes`` whitespace-separated numbers.
        n_classes: expected number of rows (the length of ``classes.txt``).
        n_attributes: expected number of values per row (the length of ``predicates.txt``).
        kind: ``"binary"`` (values 0/1) or ``"continuous"`` (values in 0..100, -1 = missing).

    Returns:
        For ``"binary"``, a uint8 array of shape (n_classes, n_attributes). For ``"continuous"``, a
        float64 array of shape (n_classes, n_attributes) in which AwA2's missing-value marker -1 has
        been turned into NaN.

    Raises:
        DatasetFormatError: if the file is missing, has the wrong number of rows or values per row,
            holds a value that is not a number, or a value outside the allowed set/range.
    """
    if kind not in ("binary", "continuous"):
        raise ValueError(f"kind must be 'binary' or 'continuous', not {kind!r}")
    path = require_file(path)
    rows = [values for values in (line.split() for line in _read_text_lines(path)) if values]
    if len(rows) != n_classes:
        raise DatasetFormatError(path, f"has {len(rows)} rows, expected {n_classes} (one per class)")
    matrix = np.empty((n_classes, n_attributes), dtype=np.float64)
    for row_index, values in enumerate(rows):
        if len(values) != n_attributes:
            raise DatasetFormatError(
                path, f"row {row_index + 1} has {len(values)} values, expected {n_attributes}"
            )
        for column_index, text in enumerate(values):
            try:
                matrix[row_index, column_index] = float(text)
            except ValueError:
                raise DatasetFormatError(
                    path, f"row {row_index + 1}, column {column_index + 1}: {text!r} is not a number"
                ) from None
    if not np.all(np.isfinite(matrix)):
        row, column = np.argwhere(~np.isfinite(matrix))[0]
        raise DatasetFormatError(path, f"row {row + 1}, column {column + 1}: value is not finite")
    if kind == "binary":
        bad = ~np.isin(matrix, (0.0, 1.0))
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise DatasetFormatError(
                path, f"row {row + 1}, column {column + 1}: {matrix[row, column]:g} is not 0 or 1"
            )
        return matrix.astype(np.uint8)
    missing = matrix == MISSING_VALUE
    bad = ~missing & ((matrix < 0.0) | (matrix > 100.0))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise DatasetFormatError(
            path, f"row {row + 1}, column {column + 1}: {matrix[row, column]:g} is outside 0..100 (or -1)"
        )
    matrix[missing] = np.nan
    return matrix


def _check_split(
    class_names: Sequence[str],
    seen_classes: list[str],
    unseen_classes: list[str],
    seen_path: Path,
    unseen_path: Path,
) -> None:
    overlap = sorted(set(seen_classes) & set(unseen_classes))
    if overlap:
        raise DatasetFormatError(
            unseen_path, f"classes also listed in {seen_path.name}: {', '.join(overlap)}"
        )
    unassigned = [name for name in class_names if name not in set(seen_classes) | set(unseen_classes)]
    if unassigned:
        raise DatasetFormatError(
            unseen_path,
            f"classes in neither {seen_path.name} nor {unseen_path.name}: {', '.join(unassigned)}",
        )


def looks_like_awa2(folder: str | Path) -> bool:
    """True if ``folder`` looks like an AwA2 folder, even an incomplete one.

    It does if it has ``JPEGImages/``, ``predicates.txt`` or a ``predicate-matrix-*.txt``; a lone
    ``classes.txt`` does not count (the scenes folder has one too).
    """
    folder = Path(folder)
    return folder.is_dir() and (
        (folder / IMAGES_FOLDER).is_dir()
        or (folder / PREDICATES_FILE).is_file()
        or any(folder.glob("predicate-matrix-*.txt"))
    )


def require_awa2_files(root: Path, file_names: Sequence[str | Path] = REQUIRED_FILES) -> None:
    """Check that every required file of an AwA2 folder is there before reading any.

    Raises:
        DatasetFormatError: ``ROOT: AwA2 folder: classes.txt missing`` (every missing file named,
            comma-separated), naming the folder.
    """
    missing = [str(name) for name in file_names if not (root / name).is_file()]
    if missing:
        raise DatasetFormatError(root, f"AwA2 folder: {', '.join(missing)} missing")


IMAGE_SIGNATURES: tuple[bytes, ...] = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a", b"GIF89a",
    b"BM",  # BMP
    b"II*\x00", b"MM\x00*",  # TIFF, little- and big-endian
)
"""How the image formats of :data:`utils.fileops.IMAGE_SUFFIXES` begin (WebP: ``RIFF....WEBP``, checked apart)."""


def _has_image_signature(head: bytes) -> bool:
    return head.startswith(IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _image_problem(path: Path, decode: bool) -> str | None:
    """Why ``path`` is not a readable image (one short phrase), or None if it is.

    Without ``decode`` the file's first 12 bytes must still begin an image format (:data:`IMAGE_SIGNATURES`): a
    web page or text file saved as ``.jpg`` is caught for one small read, while a truncated or corrupt JPEG needs
    the full decode.
    """
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError as error:
        return f"cannot read ({error.strerror or error})"
    if not head:
        return "empty file (0 bytes)"
    if not _has_image_signature(head):
        return f"not an image: it starts with {head[:8]!r}, the start of no image format"
    if not decode:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()  # header and, for PNG, chunk checksums; a no-op for JPEG's pixel data
        with Image.open(path) as image:
            image.load()  # decodes every pixel: finds truncated or corrupt JPEG data
    except UnidentifiedImageError:
        return "not an image Pillow can identify"
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, DecompressionBombError...
        return " ".join(f"{type(error).__name__}: {error}".split())
    return None


def check_images(
    image_paths: Sequence[str | Path], decode: bool = True, folder: str | Path | None = None
) -> int:
    """Check that every image file is readable; return how many were checked.

    Without ``decode`` only each file's first 12 bytes are read: empty files and files that begin no image format
    (a web page saved as ``.jpg``) are found, truncated or corrupt pixel data is not. With ``decode`` every file
    is also opened, verified and fully decoded with Pillow (the sample world's 3000 small JPEGs take about 0.4 s;
    reading their first bytes only, 0.05 s).

    Args:
        image_paths: the files, e.g. from :func:`image_index`.
        decode: decode every image (True) or only read each file's first bytes (False).
        folder: the folder the error names (default: the first bad file's parent).

    Returns:
        ``len(image_paths)``.

    Raises:
        DatasetFormatError: naming the folder, how many images are unreadable (or empty) and the
            first :data:`IMAGE_EXAMPLES` of them with the reason.
    """
    from PIL import ImageFile

    paths = [Path(path) for path in image_paths]
    problems: list[tuple[Path, str]] = []
    truncated_setting = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail here, whatever a caller set
    try:
        for path in paths:
            problem = _image_problem(path, decode)
            if problem is not None:
                problems.append((path, problem))
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_setting
    if problems:
        what = "unreadable" if decode else "empty or not images"
        examples = "; ".join(f"{path} ({problem})" for path, problem in problems[:IMAGE_EXAMPLES])
        more = f"; and {len(problems) - IMAGE_EXAMPLES} more" if len(problems) > IMAGE_EXAMPLES else ""
        hint = "" if decode else " (run with --images to decode every image)"
        raise DatasetFormatError(
            folder if folder is not None else problems[0][0].parent,
            f"{len(problems)} of {len(paths)} images are {what}{hint}: {examples}{more}",
        )
    return len(paths)


@dataclass(frozen=True)
class Awa2Dataset:
    """An AwA2 folder's class table, attributes and standard zero-shot split (Xian et al., TPAMI 2018).

    Attributes:
        root: the folder.
        class_names: class names in ``classes.txt`` order, of length n_classes (``+`` for spaces).
        attribute_names: attribute names in ``predicates.txt`` order, of length n_attributes.
        binary_attributes: uint8 0/1 matrix of shape (n_classes, n_attributes).
        continuous_attributes: float64 matrix of shape (n_classes, n_attributes), values in 0..100,
            NaN where AwA2 marks a value as missing (-1 in the file).
        seen_classes: the standard split's training classes (``trainclasses.txt`` order).
        unseen_classes: the standard split's test classes (``testclasses.txt`` order).
    """

    root: Path
    class_names: list[str]
    attribute_names: list[str]
    binary_attributes: np.ndarray
    continuous_attributes: np.ndarray
    seen_classes: list[str]
    unseen_classes: list[str]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_attributes(self) -> int:
        return len(self.attribute_names)

    def class_indices(self, names: Iterable[str]) -> np.ndarray:
        """Indices into :attr:`class_names` of ``names``, an int64 array of shape (n_names,).

        Raises:
            KeyError: for a name that is not a class.
        """
        position = {name: index for index, name in enumerate(self.class_names)}
        return np.array([position[name] for name in names], dtype=np.int64)

    @property
    def seen_class_indices(self) -> np.ndarray:
        """Indices of :attr:`seen_classes` into :attr:`class_names`, of shape (n_seen,)."""
        return self.class_indices(self.seen_classes)

    @property
    def unseen_class_indices(self) -> np.ndarray:
        """Indices of :attr:`unseen_classes` into :attr:`class_names`, of shape (n_unseen,)."""
        return self.class_indices(self.unseen_classes)

    def image_index(self, classes: Iterable[str] | None = None) -> tuple[list[Path], np.ndarray]:
        """The images under ``root/JPEGImages``; see :func:`image_index`."""
        return image_index(self, classes=classes)


def load_awa2(
    root: str | Path,
    *,
    classes_file: str | Path = CLASSES_FILE,
    predicates_file: str | Path = PREDICATES_FILE,
    binary_matrix_file: str | Path = BINARY_MATRIX_FILE,
    continuous_matrix_file: str | Path = CONTINUOUS_MATRIX_FILE,
    train_classes_file: str | Path = TRAIN_CLASSES_FILE,
    test_classes_file: str | Path = TEST_CLASSES_FILE,
) -> Awa2Dataset:
    """Read an AwA2 folder: class and attribute names, both attribute matrices, the standard split.

    The matrix shapes are checked against the lengths of ``classes.txt`` and ``predicates.txt``
    (nothing assumes 50 classes or 85 attributes). The split files must list only known classes,
    must be disjoint and together must cover every class.

    Args:
        root: the AwA2 folder (``Animals_with_Attributes2/`` or ``data_samples/awa2``).
        classes_file, predicates_file, binary_matrix_file, continuous_matrix_file, train_classes_file,
            test_classes_file: file names relative to ``root`` (or absolute paths) where a copy
            names them differently.

    Returns:
        The folder's :class:`Awa2Dataset`. Missing continuous values (-1) become NaN.

    Raises:
        MissingDataError: if ``root`` does not exist (one line naming it and ``python -m utils.download awa2``).
        DatasetFormatError: naming the file and the problem, for any malformed file in ``root``; for
            missing files, naming ``root``: ``ROOT: AwA2 folder: classes.txt missing``.
    """
    root = require_path(root, "awa2", "AwA2 folder", kind="folder")
    require_awa2_files(
        root,
        (
            classes_file,
            predicates_file,
            binary_matrix_file,
            continuous_matrix_file,
            train_classes_file,
            test_classes_file,
        ),
    )
    class_names = read_id_name_file(root / classes_file)
    attribute_names = read_id_name_file(root / predicates_file)
    shape = (len(class_names), len(attribute_names))
    binary_attributes = read_attribute_matrix(root / binary_matrix_file, *shape, kind="binary")
    continuous_attributes = read_attribute_matrix(root / continuous_matrix_file, *shape, kind="continuous")
    seen_path, unseen_path = root / train_classes_file, root / test_classes_file
    seen_classes = read_class_list(seen_path, known_classes=class_names)
    unseen_classes = read_class_list(unseen_path, known_classes=class_names)
    _check_split(class_names, seen_classes, unseen_classes, seen_path, unseen_path)
    return Awa2Dataset(
        root=root,
        class_names=class_names,
        attribute_names=attribute_names,
        binary_attributes=binary_attributes,
        continuous_attributes=continuous_attributes,
        seen_classes=seen_classes,
        unseen_classes=unseen_classes,
    )


def image_index(
    root_or_dataset: str | Path | Awa2Dataset, classes: Iterable[str] | None = None
) -> tuple[list[Path], np.ndarray]:
    """Every image of ``JPEGImages/<class>/``, sorted, with its class label.

    The order is deterministic: classes in ``classes.txt`` order, files sorted by name within a class.

    Args:
        root_or_dataset: an AwA2 folder (its ``classes.txt`` is read) or a loaded :class:`Awa2Dataset`.
        classes: class names to index (default: all). Labels stay indices into the full
            ``classes.txt`` order, so they match rows of the attribute matrices.

    Returns:
        ``(image_paths, labels)``: a list of n_images paths and an int64 array of shape (n_images,).

    Raises:
        MissingDataError: if the AwA2 folder does not exist.
        DatasetFormatError: if ``JPEGImages`` is missing, a requested class is unknown, or classes
            have no folder or no images (all of them are named).
    """
    if isinstance(root_or_dataset, Awa2Dataset):
        root, class_names = root_or_dataset.root, root_or_dataset.class_names
    else:
        root = require_path(root_or_dataset, "awa2", "AwA2 folder", kind="folder")
        class_names = read_id_name_file(root / CLASSES_FILE)
    images_folder = require_folder(Path(root) / IMAGES_FOLDER, "image folder")
    requested = list(class_names) if classes is None else list(classes)
    unknown = [name for name in requested if name not in set(class_names)]
    if unknown:
        raise DatasetFormatError(root / CLASSES_FILE, f"unknown classes requested: {', '.join(unknown)}")
    wanted = set(requested)
    image_paths: list[Path] = []
    labels: list[int] = []
    without_folder, without_images = [], []
    for label, name in enumerate(class_names):
        if name not in wanted:
            continue
        class_folder = images_folder / name
        if not class_folder.is_dir():
            without_folder.append(name)
            continue
        files = list_images(class_folder)
        if not files:
            without_images.append(name)
        image_paths.extend(files)
        labels.extend([label] * len(files))
    problems = []
    if without_folder:
        problems.append(f"no folder for classes {', '.join(without_folder)}")
    if without_images:
        problems.append(f"no images for classes {', '.join(without_images)}")
    if problems:
        raise DatasetFormatError(images_folder, "; ".join(problems))
    return image_paths, np.array(labels, dtype=np.int64)
