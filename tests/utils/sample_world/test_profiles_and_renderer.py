"""Class profiles make zero-shot possible, and the renderer is deterministic and draws the animal."""

import os
import subprocess
import sys

import numpy as np
import pytest

from utils.config import AWA2_UNSEEN_CLASSES
from utils.datasets.cifar100 import (
    CIFAR100_COARSE_LABEL_NAMES,
    CIFAR100_FINE_LABEL_NAMES,
    CIFAR100_FINE_TO_COARSE,
)
from utils.sample_world.profiles import (
    ATTRIBUTE_NAMES,
    AWA2_CLASS_NAMES,
    AWA2_PREDICATE_ORDER,
    AWA2_PROFILES,
    ClassProfile,
    attribute_matrices,
    cifar100_profiles,
)
from utils.sample_world.renderer import draw_habitat, paste_animal, render_animal


def test_awa2_classes_in_awa2_order_with_the_standard_unseen_ten(reference_data):
    real_classes = [line.split("\t")[1] for line in (reference_data / "awa2_meta" / "classes.txt").read_text().splitlines()]
    assert list(AWA2_CLASS_NAMES) == real_classes
    real_unseen = (reference_data / "awa2_meta" / "testclasses_standard.txt").read_text().split()
    assert set(AWA2_UNSEEN_CLASSES) == set(real_unseen)


def test_attribute_names_are_awa2_predicates_in_awa2_order():
    positions = [AWA2_PREDICATE_ORDER.index(name) for name in ATTRIBUTE_NAMES]
    assert positions == sorted(positions)
    assert 30 <= len(ATTRIBUTE_NAMES) <= 40


def test_every_class_has_a_distinct_attribute_row():
    binary, _ = attribute_matrices(AWA2_PROFILES.values())
    assert len({tuple(row) for row in binary}) == len(AWA2_CLASS_NAMES)


def test_every_unseen_attribute_is_shown_by_some_seen_class():
    binary, _ = attribute_matrices([AWA2_PROFILES[name] for name in AWA2_CLASS_NAMES])
    is_unseen = np.array([name in AWA2_UNSEEN_CLASSES for name in AWA2_CLASS_NAMES])
    needed = binary[is_unseen].max(0).astype(bool)
    covered = binary[~is_unseen].max(0).astype(bool)
    missing = [name for name, need, have in zip(ATTRIBUTE_NAMES, needed, covered, strict=True) if need and not have]
    assert not missing, f"unseen classes need attributes no seen class shows: {missing}"


def test_continuous_matrix_is_the_expected_visibility():
    binary, continuous = attribute_matrices(AWA2_PROFILES.values())
    assert continuous.shape == binary.shape
    assert ((continuous >= 0) & (continuous <= 100)).all()
    # Every attribute a class has is visible in most of its images; the others only as stray habitats.
    assert (continuous[binary == 1] > 25).all()
    assert (continuous[binary == 0] < 2).all()
    habitat_columns = [ATTRIBUTE_NAMES.index(name) for name in ("arctic", "desert", "plains", "forest", "jungle",
                                                                 "mountains", "ocean", "water", "fields")]
    np.testing.assert_allclose(continuous[:, habitat_columns].sum(1), 100.0)


def test_invalid_profile_is_rejected_with_its_name():
    with pytest.raises(ValueError, match="'unicorn'"):
        ClassProfile("unicorn", ("pink",), None, None, None, frozenset(), False, False, ("fields",))


def test_cifar100_profiles_are_unique_and_follow_superclasses():
    profiles = cifar100_profiles(CIFAR100_FINE_LABEL_NAMES, CIFAR100_COARSE_LABEL_NAMES, CIFAR100_FINE_TO_COARSE)
    assert list(profiles) == list(CIFAR100_FINE_LABEL_NAMES)
    assert len({frozenset(p.attributes) for p in profiles.values()}) == 100


def test_rendering_is_a_pure_function_of_the_generator():
    profile = AWA2_PROFILES["zebra"]
    first = np.asarray(render_animal(profile, np.random.default_rng(3), (64, 64)))
    again = np.asarray(render_animal(profile, np.random.default_rng(3), (64, 64)))
    other = np.asarray(render_animal(profile, np.random.default_rng(4), (64, 64)))
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 5


def test_rendering_does_not_depend_on_string_hashing(repo_root):
    script = (
        "import hashlib; from utils.sample_world.generator import SampleWorldSpec, render_awa2_image; "
        "print(hashlib.sha256(b''.join(render_awa2_image(SampleWorldSpec(), name, index) "
        "for name in ('giraffe', 'cow', 'raccoon') for index in range(6))).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script], cwd=repo_root, capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
        ).stdout
        for hash_seed in (1, 2, 3)
    }
    assert len(digests) == 1


def test_the_animal_changes_the_background():
    background = draw_habitat("arctic", 128, np.random.default_rng(0))
    with_bear = background.copy()
    paste_animal(with_bear, AWA2_PROFILES["grizzly+bear"], np.random.default_rng(0))
    snow, scene = np.asarray(background, dtype=float), np.asarray(with_bear, dtype=float)
    # A brown bear on snow: a sizeable share of pixels much darker than any snow pixel.
    assert (scene.mean(2) < snow.mean(2).min() - 40).mean() > 0.03
