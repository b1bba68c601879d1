"""utils.stages.attribute_zsl and utils.datasets.xlsa17_export: splits, the exact-format round trip, nearest-class inference,
and a smoke-sized end-to-end run that must beat chance on unseen classes."""

import dataclasses
import json
import time

import numpy as np
import pytest
import scipy.io
import torch

from models.attribute_head import (
    AttributeHead,
    AttributeNetwork,
    attribute_class_scores,
    attribute_priors,
    create_attribute_backbone,
    dap_scores,
    nearest_class_scores,
)
from models.losses import build_loss
from utils.config import AttributeZslConfig
from utils.datasets import image_index, load_awa2, load_xlsa17
from utils.datasets.xlsa17_export import write_xlsa17_pair
from utils.errors import DatasetFormatError
from utils.splits import first_per_class, split_images
from utils.stages.attribute_zsl import (
    candidate_rules,
    compare_losses,
    export_backbone_features,
    feature_problem,
    train_feature_model,
)
from utils.training import ImageBatches, ImageFiles, LossLog, fit_or_load, train_model


def test_split_images_partitions_like_xlsa17():
    labels = np.repeat(np.arange(10), 10)
    splits = split_images(labels, seen_classes=range(7), unseen_classes=[7, 8, 9], n_validation_classes=2, seed=3)
    everything = np.concatenate([splits["trainval"], splits["test_seen"], splits["test_unseen"]])
    assert np.array_equal(np.sort(everything), np.arange(100))
    assert set(labels[splits["test_unseen"]]) == {7, 8, 9}
    assert np.all(np.bincount(labels[splits["test_seen"]], minlength=7)[:7] == 2)
    assert np.array_equal(np.sort(np.concatenate([splits["train"], splits["val"]])), splits["trainval"])
    assert set(labels[splits["val"]]) == set(splits["validation_classes"].tolist())
    again = split_images(labels, seen_classes=range(7), unseen_classes=[7, 8, 9], n_validation_classes=2, seed=3)
    assert all(np.array_equal(splits[key], again[key]) for key in splits)


def test_write_xlsa17_pair_has_the_real_layout_and_round_trips(tmp_path):
    generator = np.random.default_rng(0)
    n_images, n_classes, n_attributes, width = 40, 5, 6, 7
    labels = np.repeat(np.arange(n_classes), 8)
    features = generator.random((n_images, width)).astype(np.float32)
    original = generator.uniform(0, 100, (n_classes, n_attributes))
    original[0, 0] = np.nan
    binary = (original > 50).astype(np.uint8)
    splits = split_images(labels, seen_classes=[0, 1, 2], unseen_classes=[3, 4], test_seen_fraction=0.25,
                          n_validation_classes=1)
    names = [f"class+{i}" for i in range(n_classes)]
    files = [f"awa2//JPEGImages/{names[label]}/{index}.jpg" for index, label in enumerate(labels)]
    written = write_xlsa17_pair(tmp_path, features, labels, files, names, original, splits, binary)

    raw = scipy.io.loadmat(written["att_splits"])
    assert raw["att"].shape == (n_attributes, n_classes) and raw["allclasses_names"].shape == (n_classes, 1)
    assert np.allclose(np.linalg.norm(raw["att"], axis=0), 1.0)
    assert raw["original_att"][0, 0] == -1.0
    assert raw["trainval_loc"].dtype == np.uint16 and raw["trainval_loc"].shape == (len(splits["trainval"]), 1)
    assert raw["trainval_loc"].min() >= 1 and np.array_equal(raw["trainval_loc"].ravel() - 1, splits["trainval"])
    res = scipy.io.loadmat(written["res101"])
    assert res["features"].shape == (width, n_images) and res["labels"].shape == (n_images, 1)
    assert res["labels"].min() == 1 and res["image_files"].shape == (n_images, 1)

    dataset = load_xlsa17(tmp_path)
    assert np.allclose(dataset.res101.features, features, atol=1e-6)
    assert np.array_equal(dataset.res101.labels, labels)
    assert dataset.class_names == names and dataset.att_splits.train_val_is_clean
    assert np.array_equal(dataset.seen_class_indices, [0, 1, 2])
    assert np.array_equal(dataset.unseen_class_indices, [3, 4])
    assert np.array_equal(dataset.att_splits.test_seen_indices, splits["test_seen"])
    assert np.allclose(dataset.att_splits.original_attributes[1:], original[1:])
    binary_file = load_xlsa17(tmp_path, att_splits_file="binaryAtt_splits.mat")
    assert np.array_equal(binary_file.att_splits.attributes, binary)


def test_nearest_class_distances_by_hand():
    candidates = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    probabilities = torch.tensor([[0.9, 0.2, 0.6], [0.4, 0.45, 0.1]])
    for distance in ("euclidean", "cosine", "hamming"):
        assert nearest_class_scores(probabilities, candidates, distance).argmax(1)[0] == 0
    hamming = nearest_class_scores(probabilities, candidates, "hamming")
    assert hamming.tolist() == [[0.0, -3.0], [-2.0, -1.0]]
    euclidean = nearest_class_scores(probabilities, candidates, "euclidean")
    assert euclidean[1, 0].item() == pytest.approx(-np.sqrt(0.6**2 + 0.45**2 + 0.9**2), rel=1e-5)
    with pytest.raises(ValueError):
        nearest_class_scores(probabilities, candidates, "manhattan")


def test_dap_priors_are_seen_class_means_with_degenerate_ones_at_half():
    seen = torch.tensor([[1.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    assert attribute_priors(seen).tolist() == pytest.approx([0.5, 0.5, 1 / 3, 2 / 3])


def test_dap_scores_equal_lamperts_product_rule():
    """The released DAP evaluation: prod(M*p + (1-M)*(1-p)) / prod(M*prior + (1-M)*(1-prior)), a loop per image."""
    generator = np.random.default_rng(0)
    probabilities = generator.uniform(0.01, 0.99, size=(7, 6))
    candidates = (generator.uniform(size=(4, 6)) > 0.5).astype(float)
    priors = attribute_priors(torch.tensor((generator.uniform(size=(9, 6)) > 0.5).astype(float))).numpy()
    slow = np.array([
        [np.prod(row * p + (1 - row) * (1 - p)) / np.prod(row * priors + (1 - row) * (1 - priors)) for row in candidates]
        for p in probabilities
    ])
    fast = dap_scores(torch.tensor(probabilities, dtype=torch.float32), torch.tensor(candidates), torch.tensor(priors))
    assert np.allclose(fast.numpy(), np.log(slow), atol=1e-4)
    assert np.array_equal(fast.argmax(1).numpy(), slow.argmax(1))


def test_dap_differs_from_the_nearest_vector_when_priors_are_uneven():
    """A rare attribute counts for more in DAP: its presence is strong evidence, its absence weak."""
    candidates = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    probabilities = torch.tensor([[0.55, 0.45]])
    priors = torch.tensor([0.9, 0.1])
    assert nearest_class_scores(probabilities, candidates, "euclidean").argmax(1).item() == 0
    assert attribute_class_scores(probabilities, candidates, "dap", priors).argmax(1).item() == 1
    assert torch.isfinite(dap_scores(torch.tensor([[0.0, 1.0]]), candidates, priors)).all()
    with pytest.raises(ValueError, match="priors"):
        attribute_class_scores(probabilities, candidates, "dap")


@pytest.fixture
def one_thread():
    """One torch thread: on a CPU shared with other jobs, two threads of tiny ops stall each other."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_smoke_end_to_end_beats_chance_on_unseen_classes(tmp_path):
    """Images → small CNN trained briefly with BCE → exact-format xlsa17 files → feature regressors → ZSL/GZSL."""
    start = time.perf_counter()
    torch.manual_seed(0)
    config = AttributeZslConfig.for_profile(
        "smoke", outputs=tmp_path, xlsa17_dir=tmp_path / "xlsa17" / "AWA2", images_per_class=16,
        feature_epochs=8, losses=("remse_in_batch", "bce"),
    )
    awa2 = load_awa2(config.awa2_dir)
    all_paths, all_labels = image_index(awa2)
    kept = first_per_class(all_labels, config.images_per_class)
    paths, labels = [all_paths[i] for i in kept], all_labels[kept]
    splits = split_images(labels, awa2.seen_class_indices, awa2.unseen_class_indices, 0.25, config.n_validation_classes)
    backbone, width = create_attribute_backbone("small_cnn")
    network = AttributeNetwork(backbone, AttributeHead(width, awa2.n_attributes))
    seen_row = {int(c): row for row, c in enumerate(awa2.seen_class_indices)}
    trainval = splits["trainval"]
    images = ImageFiles([paths[i] for i in trainval], np.array([seen_row[int(label)] for label in labels[trainval]]), 32)
    targets = torch.tensor(awa2.binary_attributes[awa2.seen_class_indices], dtype=torch.float32)
    loss = build_loss(family="attribute", name="bce", class_attribute_vectors=targets)
    train_model(network, ImageBatches(images, 32, shuffle=True), loss, 4, 3e-3, log=LossLog(verbose=False))
    export_backbone_features(network.backbone, awa2, paths, labels, splits, config.xlsa17_dir, config.image_size)
    problem = feature_problem(config.xlsa17_dir, config.n_validation_classes, seed=0)
    rows, details = compare_losses(problem, config, tmp_path / "run")
    chance = 1 / len(problem.unseen_classes)
    best = max(row["T1"] for row in rows)
    assert best > 1.5 * chance, rows
    for row in rows:
        assert 0 <= row["U"] <= 1 and 0 <= row["S"] <= 1 and 0 <= row["AUSUC"] <= 1
    for name, detail in details.items():  # the rule is the best on the validation classes, never a test figure
        table = detail["rule_table"]
        assert [entry["rule"] for entry in table] == list(candidate_rules(name))
        assert detail["row"]["rule"] == max(table, key=lambda entry: entry["validation T1"])["rule"]
        # one accuracy per unseen class, averaging to T1 (the paired comparison's items)
        assert detail["unseen_class_accuracies"].shape == (len(problem.unseen_classes),)
        assert detail["unseen_class_accuracies"].mean() == pytest.approx(detail["row"]["T1"])
    assert (tmp_path / "run" / "features" / "remse_in_batch.pt").is_file()
    metadata = json.loads((tmp_path / "run" / "features" / "remse_in_batch.json").read_text())
    assert metadata["settings"]["loss"] == "remse_in_batch" and metadata["config"]["feature_epochs"] == 8
    print(f"{time.perf_counter() - start:.1f} s; T1 {[round(row['T1'], 3) for row in rows]}")


def test_the_attribute_network_is_reused_only_while_its_shaping_fields_are_unchanged(tmp_path, capsys):
    checkpoint = tmp_path / "attribute_network" / "model.pt"
    base = AttributeZslConfig.for_profile("smoke", outputs=tmp_path)
    calls = []

    def fit(**changes):
        model = torch.nn.Linear(3, 2)
        decision = fit_or_load(model, checkpoint, dataclasses.replace(base, **changes), "attribute_network",
                               lambda: calls.append(model.weight.detach().clone()))
        return decision, model

    first, trained_model = fit()
    assert first.trained and first.reason == "no checkpoint yet" and len(calls) == 1
    again, loaded_model = fit(distances=("cosine",), losses=("mse",), n_gammas=3, feature_epochs=9)
    assert not again.trained and again.reason == "settings unchanged" and len(calls) == 1
    assert torch.equal(loaded_model.weight, trained_model.weight)
    assert capsys.readouterr().out.splitlines()[-1].startswith("attribute_network: loaded: settings unchanged (")
    for change in ({"image_epochs": 20}, {"backbone": "small_cnn"}, {"image_learning_rate": 1e-3}, {"seed": 1},
                   {"retrain": True}):
        decision, _ = fit(**change)
        assert decision.trained, change
    assert "attribute_network: training: image_learning_rate 0.001 → 0.003, seed 0 → 1" in capsys.readouterr().out
    (tmp_path / "attribute_network" / "model.json").unlink()  # the older layout: a checkpoint alone
    assert fit()[0].reason == "no settings recorded beside the checkpoint"
    assert not fit()[0].trained


def _tiny_xlsa17(folder, scale: float = 1.0):
    generator = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 8)
    features = (scale * generator.random((labels.size, 5))).astype(np.float32)
    attributes = generator.uniform(0, 100, (6, 4))
    splits = split_images(labels, seen_classes=[0, 1, 2, 3], unseen_classes=[4, 5], test_seen_fraction=0.25,
                          n_validation_classes=1)
    names = [f"class+{i}" for i in range(6)]
    files = [f"awa2//JPEGImages/{names[label]}/{index}.jpg" for index, label in enumerate(labels)]
    write_xlsa17_pair(folder, features, labels, files, names, attributes, splits, (attributes > 50).astype(np.uint8))
    return feature_problem(folder, 1)


def test_feature_regressors_retrain_when_their_settings_or_features_change(tmp_path, capsys):
    problem = _tiny_xlsa17(tmp_path / "xlsa17")
    base = AttributeZslConfig.for_profile("smoke", outputs=tmp_path, feature_epochs=1, regressor_hidden=8)
    checkpoint = tmp_path / "features" / "mse.pt"

    def regressor(problem=problem, **changes):
        model = train_feature_model(problem, "mse", dataclasses.replace(base, **changes), "trainval",
                                    problem.seen_classes, checkpoint)
        return capsys.readouterr().out.strip().splitlines()[-1], model

    line, trained = regressor()
    assert line == "mse: training: no checkpoint yet" and checkpoint.with_suffix(".csv").is_file()
    line, loaded = regressor(distances=("cosine",), image_epochs=5)  # the attribute network's settings do not shape it
    assert line.startswith("mse: loaded: settings unchanged")
    assert all(torch.equal(value, loaded.state_dict()[key]) for key, value in trained.state_dict().items())
    assert regressor(feature_epochs=2)[0] == "mse: training: feature_epochs 1 → 2"
    assert regressor(feature_epochs=2)[0].startswith("mse: loaded")
    assert regressor(feature_epochs=2, retrain=True)[0] == "mse: training: retrain=True"
    rewritten = _tiny_xlsa17(tmp_path / "xlsa17")  # the same features written again: a new file header only
    assert regressor(rewritten, feature_epochs=2)[0].startswith("mse: loaded")
    changed = _tiny_xlsa17(tmp_path / "xlsa17", scale=2.0)  # a re-export with other features
    assert regressor(changed, feature_epochs=2)[0].startswith("mse: training: features_sha256 ")


@pytest.mark.slow
def test_two_processes_train_bit_identical_attribute_networks_regressors_and_figures(tmp_path):
    """The attribute network, its exported features and the regressors from empty outputs, PYTHONHASHSEED 1 and 2."""
    from tests.utils.stages._stage_fingerprints import run_twice

    first, second = run_twice("attribute_zsl", tmp_path)
    assert set(first) == {"attribute_network", "features", "regressors", "figures"} and first == second


def test_validation_classes_come_from_xlsa17s_own_fold_when_the_pair_is_unclean(tmp_path):
    folder = tmp_path / "xlsa17"
    assert _tiny_xlsa17(folder).validation_source == "the classes of att_splits.mat's val_loc"
    # The original AwA2 file's pair: val_loc mixes in images outside trainval, so it cannot name the classes.
    mat = scipy.io.loadmat(folder / "att_splits.mat")
    mat["val_loc"] = np.concatenate([mat["val_loc"], mat["test_unseen_loc"][:1]])
    scipy.io.savemat(folder / "att_splits.mat", {key: value for key, value in mat.items() if not key.startswith("__")})

    drawn = feature_problem(folder, 1, seed=0)
    assert drawn.validation_source == "1 seen classes drawn with seed 0" and drawn.validation_classes.size == 1
    (folder / "valclasses1.txt").write_text("class+3\nclass+1\n")
    listed = feature_problem(folder, 1, seed=0)
    assert listed.validation_source == "xlsa17's valclasses1.txt"
    assert listed.validation_classes.tolist() == [1, 3]
    assert not np.isin(listed.labels[listed.splits["validation_train"]], [1, 3]).any()
    assert set(listed.labels[listed.splits["validation_unseen"]]) == {1, 3}
    (folder / "valclasses1.txt").write_text("class+3\nclass+4\n")  # class+4 is unseen
    with pytest.raises(DatasetFormatError, match=r"valclasses1.txt: validation classes that are not seen classes: class\+4"):
        feature_problem(folder, 1, seed=0)
