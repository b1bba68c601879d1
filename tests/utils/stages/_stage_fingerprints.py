"""Train one stage at the smoke budget into an empty outputs folder and print a hash of its weights and figures.

``python tests/utils/stages/_stage_fingerprints.py STAGE OUTPUTS`` (STAGE: devise, attribute_zsl, sdl, siamese, digits).
The determinism tests run it in two processes with different ``PYTHONHASHSEED`` and compare the lines:
same settings must give bit-identical weights and figures on the CPU.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def weights_sha256(model) -> str:
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def figures_sha256(*values) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def devise(outputs: Path) -> dict[str, str]:
    """Stage 1, DeViSE, the validation runs (γ) and the oracle: :func:`utils.stages.devise.run_devise`."""
    from utils.config import DeviseConfig
    from utils.stages.devise import run_devise

    config = DeviseConfig.for_profile("smoke", outputs=outputs, images_per_class=6, oracle_epochs=1)
    result = run_devise(config, "cpu")
    figures = {key: value for key, value in result["figures"].items()}
    return {"stage1": weights_sha256(result["stage1"].learn.model), "devise": weights_sha256(result["devise"].learn.model),
            "figures": figures_sha256(sorted(figures.items()))}


def attribute_zsl(outputs: Path) -> dict[str, str]:
    """The attribute network, its exported features and two feature regressors, as notebook 05 chains them."""
    import torch

    from utils.config import AttributeZslConfig
    from utils.stages.attribute_zsl import (
        build_attribute_network,
        compare_losses,
        export_features_if_stale,
        feature_problem,
        feature_problem_sha256,
        fit_attribute_network,
        load_attribute_images,
    )

    config = AttributeZslConfig.for_profile("smoke", outputs=outputs, images_per_class=6, losses=("mse", "bce"))
    images = load_attribute_images(config)
    torch.randn(7)  # whatever ran before must not matter
    network = build_attribute_network(config, images.awa2.n_attributes)
    decision = fit_attribute_network(network, images, config)
    export_features_if_stale(network, images, decision, config)
    problem = feature_problem(config.xlsa17_dir, config.n_validation_classes, seed=config.seed)
    rows, _ = compare_losses(problem, config, config.run_dir)
    regressors = sorted((config.run_dir / "features").glob("*.pt"))
    return {"attribute_network": weights_sha256(network), "features": feature_problem_sha256(problem)[:16],
            "regressors": figures_sha256([hashlib.sha256(path.read_bytes()).hexdigest() for path in regressors]),
            "figures": figures_sha256([sorted(row.items()) for row in rows])}


def sdl(outputs: Path) -> dict[str, str]:
    from utils.config import SdlConfig
    from utils.stages.sdl import embedding_matrices, evaluate, load_problem, trained_sdl_model

    config = SdlConfig.for_profile("smoke", outputs=outputs, max_train_images=64, max_test_images=32, epochs=1)
    problem = load_problem(config)
    model, _, _ = trained_sdl_model(problem, config)
    matrices = embedding_matrices(model, [problem.image_paths[i] for i in problem.test_indices], config.image_size)
    return {"sdl": weights_sha256(model), "figures": figures_sha256(sorted(evaluate(problem, matrices).items()))}


def siamese(outputs: Path) -> dict[str, str]:
    from utils.config import SiameseConfig
    from utils.stages.siamese import run_split

    config = SiameseConfig.for_profile("smoke", outputs=outputs, n_episodes=20)
    result = run_split(config, 0.5)
    figures = {key: value for key, value in result.items() if isinstance(value, float | int) and key != "train_seconds"}
    return {"siamese": weights_sha256(result["encoder"]), "figures": figures_sha256(sorted(figures.items()))}


def digits(outputs: Path) -> dict[str, str]:
    from utils.config import SiameseConfig
    from utils.stages.digits import train_digit_siamese

    model = train_digit_siamese(SiameseConfig(digits_epochs=1), folder=outputs / "digits")
    return {"digits": weights_sha256(model.encoder), "figures": figures_sha256(model.threshold, model.test_binary_accuracy)}


STAGES = {"devise": devise, "attribute_zsl": attribute_zsl, "sdl": sdl, "siamese": siamese, "digits": digits}


def run_twice(stage: str, tmp_path: Path, timeout: float = 300) -> list[dict[str, str]]:
    """The stage's hashes from two fresh processes (``PYTHONHASHSEED`` 1 and 2, empty outputs), run side by side."""

    def run(hash_seed: int) -> dict[str, str]:
        outputs = tmp_path / f"outputs_{hash_seed}"
        environment = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "OMP_NUM_THREADS": "1",
                       "ZSL_OUTPUTS_DIR": str(outputs), "PYTHONPATH": str(REPO_ROOT)}
        completed = subprocess.run([sys.executable, __file__, stage, str(outputs)], cwd=REPO_ROOT, env=environment,
                                   capture_output=True, text=True, timeout=timeout)
        assert completed.returncode == 0, completed.stderr[-3000:]
        lines = [line.split("=", 1) for line in completed.stdout.splitlines() if line.startswith("hash ")]
        return {key.removeprefix("hash "): value for key, value in lines}

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, (1, 2)))


if __name__ == "__main__":
    stage_name, outputs_folder = sys.argv[1], Path(sys.argv[2])
    for key, value in STAGES[stage_name](outputs_folder).items():
        print(f"hash {key}={value}")
