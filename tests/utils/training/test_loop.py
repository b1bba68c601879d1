"""utils.training.loop: the hooks of the one training loop on toy problems with known answers."""

import csv
import math

import pytest
import torch
from torch import nn

from utils.training.loop import LossLog, optimizer_with_schedule, train_model


def toy_batches(n_batches: int = 4, batch_size: int = 8) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Fixed batches of a linear regression y = x · (1, −2, 3) + 0.5, with features of shape (batch, 3)."""
    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(n_batches):
        inputs = torch.randn(batch_size, 3, generator=generator)
        batches.append((inputs, inputs @ torch.tensor([[1.0], [-2.0], [3.0]]) + 0.5))
    return batches


def toy_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(3, 1)


def states_equal(first: nn.Module, second: nn.Module) -> bool:
    return all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True))


def test_the_loop_on_the_cpu_is_the_plain_pytorch_loop_bit_for_bit():
    """AdamW, constant rate, float32: the loop (mixed precision requested or not: off on the CPU) equals a hand loop."""
    batches, epochs = toy_batches(), 3
    reference = toy_model()
    optimizer = torch.optim.AdamW(reference.parameters(), lr=0.05, weight_decay=0.01)
    for _ in range(epochs):
        for inputs, targets in batches:
            value = nn.functional.mse_loss(reference(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
    for mixed_precision in (False, True):
        model = toy_model()
        train_model(model, batches, nn.MSELoss(), epochs, 0.05, 0.01, schedule="constant",
                    log=LossLog(verbose=False), mixed_precision=mixed_precision)
        assert states_equal(model, reference), mixed_precision
        assert not model.training


def test_validation_keeps_the_weights_of_the_best_epoch():
    """Scores 0.2, 0.9, 0.5, 0.9: the second epoch's weights are kept (a tie does not replace the best)."""
    scores, weights_after = iter([0.2, 0.9, 0.5, 0.9]), []

    def validate(model: nn.Module) -> float:
        weights_after.append({name: tensor.clone() for name, tensor in model.state_dict().items()})
        return next(scores)

    model = toy_model()
    history = train_model(model, toy_batches(), nn.MSELoss(), 4, 0.05, log=LossLog(verbose=False), validate=validate)
    assert len(history) == 4 and len(weights_after) == 4
    assert all(torch.equal(tensor, weights_after[1][name]) for name, tensor in model.state_dict().items())
    assert not all(torch.equal(tensor, weights_after[3][name]) for name, tensor in model.state_dict().items())


def test_without_a_usable_validation_score_the_last_epoch_stays():
    """NaN scores (no validation classes) count as better, so the last epoch's weights are the ones left."""
    plain, validated = toy_model(), toy_model()
    train_model(plain, toy_batches(), nn.MSELoss(), 3, 0.05, log=LossLog(verbose=False))
    train_model(validated, toy_batches(), nn.MSELoss(), 3, 0.05, log=LossLog(verbose=False),
                validate=lambda model: math.nan)
    assert states_equal(plain, validated)


class ReportingLoss(nn.Module):
    """MSE that also reports the batch's mean target as a logged term (as the SDL loss reports its terms)."""

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self.last_values = {"target": float(targets.mean())}
        return nn.functional.mse_loss(outputs, targets)


def test_the_loss_log_averages_over_items_and_the_csv_holds_every_row(tmp_path, capsys):
    """Batches of 3 and 1 items: the row's means weight each batch by its size; one printed line per epoch."""
    batches = [(torch.zeros(3, 3), torch.full((3, 1), 2.0)), (torch.zeros(1, 3), torch.full((1, 1), 6.0))]
    model = nn.Linear(3, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    log_path = tmp_path / "logs" / "log.csv"
    history = train_model(model, batches, ReportingLoss(), 2, 0.0, schedule="constant", log=LossLog(["target"]),
                          log_path=log_path)
    assert history[0]["loss"] == pytest.approx((3 * 4.0 + 1 * 36.0) / 4)  # a zero learning rate: outputs stay 0
    assert history[1]["target"] == pytest.approx((3 * 2.0 + 1 * 6.0) / 4)
    assert [list(row) for row in history] == [["epoch", "loss", "target", "seconds"]] * 2
    with log_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(row["loss"]) for row in rows] == [row["loss"] for row in history]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == ["epoch 1/2: loss 12.0000 target 3.000", "epoch 2/2: loss 12.0000 target 3.000"]


def test_schedules_and_their_names():
    model = toy_model()
    optimizer, scheduler = optimizer_with_schedule(model, "adam", 0.1, 0.0, "cosine", 4)
    assert isinstance(optimizer, torch.optim.Adam) and not isinstance(optimizer, torch.optim.AdamW)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert optimizer_with_schedule(model, "adamw", 0.1, 0.0, "constant", 4)[1] is None
    with pytest.raises(ValueError, match="schedule"):
        optimizer_with_schedule(model, "adamw", 0.1, 0.0, "linear", 4)
    with pytest.raises(ValueError, match="optimizer"):
        optimizer_with_schedule(model, "sgd", 0.1, 0.0, "constant", 4)


class LearningRateLog:
    """An epoch log that keeps only the learning rate the loop reports for each epoch."""

    def add_batch(self, loss, value, n_items):
        pass

    def end_epoch(self, end):
        return {"learning_rate": end.learning_rate}


def test_each_epoch_logs_the_mean_rate_of_its_steps():
    batches, epochs = toy_batches(), 2
    history = train_model(toy_model(), batches, nn.MSELoss(), epochs, 0.05, schedule="cosine", log=LearningRateLog())
    replay, scheduler = optimizer_with_schedule(toy_model(), "adamw", 0.05, 0.0, "cosine", epochs * len(batches))
    used = []
    for _ in range(epochs * len(batches)):
        used.append(replay.param_groups[0]["lr"])
        replay.step()
        scheduler.step()
    per_epoch = [sum(used[:len(batches)]) / len(batches), sum(used[len(batches):]) / len(batches)]
    assert [row["learning_rate"] for row in history] == pytest.approx(per_epoch)
    assert history[-1]["learning_rate"] > 0.005  # not the 0 the cosine schedule reaches after the last step
