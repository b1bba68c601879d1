"""Loader images/s (full-size JPEGs vs the image cache; 0, 1, 2 workers) against the models' training images/s.

The real-data path reads AwA2's ~1000 x 750 JPEGs. This benchmark writes ``--images`` photo-like 1024 x 768
JPEGs (the sample world's images enlarged, as ``tests/rehearsal/full_data_tree.py`` does) into a temporary
folder, builds their image cache (``utils.training.image_cache``, shorter side ``--side``; prints the build rate), then
times one shuffled pass of the project's own loader (:class:`utils.training.ImageFiles` read lazily
through :class:`utils.training.ImageBatches`, at ``--image-size``) over the full-size files and over the
cache with each number of ``--workers``, and the training step (forward, backward, AdamW) of the ``full``
profiles' backbones at the same size: ResNet-34 (notebooks 01–04, :class:`utils.config.DeviseConfig`) and
ResNet-50 (notebooks 05 and 07, :class:`utils.config.AttributeZslConfig` and :class:`utils.config.SdlConfig`),
``pretrained=False``. On CUDA the models are timed in float32 and with mixed precision (float16 autocast, a
gradient scaler, ``channels_last``). Loader and model are timed one after the other, not together.

The ratio loader / model says whether decoding keeps up (>= 1) or is the bottleneck (< 1). Goal: on 2 cores
the loader reads the cache at least 5x faster than the full-size files.

    python -m benchmarks.loader_bench                 # 200 images, 224 px, batch 16 on the CPU
    python -m benchmarks.loader_bench --device cuda   # also float16; batch 64
    python -m benchmarks.loader_bench --quick         # seconds: small images and sizes (the test)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from utils.runtime import available_cores, choose_device, seed_everything  # noqa: E402
from utils.training import ImageBatches, ImageFiles, MixedPrecision, device_batch, prepare_for_device  # noqa: E402
from utils.training.image_cache import ImageCache  # noqa: E402

SAMPLE_IMAGES = REPO_ROOT / "data_samples" / "awa2" / "JPEGImages"
FULL_BACKBONES = {"resnet34": "DeviseConfig (01-04)", "resnet50": "AttributeZslConfig, SdlConfig (05, 07)"}


def write_photos(folder: Path, n_images: int, size: tuple[int, int], quality: int = 90, grain: int = 24) -> list[Path]:
    """``n_images`` photo-like JPEGs of ``size``: sample-world images enlarged (bicubic) with seeded grain.

    An enlarged cartoon is far smoother than a photograph and decodes faster; ``grain`` (uniform noise of that
    many grey levels) brings the files near real ones: 24 gives about 300 kB at 1024 x 768 and quality 90, where
    AwA2's JPEGs average about 350 kB (13 GB for 37 322 files).
    """
    sources = sorted(SAMPLE_IMAGES.glob("*/*.jpg"))
    generator = np.random.default_rng(0)
    paths = []
    for index in range(n_images):
        source = sources[(index * 37) % len(sources)]
        with Image.open(source) as image:
            enlarged = np.asarray(image.convert("RGB").resize(size, Image.BICUBIC), dtype=np.int16)
        noise = generator.integers(-grain, grain + 1, enlarged.shape)
        path = folder / source.parent.name / f"{source.stem}_{index}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(enlarged + noise, 0, 255).astype(np.uint8)).save(path, quality=quality)
        paths.append(path)
    return paths


def loader_rate(paths: Sequence[Path], image_size: int, batch_size: int, workers: int, device: torch.device,
                passes: int = 2) -> float:
    """Images/s of the last of ``passes`` shuffled passes of ImageFiles + ImageBatches (the first starts the workers)."""
    dataset = ImageFiles(paths, np.zeros(len(paths), dtype=np.int64), image_size, preload=False)
    loader = ImageBatches(dataset, batch_size, shuffle=True, seed=0, device=device, workers=workers)
    rate = 0.0
    for _ in range(passes):
        start, count = time.perf_counter(), 0
        for images, _ in loader:
            images = images.to(device, non_blocking=True)
            count += len(images)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = count / (time.perf_counter() - start)
    return rate


def build_network(backbone: str) -> torch.nn.Module:
    """The full profile's network of ``backbone``: DeViSE's stage-1 classifier (ResNet-34) or notebook 05's attribute network (ResNet-50)."""
    seed_everything(0)
    if backbone == "resnet34":
        from models.backbones import BodyHeadModel, ClassifierHead, create_body

        body, width = create_body(backbone, pretrained=False)
        return BodyHeadModel(body, ClassifierHead(width, 40))
    from models.attribute_head import AttributeHead, AttributeNetwork, create_attribute_backbone

    body, width = create_attribute_backbone(backbone, pretrained=False)
    return AttributeNetwork(body, AttributeHead(width, 85))


def model_rate(backbone: str, image_size: int, batch_size: int, steps: int, device: torch.device,
               mixed_precision: bool = False) -> float:
    """Training images/s of ``backbone``: ``steps`` timed forward + backward + AdamW steps after one warm-up step."""
    model = prepare_for_device(build_network(backbone), device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    precision = MixedPrecision(mixed_precision, device)
    images = torch.randint(0, 256, (batch_size, 3, image_size, image_size), dtype=torch.uint8)

    def step() -> None:
        inputs = device_batch(images, device)
        with precision.autocast():
            outputs = model(inputs)
        loss = outputs.float().square().mean()
        optimizer.zero_grad(set_to_none=True)
        precision.step(optimizer, loss)

    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def markdown_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """The rows as a markdown table of ``columns``; floats to one decimal, a missing or ``None`` value as
    "not measured" (:mod:`benchmarks.gpu_check`'s summary uses it too)."""
    def cell(value: Any) -> str:
        if value is None:
            return "not measured"
        return f"{value:,.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = choose_device(args.device, verbose=False)
    if args.threads:
        torch.set_num_threads(args.threads)
    cores = available_cores()
    print(f"device {device}; {cores} CPU cores; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.images} JPEGs of {args.width}x{args.height}; cache side {args.side}; input {args.image_size} px; "
          f"batch {args.batch_size}")
    with tempfile.TemporaryDirectory(prefix="loader_bench_") as folder:
        root = Path(folder)
        started = time.perf_counter()
        paths = write_photos(root / "JPEGImages", args.images, (args.width, args.height), grain=args.grain)
        source_kb = sum(path.stat().st_size for path in paths) / len(paths) / 1024
        print(f"wrote {len(paths)} source JPEGs ({source_kb:.0f} kB each) in {time.perf_counter() - started:.1f} s")
        cache = ImageCache(root / "cache", args.side)
        build = cache.build(paths, workers=args.build_workers, progress=False)
        cached = cache.resolve(paths)
        cached_kb = sum(path.stat().st_size for path in cached) / len(cached) / 1024
        print(f"cache build: {build} with {args.build_workers or cores} threads; {cached_kb:.0f} kB each")

        loader_rows = []
        for workers in args.workers:
            full = loader_rate(paths, args.image_size, args.batch_size, workers, device)
            from_cache = loader_rate(cached, args.image_size, args.batch_size, workers, device)
            loader_rows.append({"workers": workers, "full-size images/s": full, "cache images/s": from_cache,
                                "cache speed-up": from_cache / full})

    model_rows = []
    precisions = [False, True] if device.type == "cuda" else [False]
    for backbone in args.backbones:
        for mixed_precision in precisions:
            rate = model_rate(backbone, args.image_size, args.batch_size, args.steps, device, mixed_precision)
            model_rows.append({"backbone": backbone, "used by": FULL_BACKBONES.get(backbone, "-"),
                               "precision": "float16 (autocast)" if mixed_precision else "float32",
                               "train images/s": rate})

    best_full = max(row["full-size images/s"] for row in loader_rows)
    best_cache = max(row["cache images/s"] for row in loader_rows)
    ratio_rows = []
    for row in model_rows:
        model = row["train images/s"]
        ratio_rows.append({
            "backbone": row["backbone"], "precision": row["precision"],
            "full-size loader / model": best_full / model, "cache loader / model": best_cache / model,
            "bottleneck (cache)": "loader" if best_cache < model else "model",
        })
    print()
    print(f"Loader ({device.type}; one shuffled pass after a warm-up pass, {args.image_size} px, batch {args.batch_size}):")
    print(markdown_table(loader_rows, ["workers", "full-size images/s", "cache images/s", "cache speed-up"]))
    print()
    print(f"Model training step ({device.type}; forward + backward + AdamW, {args.image_size} px, batch {args.batch_size}, "
          f"{args.steps} steps):")
    print(markdown_table(model_rows, ["backbone", "used by", "precision", "train images/s"]))
    print()
    print("Ratio of the best loader to the model (>= 1: the loader keeps up):")
    print(markdown_table(ratio_rows, ["backbone", "precision", "full-size loader / model", "cache loader / model",
                                      "bottleneck (cache)"]))
    two = next((row for row in loader_rows if row["workers"] == min(2, max(args.workers))), loader_rows[-1])
    print(f"\ncache vs full-size with {two['workers']} worker(s): {two['cache speed-up']:.1f}x (goal: at least 5x)")
    return {"build": build, "loader": loader_rows, "model": model_rows, "ratio": ratio_rows}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loader_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="source JPEGs written (default 200)")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--side", type=int, default=256, help="the cache's shorter side (default 256)")
    parser.add_argument("--grain", type=int, default=24, help="noise amplitude of the photos (default 24: ~300 kB files)")
    parser.add_argument("--image-size", type=int, default=224, help="network input side (default 224)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 16 on the CPU, 64 on CUDA")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="DataLoader workers (default 0 1 2)")
    parser.add_argument("--build-workers", type=int, default=None, help="cache build threads (default: the cores)")
    parser.add_argument("--backbones", nargs="+", default=list(FULL_BACKBONES), help="default resnet34 resnet50")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per model (default 3)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads of the model step (default: torch's; 1 on a busy shared machine, "
                             "where several threads stall)")
    parser.add_argument("--quick", action="store_true", help="a few small images and one step: seconds (the test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.width, args.height, args.side, args.image_size = 24, 640, 480, 80, 64
        args.steps, args.batch_size, args.threads = 1, args.batch_size or 4, args.threads or 1
    if args.batch_size is None:
        args.batch_size = 64 if args.device.startswith("cuda") else 16
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with contextlib.redirect_stderr(io.StringIO()) if args.quick else contextlib.nullcontext():
        return run(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
