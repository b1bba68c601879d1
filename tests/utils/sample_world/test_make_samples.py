"""The committed sample world is intact, and regenerating it from its seed gives the same files."""

import hashlib
import io
import json

import numpy as np
import PIL
import pytest
from PIL import Image

from utils.datasets.safe_pickle import load_pickle
from utils.sample_world.generator import PARTS, SampleWorldSpec, file_digests, generate


@pytest.fixture(scope="module")
def manifest(data_samples):
    return json.loads((data_samples / "MANIFEST.json").read_text())


def test_committed_files_match_their_manifest(data_samples, manifest):
    committed = file_digests(data_samples)
    assert sorted(committed) == sorted(manifest["files"]), "files added to or missing from data_samples/"
    changed = [name for name, digest in committed.items() if manifest["files"][name] != digest]
    assert not changed, f"files differ from MANIFEST.json: {changed[:5]}"


def test_world_is_small_enough_to_commit(data_samples):
    total = sum(path.stat().st_size for path in data_samples.rglob("*") if path.is_file())
    assert total < 25e6, f"data_samples/ is {total / 1e6:.1f} MB; the budget is 25 MB"


def test_counts_match_the_spec(data_samples, manifest):
    spec = SampleWorldSpec(**manifest["spec"])
    class_folders = sorted((data_samples / "awa2" / "JPEGImages").iterdir())
    assert len(class_folders) == 50
    assert {len(list(folder.glob("*.jpg"))) for folder in class_folders} == {spec.awa2_images_per_class}
    assert spec.awa2_images_per_class >= 50, "a 90:10 split needs at least 50 images per class"
    scene_rows = (data_samples / "scenes" / "labels.csv").read_text().splitlines()[1:]
    assert len(scene_rows) == spec.n_train_scenes + spec.n_test_scenes
    assert manifest["counts"]["cifar100"] == {
        "train": 100 * spec.cifar_train_per_class,
        "test": 100 * spec.cifar_test_per_class,
    }


def _vectors(path) -> tuple[list[str], np.ndarray]:
    """The words (or the array's shape) and the float values of a ``.vec`` file or a label-vector pickle."""
    if path.suffix == ".pickle":
        array = load_pickle(path)
        return [str(array.dtype), *map(str, array.shape)], np.asarray(array, dtype=np.float64)
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [line.rstrip().split(" ") for line in lines[1:]]
    return [lines[0], *(row[0] for row in rows)], np.array([[float(value) for value in row[1:]] for row in rows])


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


@pytest.mark.slow
def test_regeneration_from_the_seed_reproduces_the_committed_world(tmp_path, data_samples, manifest):
    regenerated = generate(tmp_path, SampleWorldSpec(**manifest["spec"]), PARTS)
    assert regenerated["counts"] == manifest["counts"]
    assert sorted(regenerated["files"]) == sorted(manifest["files"])
    same_pillow = manifest["versions"]["pillow"] == PIL.__version__
    for name, digest in manifest["files"].items():
        if regenerated["files"][name] == digest:
            continue
        if name.endswith((".vec", "wordvec_array.pickle")):
            # Label vectors are float32 sums and L2 norms: NumPy's SIMD kernels differ between CPUs in the last
            # bit (1 ulp), so the bytes (or the last printed of 6 digits) may differ while every value agrees.
            regenerated_vectors, committed_vectors = _vectors(tmp_path / name), _vectors(data_samples / name)
            assert regenerated_vectors[0] == committed_vectors[0], f"{name}: other words or shape after regeneration"
            np.testing.assert_allclose(regenerated_vectors[1], committed_vectors[1], rtol=1e-5, atol=1e-7, err_msg=name)
            continue
        # Another libjpeg may encode the same pixels into other bytes; the pixels must still agree.
        assert not same_pillow and name.endswith(".jpg"), f"{name} differs after regeneration"
        difference = np.abs(_pixels((tmp_path / name).read_bytes()) - _pixels((data_samples / name).read_bytes()))
        assert difference.mean() < 2, f"{name} differs after regeneration (mean abs {difference.mean():.2f})"


def test_a_different_seed_gives_a_different_world(tmp_path):
    first = generate(tmp_path / "a", SampleWorldSpec(seed=0, awa2_images_per_class=2), ["awa2"])
    second = generate(tmp_path / "b", SampleWorldSpec(seed=1, awa2_images_per_class=2), ["awa2"])
    images = [name for name in first["files"] if name.endswith(".jpg")]
    assert sum(first["files"][name] != second["files"][name] for name in images) == len(images)
    tables = [name for name in first["files"] if name.endswith(".txt")]
    assert all(first["files"][name] == second["files"][name] for name in tables), "class tables do not depend on the seed"


def test_unknown_part_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown part"):
        generate(tmp_path, SampleWorldSpec(), ["awa2", "imagenet"])


def test_checksums_are_sha256_of_the_bytes(data_samples, manifest):
    name = "awa2/classes.txt"
    assert manifest["files"][name] == hashlib.sha256((data_samples / name).read_bytes()).hexdigest()
