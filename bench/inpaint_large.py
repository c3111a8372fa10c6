"""Benchmark inpainting on whole photos: the bundled model's strategies against OpenCV Telea.

Each photo of ``--photos`` (about 1 MP; ``bench/make_large_photos.py`` writes such sets) gets
an object-sized hole: a box of a quarter of each side plus three thick brush strokes, drawn
from ``--seed`` and the photo's name, so every run sees the same holes. Prints one JSON object:

* ``photos``: per photo, PSNR over the hole pixels (dB), the detail ratio over the holes at
  pyramid levels 0, 1 and 2 (``detail``: ``ganrestore.evaluation.metrics.detail_ratio``, 1.0 =
  as much fine detail as the photo had there) and seconds of ``--model`` (default: the bundled
  ``inpaint``) with the default strategy (``scales``: coarse to fine, only around the holes),
  with the old one (``tiles``: every tile that holds a hole, full resolution only; left out
  with ``--no-tiles``) and of each classical method of ``--baselines`` (default
  ``telea,fsr_fast``; ``shiftmap`` copies patches and takes 30-60 s per photo);
* ``mean``: their means (the detail ratios also as the smallest over the photos,
  ``*_detail_min``), ``scales_minus_telea_db``, the photos where ``scales`` is below Telea,
  and ``time_ratio_scales_over_tiles`` (both timed side by side in this run);
* ``peak_rss_mb``: peak resident memory of this process (all methods, all photos);
* ``large_photo`` (with ``--large WxH``): for each of ``--large-strategies`` a fresh process
  filling one photo of that size (the first photo, resized): seconds and peak resident memory.

The holes are exact (they mark just the pixels that were removed), so the model fills them as
they are, like Telea: ``grow`` is 0, not ``apply``'s 2 pixels (``bench/inpaint_edges.py``
measures that case).

``--threads N`` sets torch's threads (default: torch's choice, one per core); on a machine
busy with other work one thread can be several times faster.

``--grid out.png`` writes a picture of the first ``--grid-photos`` photos, downscaled:
input with holes | truth | each baseline | ``scales``; ``--grid-crop`` shows the box hole at full
resolution instead of the whole photo.

Usage::

    python bench/inpaint_large.py --photos /work/data/inpaint-heldout --threads 1 \
        --grid docs/images/inpaint_large.png --large 4000x3000 --large-strategies scales,tiles
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw

from ganrestore.evaluation.metrics import detail_ratio, psnr
from ganrestore.inference import load_restorer, resolve_model

STRATEGIES = ("scales", "tiles")
HOLE_GREY = 128
#: Names shown in the grid.
LABELS = {
    "scales": "ganrestore",
    "tiles": "ganrestore (tiles)",
    "telea": "OpenCV Telea",
    "ns": "OpenCV Navier-Stokes",
    "fsr_fast": "xphoto FSR_FAST",
    "shiftmap": "xphoto SHIFTMAP",
    "biharmonic": "biharmonic",
}


def large_photo_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """An object-sized hole: a box of a quarter of each side and three thick brush strokes.

    Each stroke is a polyline of 3 to 5 segments (each 8-20 % of the long side) with round
    joints, 2.5-4.5 % of the short side thick.

    Returns:
        ``(H, W)`` bool, True = hole.
    """
    mask = np.zeros((height, width), np.uint8)
    box_h, box_w = height // 4, width // 4
    top = int(rng.integers(0, height - box_h + 1))
    left = int(rng.integers(0, width - box_w + 1))
    mask[top : top + box_h, left : left + box_w] = 1
    long_side, short_side = max(height, width), min(height, width)
    for _ in range(3):
        thickness = max(2, round(rng.uniform(0.025, 0.045) * short_side))
        y, x = rng.uniform(0, height), rng.uniform(0, width)
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(3, 6))):
            angle += rng.uniform(-1.0, 1.0)
            length = rng.uniform(0.08, 0.2) * long_side
            ny = float(np.clip(y + length * math.sin(angle), 0, height - 1))
            nx = float(np.clip(x + length * math.cos(angle), 0, width - 1))
            cv2.line(mask, (round(x), round(y)), (round(nx), round(ny)), 1, thickness)
            cv2.circle(mask, (round(nx), round(ny)), thickness // 2, 1, -1)
            y, x = ny, nx
    return mask.astype(bool)


def photo_mask(name: str, height: int, width: int, seed: int) -> np.ndarray:
    """The deterministic hole of one photo (from ``seed`` and the file name)."""
    return large_photo_mask(height, width, np.random.default_rng([seed, zlib.crc32(name.encode())]))


def read_photo(path: Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB."""
    return np.asarray(Image.open(path).convert("RGB"))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_methods(
    photos: list[Path],
    seed: int,
    device: str,
    model_name: str = "inpaint",
    methods: tuple[str, ...] = ("scales", "tiles", "telea", "fsr_fast"),
    texture: bool = True,
) -> tuple[list[dict], dict]:
    """Fill every photo with each method; per-photo scores and the filled images.

    ``methods`` are the model's strategies (``scales``, ``tiles``) and baseline names;
    ``texture`` False fills with the network alone (``--no-texture``).
    """
    model = load_restorer(model_name, device=device)
    model.settings.grow = 0  # the holes are exact, as for Telea (apply grows them by 2 pixels)
    if not texture:
        model.settings.texture = None
    baselines = {m: resolve_model(f"baseline:{m}") for m in methods if m not in STRATEGIES}
    rows, fills = [], {}
    for path in photos:
        image = read_photo(path)
        holes = photo_mask(path.name, *image.shape[:2], seed)
        row: dict = {"photo": path.name, "size": f"{image.shape[1]}x{image.shape[0]}"}
        row["hole_share"] = round(float(holes.mean()), 4)
        for method in methods:
            restorer = baselines.get(method, model)
            if method in STRATEGIES:
                model.settings.strategy = method
            start = time.perf_counter()
            filled = restorer.restore(image, mask=holes)
            row[f"{method}_seconds"] = round(time.perf_counter() - start, 3)
            row[f"{method}_psnr_db"] = round(psnr(filled, image, holes), 3)
            row[f"{method}_detail"] = [round(v, 3) for v in detail_ratio(filled, image, holes)]
            fills[(path.name, method)] = filled
        rows.append(row)
    model.settings.strategy = "scales"
    return rows, fills


def summary(rows: list[dict], methods: tuple[str, ...]) -> dict:
    """Means over the photos (detail: also the smallest), the lead over Telea, speed ratio."""
    mean: dict = {}
    for method in methods:
        for key in ("psnr_db", "seconds"):
            mean[f"{method}_{key}"] = round(float(np.mean([r[f"{method}_{key}"] for r in rows])), 3)
        details = np.array([r[f"{method}_detail"] for r in rows], dtype=float)
        mean[f"{method}_detail"] = [round(float(v), 3) for v in np.nanmean(details, axis=0)]
        mean[f"{method}_detail_min"] = [round(float(v), 3) for v in np.nanmin(details, axis=0)]
    if "telea" in methods:
        mean["scales_minus_telea_db"] = round(mean["scales_psnr_db"] - mean["telea_psnr_db"], 3)
        mean["photos_below_telea"] = [
            row["photo"] for row in rows if row["scales_psnr_db"] < row["telea_psnr_db"]
        ]
    if "tiles" in methods:
        total = {m: sum(row[f"{m}_seconds"] for row in rows) for m in STRATEGIES}
        mean["time_ratio_scales_over_tiles"] = round(total["scales"] / total["tiles"], 3)
    return mean


def box_crop(holes: np.ndarray, margin: int = 24) -> tuple[slice, slice]:
    """Rows and columns more than a fifth in the hole (the box, a quarter of each side, is),
    plus ``margin``."""
    full_rows = np.flatnonzero(holes.mean(axis=1) > 0.2)
    full_cols = np.flatnonzero(holes.mean(axis=0) > 0.2)
    top, bottom = max(int(full_rows.min()) - margin, 0), int(full_rows.max()) + margin + 1
    left, right = max(int(full_cols.min()) - margin, 0), int(full_cols.max()) + margin + 1
    return slice(top, bottom), slice(left, right)


def write_grid(
    out: Path,
    photos: list[Path],
    fills: dict,
    seed: int,
    methods: tuple[str, ...],
    width: int = 300,
    crop: bool = False,
) -> None:
    """Rows of input with holes (grey) | truth | each method, each ``width`` pixels wide.

    ``crop``: each cell shows the region of the box hole at full resolution (the box is found
    as the rows and columns more than a fifth in the hole). Saved as a 256-colour PNG
    (dithered), small enough for the documentation.
    """
    columns = ("input", "truth", *methods)
    labels = ("input with holes", "truth", *(LABELS.get(m, m) for m in methods))
    gap, label_h = 4, 18
    rows = []
    for path in photos:
        image = read_photo(path)
        holes = photo_mask(path.name, *image.shape[:2], seed)
        shown = {"input": np.where(holes[..., None], HOLE_GREY, image).astype(np.uint8)}
        shown["truth"] = image
        shown.update({name: fills[(path.name, name)] for name in methods})
        if crop:
            window = box_crop(holes)
            shown = {name: np.ascontiguousarray(cell[window]) for name, cell in shown.items()}
        cell_h, cell_w = shown["truth"].shape[:2]
        size = (width, round(cell_h * width / cell_w))
        resample = Image.Resampling.LANCZOS
        rows.append([Image.fromarray(shown[name]).resize(size, resample) for name in columns])
    height = label_h + sum(row[0].height + gap for row in rows)
    grid = Image.new("RGB", (len(columns) * (width + gap) - gap, height), "white")
    draw = ImageDraw.Draw(grid)
    for index, label in enumerate(labels):
        draw.text((index * (width + gap) + 4, 3), label, fill="black")
    top = label_h
    for row in rows:
        for index, cell in enumerate(row):
            grid.paste(cell, (index * (width + gap), top))
        top += row[0].height + gap
    out.parent.mkdir(parents=True, exist_ok=True)
    palette = grid.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    palette.save(out, optimize=True)  # 256 colours: a third of the size, for the docs


def large_photo_run(
    source: Path,
    size: str,
    seed: int,
    device: str,
    strategy: str,
    model_name: str = "inpaint",
    texture: bool = True,
) -> dict:
    """Fill one photo of ``size`` (``WxH``) in this process; seconds and peak memory.

    The peak is read right after the fill (scoring it afterwards takes memory of its own).
    """
    width, height = (int(value) for value in size.lower().split("x"))
    image = cv2.resize(read_photo(source), (width, height), interpolation=cv2.INTER_CUBIC)
    holes = photo_mask(source.name, height, width, seed)
    restorer = load_restorer(model_name, device=device)
    restorer.settings.strategy, restorer.settings.grow = strategy, 0
    if not texture:
        restorer.settings.texture = None
    start = time.perf_counter()
    filled = restorer.restore(image, mask=holes)
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    return {
        "size": size,
        "strategy": strategy,
        "texture": texture,
        "hole_share": round(float(holes.mean()), 4),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak, 1),
        "psnr_db": round(psnr(filled, image, holes), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True, help="folder of ~1 MP photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="inpaint", help="the model (default: bundled)")
    parser.add_argument("--grid", type=Path, help="write a comparison picture here (PNG)")
    parser.add_argument("--grid-photos", type=int, default=3)
    parser.add_argument("--grid-crop", action="store_true", help="show the box hole up close")
    parser.add_argument(
        "--baselines", default="telea,fsr_fast", help="classical methods (telea must be one)"
    )
    parser.add_argument("--no-tiles", action="store_true", help="leave the tiles strategy out")
    parser.add_argument(
        "--no-texture", action="store_true", help="the network's fills without copied detail"
    )
    parser.add_argument("--large", metavar="WxH", help="also fill one photo of this size")
    parser.add_argument(
        "--large-strategies", default="scales", help="strategies of --large, e.g. scales,tiles"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--large-only", metavar="STRATEGY", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.photos.is_dir():
        parser.error(f"--photos {args.photos}: not a folder")
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in {".png", ".jpg"})
    if not photos:
        parser.error(f"--photos {args.photos}: no .png or .jpg photos in it")
    if args.large_only:  # a fresh process of --large
        run = large_photo_run(
            photos[0],
            args.large,
            args.seed,
            args.device,
            args.large_only,
            args.model,
            texture=not args.no_texture,
        )
        print(json.dumps(run))
        return
    baselines = tuple(name for name in args.baselines.split(",") if name)
    if "telea" not in baselines:
        parser.error("--baselines must include telea (the reference of the summary)")
    methods = ("scales",) + (() if args.no_tiles else ("tiles",)) + baselines
    rows, fills = run_methods(
        photos, args.seed, args.device, args.model, methods, texture=not args.no_texture
    )
    report = {"seed": args.seed, "torch_threads": torch.get_num_threads(), "photos": rows}
    report["texture"] = not args.no_texture
    report["mean"] = summary(rows, methods)
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.grid:
        shown = (*baselines, "scales")
        write_grid(
            args.grid, photos[: args.grid_photos], fills, args.seed, shown, crop=args.grid_crop
        )
        report["grid"] = str(args.grid)
    for strategy in args.large_strategies.split(",") if args.large else []:
        command = [sys.argv[0], "--photos", str(args.photos), "--large", args.large]
        command += ["--seed", str(args.seed), "--device", args.device, "--large-only", strategy]
        command += ["--model", args.model]
        command += ["--threads", str(torch.get_num_threads())]
        command += ["--no-texture"] if args.no_texture else []
        done = subprocess.run([sys.executable, *command], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"the --large run failed:\n{done.stderr}")
        report.setdefault("large_photo", []).append(json.loads(done.stdout.splitlines()[-1]))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
