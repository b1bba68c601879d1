"""Every comparison the course states, checked over the seeds of a sweep: held, mixed or not held.

``python -m utils.course --profile sample --seeds 0 1 2 --out DIR`` leaves each seed's recorded figures in
``DIR/seed<k>/results/*.json``; this script reads them and prints one row per claim of :data:`CLAIMS` — each seed's
two figures, their means ± sd, and the verdict of :func:`utils.comparisons.claim_over_seeds` — and, with ``--plot``,
draws each claim's per-seed differences (``docs/seed_claims.png``)::

    python -m benchmarks.seed_claims outputs/course/sample-seeds-0-1-2 --plot docs/seed_claims.png
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from utils.comparisons import claim_over_seeds  # noqa: E402

CLAIMS: list[tuple[str, str, str, str]] = [
    ("ResNet34 is more accurate than SqueezeNet 1.1", "01_stage1_classifier", "resnet34 accuracy",
     "squeezenet1_1 accuracy"),
    ("ResNet18 (02's body) is more accurate than ResNet34", "01_stage1_classifier", "resnet18 accuracy",
     "resnet34 accuracy"),
    ("DeViSE's T1 beats chance", "02_stage2_visual_semantic", "T1", "chance T1"),
    ("calibrated stacking raises H", "02_stage2_visual_semantic", "H", "H (γ=0)"),
    ("calibrated stacking raises U", "02_stage2_visual_semantic", "U", "U (γ=0)"),
    ("calibrated stacking lowers S", "02_stage2_visual_semantic", "S (γ=0)", "S"),
    ("the supervised oracle beats zero-shot on the same images", "02_stage2_visual_semantic", "oracle accuracy",
     "T1 on oracle's test images"),
    ("text→image search beats chance", "04_semantic_search", "text→image precision@8 (unseen labels)",
     "text→image chance@8"),
    ("attribute network: cosine beats Euclidean", "05_attribute_zsl_remse", "attribute network T1 (cosine)",
     "attribute network T1 (euclidean)"),
    ("attribute network: DAP beats cosine", "05_attribute_zsl_remse", "attribute network T1 (dap)",
     "attribute network T1 (cosine)"),
    ("attribute network: Euclidean beats Hamming", "05_attribute_zsl_remse", "attribute network T1 (euclidean)",
     "attribute network T1 (hamming)"),
    ("ReMSE (in-batch) beats MSE on H", "05_attribute_zsl_remse", "remse_in_batch H", "mse H"),
    ("ReMSE (in-batch) beats MSE on U", "05_attribute_zsl_remse", "remse_in_batch U", "mse U"),
    ("ReMSE (in-batch) beats MSE on T1", "05_attribute_zsl_remse", "remse_in_batch T1", "mse T1"),
    ("ReMSE (in-batch) beats MSE on AUSUC", "05_attribute_zsl_remse", "remse_in_batch AUSUC", "mse AUSUC"),
    ("ReMSE in-batch beats cross-batch on H", "05_attribute_zsl_remse", "remse_in_batch H", "remse_cross_batch H"),
    ("MSE beats BCE on H", "05_attribute_zsl_remse", "mse H", "bce H"),
    ("regressing features beats the end-to-end attribute network (T1)", "05_attribute_zsl_remse", "mse T1",
     "attribute network T1 (euclidean)"),
    ("5-way 5-shot beats 5-way 1-shot", "06_siamese_one_shot", "5-way 5-shot", "5-way 1-shot"),
    ("seen triplet accuracy beats held-out", "06_siamese_one_shot", "triplet acc (seen classes)",
     "triplet acc (held out)"),
    ("more training classes: 50-50 beats 10-90 (5-way 1-shot)", "06_siamese_one_shot", "sweep 50-50: 5_way_1_shot",
     "sweep 10-90: 5_way_1_shot"),
    ("more training classes: 90-10 beats 70-30 (5-way 1-shot)", "06_siamese_one_shot", "sweep 90-10: 5_way_1_shot",
     "sweep 70-30: 5_way_1_shot"),
    ("seen triplet accuracy rises 10-90 → 90-10", "06_siamese_one_shot", "sweep 90-10: triplet_acc_seen",
     "sweep 10-90: triplet_acc_seen"),
    ("SDL's ZSL mAP beats chance", "07_multilabel_zsl_sdl", "ZSL mAP", "ZSL chance mAP"),
    ("ZSL mAP is above GZSL mAP", "07_multilabel_zsl_sdl", "ZSL mAP", "GZSL mAP"),
    ("ZSL F1@3 is above GZSL F1@3", "07_multilabel_zsl_sdl", "ZSL F1@3", "GZSL F1@3"),
    ("M = 7 beats M = 1 (weighted, ZSL mAP; the paper's finding)", "07_multilabel_zsl_sdl", "M=7 weighted ZSL mAP",
     "M=1 weighted ZSL mAP"),
    ("the diversity weight helps M = 7 (ZSL mAP)", "07_multilabel_zsl_sdl", "M=7 weighted ZSL mAP",
     "M=7 unweighted ZSL mAP"),
    ("CLIP by descriptions beats chance (T1)", "08_clip_zero_shot", "descriptions T1", "chance T1"),
    ("CLIP by names beats chance (T1)", "08_clip_zero_shot", "names T1", "chance T1"),
    ("CLIP by names beats chance (hit@5)", "08_clip_zero_shot", "names hit@5", "chance hit@5"),
    ("CLIP by descriptions beats CLIP by names (T1)", "08_clip_zero_shot", "descriptions T1", "names T1"),
]
"""(claim "A is higher than B", notebook, figure A, figure B) as the notebooks record them."""


def load_sweep(folder: Path) -> dict[int, dict[str, dict]]:
    """``{seed: {notebook: figures}}`` of a sweep folder (``seed<k>/results/*.json``)."""
    sweep = {}
    for seed_folder in sorted(folder.glob("seed*"), key=lambda path: int(path.name[4:])):
        entries = [json.loads(path.read_text()) for path in sorted((seed_folder / "results").glob("*.json"))]
        sweep[int(seed_folder.name[4:])] = {entry["notebook"]: entry["figures"] for entry in entries}
    return sweep


def claim_rows(sweep: dict[int, dict[str, dict]]) -> list[dict]:
    """One row per claim of :data:`CLAIMS` whose two figures every seed recorded: ``claim``, ``notebook``, ``a`` and
    ``b`` (one figure per seed, in seed order) and the ``verdict`` of :func:`utils.comparisons.claim_over_seeds`."""
    rows = []
    for claim, notebook, first, second in CLAIMS:
        try:
            a = [float(figures[notebook][first]) for figures in sweep.values()]
            b = [float(figures[notebook][second]) for figures in sweep.values()]
        except KeyError:
            continue
        rows.append({"claim": claim, "notebook": notebook, "a": a, "b": b, "verdict": claim_over_seeds(a, b)})
    return rows


def claims_table(sweep: dict[int, dict[str, dict]]) -> str:
    """The markdown table of every claim whose figures every seed recorded."""
    seeds = list(sweep)

    def spread(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.3f} ± {sd:.3f}"

    lines = ["| claim (A > B) | " + " | ".join(f"seed {seed}: A vs B" for seed in seeds) + " | A | B | verdict |",
             "|---|" + "---|" * (len(seeds) + 3)]
    for row in claim_rows(sweep):
        cells = [f"{x:.3f} vs {y:.3f}" for x, y in zip(row["a"], row["b"], strict=True)]
        lines.append(f"| {row['claim']} | " + " | ".join(cells) + f" | {spread(row['a'])} | {spread(row['b'])} | "
                     f"**{row['verdict']}** |")
    return "\n".join(lines)


VERDICT_COLOURS = {"held": "tab:green", "mixed": "tab:orange", "not held": "tab:red"}


def claims_plot(sweep: dict[int, dict[str, dict]]):
    """The spread of every claim over the seeds: one line per claim, each seed's A − B as a dot, 0 marked.

    A claim holds where all its dots lie right of 0; a row whose dots straddle 0 is one the seeds disagree on, and
    the dots' spread beside the gap shows how much one seed can be trusted. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    rows = claim_rows(sweep)
    figure, axis = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    for position, row in enumerate(reversed(rows)):
        differences = [x - y for x, y in zip(row["a"], row["b"], strict=True)]
        axis.plot([min(differences), max(differences)], [position, position], color="0.8", zorder=1)
        axis.scatter(differences, [position] * len(differences), color=VERDICT_COLOURS[row["verdict"]], s=18, zorder=2)
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_yticks(range(len(rows)), [f"{row['claim']} ({row['verdict']})" for row in reversed(rows)], fontsize=8)
    axis.set_xlabel(f"A − B, one dot per seed ({', '.join(map(str, sweep))})")
    axis.set_title("Each claim of the course over seeds\nheld: green · mixed: orange · not held: red", fontsize=9)
    figure.tight_layout()
    return figure


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed_claims", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="the --out folder of `python -m utils.course --seeds ...`")
    parser.add_argument("--plot", type=Path, help="also draw the claims' spread over the seeds into this PNG")
    args = parser.parse_args(argv)
    sweep = load_sweep(args.sweep)
    table = claims_table(sweep)
    print(table)
    if args.plot:
        claims_plot(sweep).savefig(args.plot, dpi=110)
        print(f"plot: {args.plot}")
    return table


if __name__ == "__main__":
    main()
