"""benchmarks.seed_claims reads a sweep's per-seed figures and marks each claim held, mixed or not held."""

import json

from benchmarks.seed_claims import claims_table, load_sweep


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
