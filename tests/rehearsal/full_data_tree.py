"""A miniature ``$ZSL_DATA_DIR`` laid out exactly like the real downloads, for rehearsing the ``full`` profile.

``python tests/rehearsal/full_data_tree.py DIR`` (or :func:`build_full_data_tree`) writes::

    DIR/Animals_with_Attributes2/   AwA2's own metadata (50 classes, 85 predicates, -1 for missing continuous
                                    values, the standard 40/10 split) and JPEGImages/<class>/<class>_1000N.jpg
    DIR/xlsa17/data/AWA2/           att_splits.mat (the real proposed split) and res101.mat (2048 x 37 322, the
                                    real labels and image files, synthetic class-structured features)
    DIR/cifar-100-python/           meta, train, test (CIFAR-100's pickle format)
    DIR/fasttext/cc.en.300.bin      a real fastText binary of dimension 300 (subwords on), trained here
    DIR/nus_wide/                   images/Flickr/<tag>/<id>.jpg and labels.csv ("image,labels,split")
    DIR/ZS_SDL/data/NUS_WIDE/       wordvec_array.pickle, classes.pickle, unseen_classes.pickle (1006 tags)

The real metadata comes from ``../shared/reference-data`` (or ``$ZSL_REFERENCE_DATA``) when that folder exists;
otherwise it is generated in the same formats from the sample world (smaller ``res101.mat``, the sample world's
label vectors), so a fresh clone can rehearse too. Images are the sample world's, enlarged to photo sizes.
Nothing here is copied into the project: the tree is written where the caller says (a test's temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "data_samples"
sys.path.insert(0, str(REPO_ROOT))

from utils.datasets.nuswide import write_label_vectors  # noqa: E402
from utils.sample_world.profiles import AWA2_PREDICATE_ORDER  # noqa: E402

# xlsa17's proposed split (Xian et al., TPAMI 2018): the 10 unseen AwA classes.
PROPOSED_SPLIT_UNSEEN = ("sheep", "dolphin", "bat", "seal", "blue+whale", "rat", "horse", "walrus", "giraffe", "bobcat")
REAL_FEATURE_DIM = 2048
GENERATED_IMAGES_PER_CLASS = 20
CLASS_LISTS = ("trainvalclasses.txt", "testclasses.txt", "trainclasses1.txt", "valclasses1.txt")


def reference_data_dir() -> Path | None:
    """``$ZSL_REFERENCE_DATA`` or ``../shared/reference-data`` if it exists, else ``None``."""
    path = Path(os.environ.get("ZSL_REFERENCE_DATA", REPO_ROOT.parent / "shared" / "reference-data"))
    return path if path.is_dir() else None


def _id_name_lines(names: list[str]) -> str:
    return "".join(f"{index:>5}\t{name}\n" for index, name in enumerate(names, start=1))


def _read_names(path: Path) -> list[str]:
    return [line.split()[-1] for line in path.read_text().splitlines() if line.strip()]


def _photo(source: Path, destination: Path, size: tuple[int, int]) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").resize(size, Image.BICUBIC).save(destination, quality=90)


def write_awa2(root: Path, reference: Path | None, images_per_class: int) -> dict:
    """AwA2's folder: metadata files and ``images_per_class`` photo-sized JPEGs per class."""
    folder = root / "Animals_with_Attributes2"
    folder.mkdir(parents=True)
    class_names = _read_names(SAMPLES / "awa2" / "classes.txt")
    if reference is not None:
        meta = reference / "awa2_meta"
        predicates = _read_names(meta / "predicates.txt")
        binary = np.loadtxt(meta / "predicate-matrix-binary.txt", dtype=int)
        continuous = np.loadtxt(meta / "predicate-matrix-continuous.txt")
        unseen = _read_names(meta / "testclasses_standard.txt")
    else:
        predicates = list(AWA2_PREDICATE_ORDER)
        continuous = np.round(np.random.default_rng(0).uniform(0, 100, size=(len(class_names), len(predicates))), 2)
        binary = (continuous > 50).astype(int)
        unseen = _read_names(SAMPLES / "awa2" / "testclasses.txt")
    # The original AwA2 file marks antelope's first four values missing with -1 (the reference copy has 0.00).
    continuous[0, :4] = -1.0
    (folder / "classes.txt").write_text(_id_name_lines(class_names))
    (folder / "predicates.txt").write_text(_id_name_lines(predicates))
    (folder / "predicate-matrix-binary.txt").write_text("".join(" ".join(map(str, row)) + "\n" for row in binary))
    (folder / "predicate-matrix-continuous.txt").write_text(
        "".join(" ".join(f"{value:7.2f}" for value in row) + "\n" for row in continuous))
    (folder / "trainclasses.txt").write_text("".join(f"{name}\n" for name in class_names if name not in unseen))
    (folder / "testclasses.txt").write_text("".join(f"{name}\n" for name in unseen))
    for class_index, name in enumerate(class_names):
        sources = sorted((SAMPLES / "awa2" / "JPEGImages" / name).glob("*.jpg"))[:images_per_class]
        for number, source in enumerate(sources):
            size = (320 + 16 * (class_index % 4), 240 + 12 * (number % 3))  # assorted photo sizes, like AwA2's
            _photo(source, folder / "JPEGImages" / name / f"{name}_{10001 + number}.jpg", size)
    return {"classes": len(class_names), "attributes": len(predicates), "seen classes": len(class_names) - len(unseen),
            "unseen classes": len(unseen), "images": len(class_names) * images_per_class}


def _cell(strings: list[str]) -> np.ndarray:
    cell = np.empty((len(strings), 1), dtype=object)
    for index, value in enumerate(strings):
        cell[index, 0] = np.array([value])
    return cell


def _column(indices_0_based: np.ndarray) -> np.ndarray:
    return (np.asarray(indices_0_based) + 1).astype(np.uint16).reshape(-1, 1)


def write_xlsa17(root: Path, reference: Path | None, awa2: Path) -> dict:
    """``xlsa17/data/AWA2`` as ``python -m utils.download xlsa17`` leaves it: att_splits.mat, res101.mat and the
    class lists (trainval, test and the first train/val fold)."""
    folder = root / "xlsa17" / "data" / "AWA2"
    folder.mkdir(parents=True)
    if reference is not None:
        shutil.copyfile(reference / "xlsa17" / "AWA2" / "att_splits.mat", folder / "att_splits.mat")
        for name in CLASS_LISTS:
            shutil.copyfile(reference / "xlsa17" / "AWA2" / name, folder / name)
        meta = np.load(reference / "xlsa17_image_meta" / "AWA2_image_meta.npz")
        labels = meta["labels"].astype(np.int64)
        image_files = ["/BS/xian/work/data/" + name for name in meta["image_files"]]
    else:
        class_names = _read_names(awa2 / "classes.txt")
        continuous = np.loadtxt(awa2 / "predicate-matrix-continuous.txt").T  # (85, 50)
        att = np.clip(continuous, 0, None)
        att = att / np.linalg.norm(att, axis=0, keepdims=True)
        labels = np.repeat(np.arange(len(class_names)), GENERATED_IMAGES_PER_CLASS)
        image_files = [f"/BS/xian/work/data/Animals_with_Attributes2//JPEGImages/{class_names[label]}/"
                       f"{class_names[label]}_{10001 + i % GENERATED_IMAGES_PER_CLASS}.jpg" for i, label in enumerate(labels)]
        unseen = np.array([class_names.index(name) for name in PROPOSED_SPLIT_UNSEEN])
        is_unseen = np.isin(labels, unseen)
        seen_images = np.flatnonzero(~is_unseen)
        test_seen = seen_images[np.arange(seen_images.size) % 5 == 0]
        scipy.io.savemat(folder / "att_splits.mat", {
            "att": att, "original_att": continuous, "allclasses_names": _cell(class_names),
            "trainval_loc": _column(np.setdiff1d(seen_images, test_seen)), "test_seen_loc": _column(test_seen),
            "test_unseen_loc": _column(np.flatnonzero(is_unseen)),
            "train_loc": _column(seen_images[: seen_images.size // 2]),
            "val_loc": _column(seen_images[seen_images.size // 2:]),
        })
        seen_names = [name for name in class_names if name not in PROPOSED_SPLIT_UNSEEN]
        lists = (seen_names, list(PROPOSED_SPLIT_UNSEEN), seen_names[:27], seen_names[27:])
        for name, listed in zip(CLASS_LISTS, lists, strict=True):
            (folder / name).write_text("".join(f"{class_name}\n" for class_name in listed))
    rng = np.random.default_rng(0)
    n_classes = int(labels.max()) + 1
    class_means = rng.standard_normal((n_classes, REAL_FEATURE_DIM), dtype=np.float32)
    features = rng.standard_normal((labels.size, REAL_FEATURE_DIM), dtype=np.float32)
    features += 2.0 * class_means[labels]
    np.maximum(features, 0, out=features)  # ResNet-101 features are post-ReLU averages, non-negative
    scipy.io.savemat(folder / "res101.mat", {
        "features": features.T, "labels": (labels + 1).reshape(-1, 1).astype(np.float64), "image_files": _cell(image_files),
    })
    return {"xlsa17 images": int(labels.size), "feature dimension": REAL_FEATURE_DIM}


def write_cifar100(root: Path) -> dict:
    """``cifar-100-python/`` (meta, train, test) in CIFAR-100's pickle format."""
    shutil.copytree(SAMPLES / "cifar100" / "cifar-100-python", root / "cifar-100-python")
    return {"cifar classes": 100}


def write_fasttext(root: Path, words: list[str]) -> dict:
    """``fasttext/cc.en.300.bin``: a real fastText binary of dimension 300 trained on ``words`` (in a subprocess:
    a second model in one process can fail with ``Encountered NaN``)."""
    folder = root / "fasttext"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.permutation(words)) for _ in range(40)) + "\n")
    subprocess.run([sys.executable, __file__, "--train-fasttext", str(corpus), str(folder / "cc.en.300.bin")],
                   check=True, cwd=REPO_ROOT)
    corpus.unlink()
    return {"word-vector dimension": 300}


def train_fasttext(corpus: str, output: str) -> None:
    import fasttext

    model = fasttext.train_unsupervised(corpus, model="skipgram", dim=300, epoch=3, minCount=1, bucket=20000,
                                        minn=3, maxn=6, thread=1, verbose=0)
    model.save_model(output)


def write_nus_wide(root: Path, reference: Path | None, n_train: int = 96, n_test: int = 48) -> dict:
    """``nus_wide/`` (Flickr-style images and labels.csv) and ``ZS_SDL/data/NUS_WIDE`` (the label vectors)."""
    vectors_dir = root / "ZS_SDL" / "data" / "NUS_WIDE"
    if reference is not None:
        shutil.copytree(reference / "word_vectors" / "nuswide_coco_sdl" / "NUS_WIDE", vectors_dir)
    else:
        from utils.datasets.nuswide import load_label_vectors

        sample = load_label_vectors(SAMPLES / "scenes" / "label_vectors")
        write_label_vectors(vectors_dir, sample.label_names, sample.label_vectors, sample.unseen_labels)
    from utils.datasets.nuswide import load_label_vectors

    vectors = load_label_vectors(vectors_dir)
    names = np.array(vectors.label_names)
    seen_tags, unseen_tags = names[~vectors.unseen_mask], names[vectors.unseen_mask]
    rng = np.random.default_rng(0)
    sources = sorted((SAMPLES / "scenes" / "images").glob("*.jpg"))
    rows = ["image,labels,split"]
    for index in range(n_train + n_test):
        split = "train" if index < n_train else "test"
        tags = list(rng.choice(seen_tags, size=rng.integers(1, 4), replace=False))
        if split == "test":
            tags.append(str(rng.choice(unseen_tags)))
        relative = f"Flickr/{tags[0]}/{index:04d}_{2124494179 + index}.jpg"
        _photo(sources[index % len(sources)], root / "nus_wide" / "images" / relative, (240, 180))
        rows.append(f"{relative},{' '.join(tags)},{split}")
    (root / "nus_wide" / "labels.csv").write_text("\n".join(rows) + "\n")
    return {"nus-wide labels": len(names), "nus-wide unseen labels": int(vectors.unseen_mask.sum()),
            "nus-wide images": n_train + n_test}


STANDIN_CLIP = "zsl-standin-clip"
"""The open_clip architecture of the stand-in pretrained checkpoint: ViT-B-32's 605 MB cannot be written for a test."""


def write_standin_clip(root: Path) -> dict:
    """``open_clip/<STANDIN_CLIP>.json`` (a small open_clip model configuration) and ``open_clip/<STANDIN_CLIP>.bin``
    (seeded random weights of it, saved as open_clip's released checkpoints are): what notebook 08's pretrained path
    loads in the rehearsal (``python -m utils.stages.clip --pretrained-model … --pretrained-weights …``)."""
    import open_clip
    import torch

    from utils.config import ClipConfig
    from utils.stages.clip import clip_model_config

    folder = root / "open_clip"
    folder.mkdir(parents=True)
    (folder / f"{STANDIN_CLIP}.json").write_text(json.dumps(clip_model_config(ClipConfig.for_profile("smoke"))))
    open_clip.add_model_config(folder / f"{STANDIN_CLIP}.json")
    torch.manual_seed(0)
    torch.save(open_clip.create_model(STANDIN_CLIP).state_dict(), folder / f"{STANDIN_CLIP}.bin")
    return {"stand-in clip": STANDIN_CLIP}


def tree_files(root: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file under ``root``, caches left out (to tell what a run wrote)."""
    files = {}
    for path in Path(root).rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
            status = path.stat()
            files[str(path.relative_to(root))] = (status.st_size, status.st_mtime_ns)
    return files


def build_full_data_tree(root: Path, images_per_class: int = 10) -> dict:
    """Write the whole miniature tree under ``root`` (which must not exist yet); returns its counts."""
    root = Path(root)
    root.mkdir(parents=True)
    reference = reference_data_dir()
    counts = {"reference data": str(reference) if reference else "generated"}
    counts.update(write_awa2(root, reference, images_per_class))
    counts.update(write_xlsa17(root, reference, root / "Animals_with_Attributes2"))
    counts.update(write_cifar100(root))
    awa2 = root / "Animals_with_Attributes2"
    words = sorted({word for name in _read_names(awa2 / "classes.txt") for word in name.split("+")}
                   | set(_read_names(awa2 / "predicates.txt"))
                   | {"spotted", "cat", "black", "and", "white", "bear", "whale", "striped", "horse"})
    counts.update(write_fasttext(root, words))
    counts.update(write_nus_wide(root, reference))
    counts.update(write_standin_clip(root))
    (root / "TREE.json").write_text(json.dumps(counts, indent=1) + "\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, nargs="?")
    parser.add_argument("--train-fasttext", nargs=2, metavar=("CORPUS", "OUT"))
    parser.add_argument("--images-per-class", type=int, default=10)
    args = parser.parse_args(argv)
    if args.train_fasttext:
        train_fasttext(*args.train_fasttext)
        return 0
    if args.root is None:
        parser.error("give the folder to write")
    print(json.dumps(build_full_data_tree(args.root, args.images_per_class), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
