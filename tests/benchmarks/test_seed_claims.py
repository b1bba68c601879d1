"""benchmarks.seed_claims reads a sweep's per-seed figures and marks each claim held, mixed or not held."""

import json

import pytest

from benchmarks.seed_claims import claim_rows, claims_plot, claims_table, load_sweep, main


def _record(folder, seed, notebook, figures):
    results = folder / f"seed{seed}" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{notebook}.json").write_text(json.dumps({"notebook": notebook, "seed": seed, "figures": figures}))


def test_each_claim_gets_the_verdict_of_its_seeds(tmp_path):
    notebook = "05_attribute_zsl_remse"
    for seed, (remse, mse) in enumerate([(0.72, 0.61), (0.70, 0.64), (0.60, 0.62)]):
        _record(tmp_path, seed, notebook, {"remse_in_batch H": remse, "mse H": mse, "mse T1": 0.8,
                                           "remse_in_batch T1": 0.7})
    sweep = load_sweep(tmp_path)
    assert list(sweep) == [0, 1, 2]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in claims_table(sweep).splitlines()[2:]}
    assert "0.720 vs 0.610" in rows["ReMSE (in-batch) beats MSE on H"]
    assert rows["ReMSE (in-batch) beats MSE on H"].endswith("**mixed** |")
    assert rows["ReMSE (in-batch) beats MSE on T1"].endswith("**not held** |")
    assert "ResNet34 is more accurate than SqueezeNet 1.1" not in rows  # figures not recorded: no row


def test_the_plot_draws_each_seeds_difference_coloured_by_verdict(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    notebook = "05_attribute_zsl_remse"
    for seed, (remse, mse) in enumerate([(0.72, 0.61), (0.70, 0.64), (0.60, 0.62)]):
        _record(tmp_path, seed, notebook, {"remse_in_batch H": remse, "mse H": mse})
    rows = claim_rows(load_sweep(tmp_path))
    assert [row["claim"] for row in rows] == ["ReMSE (in-batch) beats MSE on H"]
    figure = claims_plot(load_sweep(tmp_path))
    dots = figure.axes[0].collections[0]
    assert dots.get_offsets()[:, 0].tolist() == pytest.approx([0.11, 0.06, -0.02])
    assert figure.axes[0].get_yticklabels()[0].get_text() == "ReMSE (in-batch) beats MSE on H (mixed)"
    main([str(tmp_path), "--plot", str(tmp_path / "claims.png")])
    assert (tmp_path / "claims.png").stat().st_size > 0
