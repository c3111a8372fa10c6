"""Benchmark the upscaling models against bicubic and Lanczos: quality, speed and memory.

Prints one JSON object:

* ``quality``: per model and baseline, on every photo of ``--photos`` (cut to a multiple of
  the scale and downscaled the way the task makes its inputs: antialiased bicubic, 8 bits),
  PSNR and SSIM on the RGB image with ``scale`` pixels cropped from each border, and the detail
  ratio at pyramid level 0 over the whole image (output's mean |Laplacian| / the truth's;
  ``ganrestore.evaluation.metrics.detail_ratio``); means over the photos and the gain over
  bicubic. With ``--jpeg Q`` the small inputs are also saved as JPEGs of quality Q first
  (``jpeg`` block).
* ``speed``: ``ganrestore apply`` of ``--speed-photos`` 4:3 photos (default 0.1875 MP each:
  500 x 375, a 3 MP result at x4) in a fresh process: megapixels of *output* per second from
  the run's own clock, and the process's peak resident memory; ``memory``: the peak resident
  memory of ``apply`` on one 1000 x 750 photo.
* ``grid``: with ``--grid FILE``, a PNG of one crop: bicubic, the model, the truth.
* ``self_ensemble``: with ``--self-ensemble`` the model (not the baselines) averages its output
  over the 8 rotated / mirrored views (``ganrestore apply --self-ensemble``), in the quality
  rows, the speed runs and the grid alike.
* ``blends``: with ``--blend-with STAGE1 --shares 0,0.25,...``, the quality of
  ``share × MODEL + (1 − share) × STAGE1`` for every share (ESRGAN's network interpolation of
  a GAN fine-tune with its PSNR model, written by ``scripts/export_model.py --blend``), instead
  of the model's own rows, speed and grid.
* ``precision``: the number format the model ran in (``--precision``, as ``ganrestore apply
  --precision``; ``auto`` is bfloat16 on a CPU that computes it natively, else float32), in
  the quality rows, the speed runs and the grid alike.

Usage::

    python bench/upscale.py --scale 4 --photos data/heldout/photos [--model upscale-x4]
        [--jpeg 75] [--grid docs/images/upscale_x4.png --grid-photo NAME] [--no-speed]
        [--self-ensemble] [--precision auto|fp32|bf16]
    python bench/upscale.py --scale 4 --photos DEV --model runs/x4-gan --blend-with runs/x4-1 \
        --shares 0,0.25,0.5,0.75,1
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apply_speed import apply_run

from ganrestore import load_restorer
from ganrestore.evaluation.metrics import detail_ratio, psnr, ssim
from ganrestore.tasks import build_task
from ganrestore.tasks.upscale import bicubic_downscale

BASELINES = ("bicubic", "lanczos")


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _as_jpeg(small: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(small).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _scores(output: np.ndarray, truth: np.ndarray, scale: int) -> dict[str, float]:
    inner = (slice(scale, -scale), slice(scale, -scale))
    return {
        "psnr": psnr(output[inner], truth[inner]),
        "ssim": ssim(output[inner], truth[inner]),
        "detail": detail_ratio(output, truth, levels=1)[0],
    }


def quality(restorers: dict[str, object], photos: list[Path], scale: int, jpeg: int | None) -> dict:
    """Per-photo and mean scores of every restorer on the downscaled photos."""
    per_photo: dict[str, dict[str, dict[str, float]]] = {name: {} for name in restorers}
    for path in photos:
        clean = _read(path)
        height, width = (side // scale * scale for side in clean.shape[:2])
        truth = clean[:height, :width]
        small = bicubic_downscale(truth.astype(np.float32) / 255.0, scale)
        small = np.rint(small * 255).astype(np.uint8)
        if jpeg is not None:
            small = _as_jpeg(small, jpeg)
        for name, restorer in restorers.items():
            output = restorer.restore(small)
            per_photo[name][path.name] = _scores(output, truth, scale)
    means = {
        name: {
            key: round(statistics.fmean(scores[key] for scores in rows.values()), 4)
            for key in ("psnr", "ssim", "detail")
        }
        for name, rows in per_photo.items()
    }
    reference = means["baseline:bicubic"]["psnr"]
    for name in means:
        means[name]["psnr_over_bicubic"] = round(means[name]["psnr"] - reference, 3)
    return {"means": means, "per_photo": per_photo}


def speed(model: str, photos: int, scale: int, options: list[str]) -> dict:
    """``apply`` throughput (output MP/s) on 500x375 photos and peak memory on a 1000x750 one."""
    base = skimage.data.astronaut()
    with tempfile.TemporaryDirectory() as root:
        folders = {"speed": Path(root) / "speed", "memory": Path(root) / "memory"}
        for folder in folders.values():
            folder.mkdir()
        for index in range(photos):
            crop = base[index * 8 : index * 8 + 375, index * 4 : index * 4 + 500]
            Image.fromarray(np.ascontiguousarray(crop)).save(folders["speed"] / f"{index}.png")
        large = Image.fromarray(base).resize((1000, 750), Image.Resampling.LANCZOS)
        large.save(folders["memory"] / "photo.png")
        run = apply_run(model, folders["speed"], Path(root) / "out-speed", options)
        output_mp = photos * 500 * 375 * scale * scale / 1e6
        memory = apply_run(model, folders["memory"], Path(root) / "out-memory", options)
    return {
        "speed": {
            "photos": photos,
            "input_size": "500x375",
            "output_megapixels": output_mp,
            "seconds": run["seconds"],
            "output_megapixels_per_s": round(output_mp / run["seconds"], 3),
            "peak_rss_mb": run["peak_rss_mb"],
        },
        "memory": {"input_size": "1000x750", "peak_rss_mb": memory["peak_rss_mb"]},
    }


def grid(restorers: dict[str, object], photo: Path, scale: int, out: Path, crop: int = 192) -> None:
    """Bicubic | model | truth, one ``crop``-pixel square of the photo's most detailed area."""
    clean = _read(photo)
    height, width = (side // scale * scale for side in clean.shape[:2])
    truth = clean[:height, :width]
    small = np.rint(bicubic_downscale(truth.astype(np.float32) / 255.0, scale) * 255)
    small = small.astype(np.uint8)
    gray = truth.mean(axis=2)
    energy = np.abs(np.diff(gray, axis=0))[:, :-1] + np.abs(np.diff(gray, axis=1))[:-1]
    best, top, left = -1.0, 0, 0
    for y in range(0, height - crop, crop // 2):
        for x in range(0, width - crop, crop // 2):
            value = float(energy[y : y + crop, x : x + crop].mean())
            if value > best:
                best, top, left = value, y, x
    panels = [restorer.restore(small) for restorer in restorers.values()] + [truth]
    cut = [panel[top : top + crop, left : left + crop] for panel in panels]
    gap = np.full((crop, 4, 3), 255, np.uint8)
    row = np.concatenate([part for panel in cut for part in (panel, gap)][:-1], axis=1)
    Image.fromarray(row).resize((row.shape[1] * 2, crop * 2), Image.Resampling.NEAREST).save(out)


def blends(
    model: str,
    stage1: Path,
    shares: list[float],
    photos: list[Path],
    scale: int,
    ensemble: bool,
    precision: str = "auto",
) -> dict:
    """Mean scores of ``share × model + (1 − share) × stage1`` for each share (and bicubic)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from export_model import export

    task = f"upscale-x{scale}"
    restorers = {"baseline:bicubic": load_restorer("baseline:bicubic", task=task)}
    with tempfile.TemporaryDirectory() as root:
        for share in shares:
            target = Path(root) / f"blend-{share}.safetensors"
            export(Path(model), target, None, stage1, share)
            restorers[f"share {share:g}"] = load_restorer(
                str(target), task=task, self_ensemble=ensemble, precision=precision
            )
        return quality(restorers, photos, scale, None)["means"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, choices=(2, 4), required=True)
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--model", help="default: the bundled upscale-xSCALE")
    parser.add_argument("--jpeg", type=int, help="also score inputs saved as JPEGs of this quality")
    parser.add_argument("--grid", type=Path)
    parser.add_argument("--grid-photo", help="file name in --photos (default: the first)")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--speed-photos", type=int, default=8)
    parser.add_argument("--self-ensemble", action="store_true", help="the model over 8 views")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--blend-with", type=Path, help="the PSNR model MODEL was tuned from")
    parser.add_argument("--shares", default="0,0.25,0.5,0.75,1", help="MODEL's shares to score")
    args = parser.parse_args()

    task = build_task(f"upscale-x{args.scale}")
    model = args.model or task.name
    restorers = {f"baseline:{name}": load_restorer(f"baseline:{name}", task=task.name)
                 for name in BASELINES}  # fmt: skip
    restorers[model] = load_restorer(
        model, task=task.name, self_ensemble=args.self_ensemble, precision=args.precision
    )
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    report: dict = {"model": model, "scale": args.scale, "photos": len(photos),
                    "self_ensemble": args.self_ensemble,
                    "precision": restorers[model].precision}  # fmt: skip
    if args.blend_with is not None:
        shares = [float(share) for share in args.shares.split(",")]
        report["blends"] = blends(
            model, args.blend_with, shares, photos, args.scale, args.self_ensemble, args.precision
        )
        print(json.dumps(report, indent=1))
        return
    report["quality"] = quality(restorers, photos, args.scale, None)
    if args.jpeg is not None:
        report["jpeg"] = {"quality": args.jpeg, **quality(restorers, photos, args.scale, args.jpeg)}
    if args.grid is not None:
        chosen = args.photos / args.grid_photo if args.grid_photo else photos[0]
        shown = {"bicubic": restorers["baseline:bicubic"], "model": restorers[model]}
        grid(shown, chosen, args.scale, args.grid)
        report["grid"] = {"file": str(args.grid), "photo": chosen.name, "panels": [
            "bicubic", model, "truth"]}  # fmt: skip
    if not args.no_speed:
        options = ["--self-ensemble"] if args.self_ensemble else []
        options += ["--precision", args.precision]
        report.update(speed(model, args.speed_photos, args.scale, options))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
