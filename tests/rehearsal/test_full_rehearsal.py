"""The ``full`` rehearsal as a user runs it: ``python -m utils.course --profile full --budget tiny`` on a data tree
laid out exactly like the real downloads, from a clone without ``data_samples/``."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from full_data_tree import tree_files

from utils.datasets import read_class_list
from utils.datasets.xlsa17 import load_xlsa17

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]

NOTEBOOKS = 9


@pytest.fixture(scope="module")
def rehearsal(full_data_tree, repo_without_samples, tmp_path_factory):
    """Run the rehearsal once; returns what the tests look at."""
    data_root, counts = full_data_tree
    outputs = tmp_path_factory.mktemp("full_outputs") / "outputs"
    course_dir = tmp_path_factory.mktemp("full_course") / "course"
    data_before, repo_before = tree_files(data_root), tree_files(repo_without_samples)
    env = {**os.environ, "ZSL_DATA_DIR": str(data_root), "ZSL_OUTPUTS_DIR": str(outputs), "ZSL_DEVICE": "cpu"}
    env.pop("ZSL_PROFILE", None)  # the command line names the profile, as a user types it
    completed = subprocess.run(
        [sys.executable, "-m", "utils.course", "--profile", "full", "--budget", "tiny", "--out", str(course_dir)],
        cwd=repo_without_samples, env=env, capture_output=True, text=True, timeout=1500,
    )
    results = {}
    for path in (course_dir / "results").glob("*.json"):
        entry = json.loads(path.read_text())
        results[entry["notebook"]] = entry["figures"]
    return {
        "completed": completed, "outputs": outputs, "counts": counts, "results": results, "data_root": data_root,
        "course_dir": course_dir,
        "data_unchanged": tree_files(data_root) == data_before,
        "repo_changes": set(tree_files(repo_without_samples)) ^ set(repo_before),
    }


def test_every_notebook_runs_to_the_end(rehearsal):
    completed = rehearsal["completed"]
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert f"{NOTEBOOKS}/{NOTEBOOKS} notebooks ran" in completed.stdout
    assert len(rehearsal["results"]) == NOTEBOOKS


def test_full_writes_only_under_its_own_folders(rehearsal):
    written = [path.relative_to(rehearsal["outputs"]) for path in rehearsal["outputs"].rglob("*") if path.is_file()]
    assert written
    outside = [str(path) for path in written if "full-tiny" not in path.parts]
    assert not outside, f"written outside full-tiny folders: {outside[:5]}"
    assert rehearsal["data_unchanged"], "the run modified the data tree"
    assert not rehearsal["repo_changes"], f"the run wrote into the repository: {sorted(rehearsal['repo_changes'])[:5]}"


def test_recorded_figures_name_the_real_data(rehearsal):
    counts, results = rehearsal["counts"], rehearsal["results"]
    data = results["00_data_and_splits"]
    assert (data["classes"], data["attributes"], data["images"]) == (counts["classes"], counts["attributes"], counts["images"])
    assert data["word-vector dimension"] == 300
    images_per_class = 4  # utils.config.TINY_IMAGES_PER_CLASS
    seen, unseen = counts["seen classes"], counts["unseen classes"]
    assert data["test_seen images after split"] == seen  # one of four per seen class
    assert data["valid images after split"] == seen  # one of the other three
    assert data["train images after split"] == seen * (images_per_class - 2)
    assert data["test images after split"] == unseen * images_per_class
    assert results["04_semantic_search"]["images indexed"] == seen + unseen * images_per_class  # test_seen + test
    features = results["05_attribute_zsl_remse"]
    assert (features["xlsa17 images"], features["feature dimension"]) == (counts["xlsa17 images"], 2048)
    assert results["06_siamese_one_shot"]["classes"] == counts["cifar classes"]
    clip = results["08_clip_zero_shot"]
    assert (clip["seen classes"], clip["unseen classes"]) == (seen, unseen)
    tags = results["07_multilabel_zsl_sdl"]
    assert (tags["labels"], tags["unseen labels"]) == (counts["nus-wide labels"], counts["nus-wide unseen labels"])


def test_full_holds_out_the_proposed_split_read_from_xlsa17(rehearsal):
    # Xian et al.'s Proposed Split (att_splits.mat's test_unseen_loc), not AwA2's standard testclasses.txt: the
    # ImageNet-pretrained bodies of full must not have seen the unseen classes.
    xlsa17 = load_xlsa17(rehearsal["data_root"] / "xlsa17" / "data" / "AWA2")
    names = np.array(xlsa17.class_names)
    proposed_unseen, proposed_seen = set(names[xlsa17.unseen_class_indices]), set(names[xlsa17.seen_class_indices])
    standard_unseen = set(read_class_list(rehearsal["data_root"] / "Animals_with_Attributes2" / "testclasses.txt"))
    assert len(proposed_unseen) == 10 and proposed_unseen != standard_unseen
    split = rehearsal["outputs"] / "awa2_split" / "full-tiny"

    def classes_in(folder: str) -> set[str]:
        return {path.name for path in (split / folder).iterdir() if path.is_dir()}

    assert classes_in("test") == proposed_unseen
    assert classes_in("train") == classes_in("valid") == classes_in("test_seen") == proposed_seen
    training = {path.name for folder in ("train", "valid") for path in (split / folder).glob("*/*.jpg")}
    assert not training & {path.name for path in (split / "test_seen").glob("*/*.jpg")}


def test_full_chooses_gamma_on_xlsa17s_own_validation_classes(rehearsal):
    listed = set(read_class_list(rehearsal["data_root"] / "xlsa17" / "data" / "AWA2" / "valclasses1.txt"))
    for notebook, marker in (("02_stage2_visual_semantic", "pseudo-unseen validation classes:"),
                             ("05_attribute_zsl_remse", "validation classes (xlsa17's valclasses1.txt):")):
        executed = json.loads((rehearsal["course_dir"] / f"{notebook}.ipynb").read_text())
        printed = "".join(text for cell in executed["cells"] for output in cell.get("outputs", [])
                          for text in output.get("text", []))
        line = next((line for line in printed.splitlines() if line.startswith(marker)), None)
        assert line is not None, f"{notebook} printed no line starting {marker!r}"
        assert set(line.split(":", 1)[1].strip().split(", ")) == listed


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_training_logs_hold_every_epoch_of_every_phase(rehearsal):
    outputs = rehearsal["outputs"]
    devise = outputs / "devise" / "full-tiny" / "logs"
    stage2 = _rows(devise / "devise.csv")
    assert [row["phase"] for row in stage2] == ["2a", "2b"]  # head_epochs 1 + unfrozen_epochs 1
    for name in ("stage1_squeezenet1_1", "stage1_resnet34"):
        assert len(_rows(devise / f"{name}.csv")) == 1
    attribute_zsl_logs = list((outputs / "attribute_zsl" / "full-tiny").rglob("*.csv"))
    assert attribute_zsl_logs and all(len(_rows(path)) == 1 for path in attribute_zsl_logs)
    sdl_logs = list((outputs / "sdl" / "full-tiny").rglob("*.csv"))
    assert len(sdl_logs) == 4 and all(len(_rows(path)) == 1 for path in sdl_logs)
    siamese_logs = list((outputs / "siamese" / "full-tiny").rglob("log.csv"))
    assert siamese_logs and all(len(_rows(path)) == 1 for path in siamese_logs)


def test_the_split_is_hard_links_and_the_images_are_read_through_the_cache(rehearsal):
    # full takes the GPU data path: a split that costs no disk, and every image resized once and reused.
    outputs, awa2 = rehearsal["outputs"], rehearsal["data_root"] / "Animals_with_Attributes2" / "JPEGImages"
    split_images = sorted((outputs / "awa2_split" / "full-tiny").glob("*/*/*.jpg"))
    assert split_images
    for image in split_images:
        source = awa2 / image.parent.name / image.name
        assert os.path.samefile(image, source), f"{image} is a copy, not a hard link of {source}"

    manifest = json.loads((outputs / "image_cache" / "full-tiny" / "side64" / "manifest.json").read_text())
    entries = manifest["entries"]
    written = [key for key, entry in entries.items() if entry[5]]  # [size, mtime, ctime, inode, sha256, written, size]
    assert written and len(written) == len(entries)  # every photo is larger than 64 px on its shorter side
    cached_files = list((outputs / "image_cache" / "full-tiny" / "side64" / "files").rglob("*.jpg"))
    assert len(cached_files) == len(written)
    # One cached copy per image file, whichever of its names (the data set's, the split's) a notebook read.
    assert len(entries) <= len(list(awa2.glob("*/*.jpg"))) + len(list(rehearsal["data_root"].glob("nus_wide/images/**/*.jpg")))


def test_clips_pretrained_path_runs_on_the_tree_with_a_stand_in_checkpoint(rehearsal, tmp_path):
    """08's `full` path with pretrained weights, as the stage's command runs it: the miniature tree's stand-in open_clip
    checkpoint (ViT-B-32's 605 MB cannot be written for a test) loaded through open_clip.create_model."""
    folder = rehearsal["data_root"] / "open_clip"
    env = {**os.environ, "ZSL_DATA_DIR": str(rehearsal["data_root"]), "ZSL_OUTPUTS_DIR": str(tmp_path / "outputs"),
           "ZSL_DEVICE": "cpu"}
    completed = subprocess.run(
        [sys.executable, "-m", "utils.stages.clip", "--profile", "full", "--budget", "tiny",
         "--pretrained-model", str(folder / "zsl-standin-clip.json"),
         "--pretrained-weights", str(folder / "zsl-standin-clip.bin")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    rows = [line for line in completed.stdout.splitlines() if line.lstrip().startswith("pretrained zsl-standin-clip")]
    assert {row.split()[3] for row in rows} == {"names", "descriptions"}, completed.stdout[-2000:]

