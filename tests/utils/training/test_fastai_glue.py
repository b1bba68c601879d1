"""The fastai glue of notebooks 01–04: data loaders keep the label order, one log per run, channels-last learners."""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tests.utils.training._tiny_learner import tiny_learner
from utils.config import DeviseConfig
from utils.splits.folders import folder_items
from utils.training.fastai_glue import fit_phases, image_dataloaders, start_run

AWA2_IMAGES = Path(__file__).resolve().parents[3] / "data_samples" / "awa2" / "JPEGImages"


def test_dataloaders_keep_the_given_class_order_as_labels(tmp_path):
    """Label j must be class_names[j]: it indexes the rows of the label vectors (fastai sorts by default)."""
    class_names = ["zebra", "antelope", "bat"]
    items = [item for item in folder_items(AWA2_IMAGES, class_names) if item[0].stem.endswith(("10001", "10002"))]
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path)
    dls = image_dataloaders(items[:4], items[4:], class_names, config)
    assert list(dls.vocab) == class_names
    for index in range(len(dls.train_ds)):
        assert class_names[int(dls.train_ds[index][1])] == items[index][1]


def test_the_log_holds_every_epoch_of_every_phase_and_a_new_run_starts_it_afresh(tmp_path):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4)
    learn = tiny_learner(config, "tiny")
    start_run(learn)
    fit_phases(learn, "fine_tune", 2, 1e-3, [])  # a frozen epoch, then two
    fit_phases(learn, "one_cycle", 1, 1e-3, [], phase="2b")
    log = pd.read_csv(config.run_dir / "logs" / "tiny.csv")
    assert list(log["phase"]) == ["frozen", "unfrozen", "unfrozen", "2b"]
    assert list(log["epoch"]) == [0, 1, 2, 3] and list(log.columns[:4]) == ["phase", "epoch", "train_loss", "valid_loss"]
    assert len(learn.epoch_timer.epoch_seconds) == 4
    with learn.no_bar():
        learn.lr_find(num_it=5, show_plot=False, suggest_funcs=())  # the finder's mock fit is no epoch of the run
        learn.get_preds()
    assert len(pd.read_csv(config.run_dir / "logs" / "tiny.csv")) == 4 and len(learn.epoch_timer.epoch_seconds) == 4
    start_run(learn)
    fit_phases(learn, "one_cycle", 1, 1e-3, [])
    log = pd.read_csv(config.run_dir / "logs" / "tiny.csv")
    assert list(log["phase"]) == ["one_cycle"] and list(log["epoch"]) == [0] and learn.epoch_timer.epoch_seconds


def test_learners_go_channels_last_where_the_device_wants_it_and_still_train(tmp_path, monkeypatch):
    import utils.training.fastai_glue as fastai_glue

    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4, mixed_precision=True)
    plain = tiny_learner(config, "plain")
    assert not hasattr(plain, "channels_last") and not hasattr(plain, "mixed_precision")  # CPU: neither

    monkeypatch.setattr(fastai_glue, "use_channels_last", lambda device: True)  # what CUDA answers
    learn = tiny_learner(config, "nhwc")
    assert hasattr(learn, "channels_last") and not hasattr(learn, "mixed_precision")  # float16 stays CUDA-only
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    assert learn.model.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert np.isfinite(learn.recorder.losses[-1].item())


def test_the_best_epoch_is_saved_atomically_and_read_back_as_plain_weights(tmp_path, monkeypatch):
    """fastai's best-epoch callback through the one save: a save at every new lowest validation loss, the weights
    kept after training are the last of them, the file holds plain tensors (``weights_only=True``), no partial file."""
    import utils.training.fastai_glue as fastai_glue
    from utils.training.checkpoints import load_weights

    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4)
    learn = tiny_learner(config, "tiny")
    saved, original = [], fastai_glue.save_weights

    def spy(state, path):
        saved.append({name: tensor.detach().clone() for name, tensor in state.items()})
        return original(state, path)

    monkeypatch.setattr(fastai_glue, "save_weights", spy)
    start_run(learn)
    fit_phases(learn, "one_cycle", 3, 1e-2, [fastai_glue.BestModelCheckpoint(monitor="valid_loss", fname="tiny")])
    losses = pd.read_csv(config.run_dir / "logs" / "tiny.csv")["valid_loss"].tolist()
    assert len(saved) == sum(loss < min(losses[:epoch], default=np.inf) for epoch, loss in enumerate(losses))
    checkpoint = config.run_dir / "checkpoints" / "tiny.pth"
    state = load_weights(checkpoint)
    assert all(torch.equal(state[name], saved[-1][name]) for name in state)
    assert all(torch.equal(tensor, learn.model.state_dict()[name]) for name, tensor in state.items())
    assert not list(checkpoint.parent.glob("*.partial*"))


def test_a_notebook_shows_fastais_table_and_the_log_still_holds_every_epoch(tmp_path, monkeypatch, capsys):
    import fastprogress.core

    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4)
    learn = tiny_learner(config, "tiny")
    shown = []
    monkeypatch.setattr(fastprogress.core, "IN_NOTEBOOK", True)  # what a Jupyter kernel answers
    monkeypatch.setattr("fastai.callback.progress.ProgressCallback._write_stats", lambda self, log: shown.append(log))
    start_run(learn)
    fit_phases(learn, "fine_tune", 1, 1e-3, [])
    log = pd.read_csv(config.run_dir / "logs" / "tiny.csv")
    assert list(log["phase"]) == ["frozen", "unfrozen"]  # the progress table replaced no line of the CSV log
    assert shown[0] == learn.recorder.metric_names and len(shown) == 2 * 2  # each fit: the header, then its epoch
    assert "[0, " not in capsys.readouterr().out


def test_outside_a_notebook_each_epoch_is_one_line_naming_its_values(tmp_path, capsys):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, image_size=16, batch_size=4)
    learn = tiny_learner(config, "tiny")
    start_run(learn)
    fit_phases(learn, "one_cycle", 2, 1e-3, [])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 0", "epoch 1"]
    assert all("train_loss " in line and "valid_loss " in line and "accuracy " in line and "time " in line
               for line in lines)
    assert len(pd.read_csv(config.run_dir / "logs" / "tiny.csv")) == 2
