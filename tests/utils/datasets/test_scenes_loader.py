"""The sample world's multi-label scenes folder, written by the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.utils.datasets.conftest import SCENE_LABELS
from utils.datasets import load_scenes
from utils.errors import DatasetFormatError


def test_load_scenes_reads_multi_hot_labels_and_split(scenes_folder: Path) -> None:
    scenes = load_scenes(scenes_folder)
    assert scenes.label_names == SCENE_LABELS
    assert [path.name for path in scenes.image_paths] == [
        "scene_00000.jpg",
        "scene_00001.jpg",
        "scene_00002.jpg",
    ]
    assert all(path.is_file() for path in scenes.image_paths)
    assert scenes.label_matrix.dtype == np.uint8
    np.testing.assert_array_equal(scenes.label_matrix, [[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 1]])
    assert scenes.seen_labels == ["zebra", "lion"] and scenes.unseen_labels == ["giant+panda", "seal"]
    assert scenes.unseen_mask.tolist() == [False, True, True, False]
    assert (scenes.seen_mask == ~scenes.unseen_mask).all()
    assert scenes.label_vectors is not None and scenes.label_vectors.label_vectors.shape == (4, 8)


def test_optional_split_column(scenes_folder: Path) -> None:
    assert load_scenes(scenes_folder).image_splits is None
    (scenes_folder / "labels.csv").write_text(
        "image,labels,split\n"
        "scene_00000.jpg,zebra,train\nscene_00001.jpg,zebra giant+panda,test\nscene_00002.jpg,lion seal zebra,test\n"
    )
    scenes = load_scenes(scenes_folder)
    assert scenes.image_splits == ["train", "test", "test"]
    (scenes_folder / "labels.csv").write_text("image,labels,split\nscene_00000.jpg,zebra\n")
    with pytest.raises(DatasetFormatError, match=r"labels.csv: line 2: expected 3 fields, got 2"):
        load_scenes(scenes_folder)


def test_label_vectors_are_optional(scenes_folder: Path) -> None:
    for path in (scenes_folder / "label_vectors").iterdir():
        path.unlink()
    (scenes_folder / "label_vectors").rmdir()
    assert load_scenes(scenes_folder).label_vectors is None


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        (
            "labels.csv",
            "image,labels\nscene_00000.jpg,zebra okapi\n",
            r"labels.csv: line 2: unknown label 'okapi'",
        ),
        ("labels.csv", "file,tags\nscene_00000.jpg,zebra\n", r"labels.csv: header is \['file', 'tags'\]"),
        (
            "labels.csv",
            "image,labels\nscene_00000.jpg,\n",
            r"labels.csv: line 2: image 'scene_00000.jpg' has no labels",
        ),
        (
            "labels.csv",
            "image,labels\nscene_00000.jpg,zebra\nscene_00000.jpg,lion\n",
            r"labels.csv: line 3: image 'scene_00000.jpg' already listed on line 2",
        ),
        (
            "labels.csv",
            "image,labels\nscene_09999.jpg,zebra\n",
            r"labels.csv: 1 listed images are not in images/",
        ),
        (
            "unseen_labels.txt",
            "seal\n",
            r"unseen_labels.txt: labels in neither seen_labels.txt nor unseen_labels.txt: giant\+panda",
        ),
        (
            "unseen_labels.txt",
            "seal\ngiant+panda\nzebra\n",
            r"unseen_labels.txt: labels also in seen_labels.txt: zebra",
        ),
        ("seen_labels.txt", "zebra\nlion\nunicorn\n", r"seen_labels.txt: line 3: unknown class 'unicorn'"),
    ],
)
def test_bad_scenes_name_the_file(scenes_folder: Path, file_name: str, content: str, message: str) -> None:
    (scenes_folder / file_name).write_text(content)
    with pytest.raises(DatasetFormatError, match=message):
        load_scenes(scenes_folder)


def test_unlisted_images_and_mismatched_vectors_are_rejected(scenes_folder: Path) -> None:
    (scenes_folder / "images" / "stray.jpg").write_bytes(b"")
    with pytest.raises(DatasetFormatError, match=r"images: 1 images have no row in labels.csv: stray.jpg"):
        load_scenes(scenes_folder)
    (scenes_folder / "images" / "stray.jpg").unlink()
    from utils.datasets import write_label_vectors

    write_label_vectors(scenes_folder / "label_vectors", SCENE_LABELS, np.eye(4), ["seal"])
    with pytest.raises(DatasetFormatError, match=r"unseen_classes.pickle: unseen labels differ from"):
        load_scenes(scenes_folder)


def test_sample_world_scenes_when_generated(data_samples: Path) -> None:
    folder = data_samples / "scenes"
    if not (folder / "labels.csv").is_file():
        pytest.skip(f"the sample world's scenes have not been generated at {folder} yet")
    scenes = load_scenes(folder)
    assert scenes.label_matrix.shape == (scenes.n_images, scenes.n_labels)
    assert (scenes.label_matrix.sum(axis=1) >= 1).all()
