"""Benchmark inpainting on whole photos: the bundled model's strategies against OpenCV Telea.

Each photo of ``--photos`` (about 1 MP; ``bench/make_large_photos.py`` writes such sets) gets
an object-sized hole: a box of a quarter of each side plus three thick brush strokes, drawn
from ``--seed`` and the photo's name, so every run sees the same holes. Prints one JSON object:

* ``photos``: per photo, PSNR over the hole pixels (dB) and seconds of the bundled ``inpaint``
  model with the default strategy (``scales``: coarse to fine, only around the holes), with the
  old one (``tiles``: every tile that holds a hole, full resolution only) and of OpenCV Telea;
* ``mean``: their means, ``scales_minus_telea_db``, the photos where ``scales`` is below
  Telea, and ``time_ratio_scales_over_tiles`` (both timed side by side in this run);
* ``peak_rss_mb``: peak resident memory of this process;
* ``large_photo`` (with ``--large WxH``): a fresh process filling one photo of that size (the
  first photo resized) with the default strategy: seconds and peak resident memory.

``--grid out.png`` writes a picture of the first ``--grid-photos`` photos, downscaled:
input with holes | Telea | ``tiles`` | ``scales``.

Usage::

    OMP_NUM_THREADS=2 python bench/inpaint_large.py --photos /work/data/inpaint-heldout \
        --grid docs/images/inpaint_large.png --large 4000x3000
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
from PIL import Image, ImageDraw

from ganrestore.evaluation.metrics import psnr
from ganrestore.inference import load_restorer, resolve_model

METHODS = ("scales", "tiles", "telea")
HOLE_GREY = 128


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


def run_methods(photos: list[Path], seed: int, device: str) -> tuple[list[dict], dict]:
    """Fill every photo with each method; per-photo scores and the filled images."""
    model = load_restorer("inpaint", device=device)
    telea = resolve_model("baseline:telea")
    rows, fills = [], {}
    for path in photos:
        image = read_photo(path)
        holes = photo_mask(path.name, *image.shape[:2], seed)
        row: dict = {"photo": path.name, "size": f"{image.shape[1]}x{image.shape[0]}"}
        row["hole_share"] = round(float(holes.mean()), 4)
        for method in METHODS:
            restorer = telea if method == "telea" else model
            if method != "telea":
                model.inpaint_strategy = method
            start = time.perf_counter()
            filled = restorer.restore(image, mask=holes)
            row[f"{method}_seconds"] = round(time.perf_counter() - start, 3)
            row[f"{method}_psnr_db"] = round(psnr(filled, image, holes), 3)
            fills[(path.name, method)] = filled
        rows.append(row)
    model.inpaint_strategy = "scales"
    return rows, fills


def summary(rows: list[dict]) -> dict:
    """Means over the photos, the lead over Telea and the speed ratio."""
    mean = {
        f"{method}_{key}": round(float(np.mean([row[f"{method}_{key}"] for row in rows])), 3)
        for method in METHODS
        for key in ("psnr_db", "seconds")
    }
    mean["scales_minus_telea_db"] = round(mean["scales_psnr_db"] - mean["telea_psnr_db"], 3)
    mean["photos_below_telea"] = [
        row["photo"] for row in rows if row["scales_psnr_db"] < row["telea_psnr_db"]
    ]
    total = {m: sum(row[f"{m}_seconds"] for row in rows) for m in ("scales", "tiles")}
    mean["time_ratio_scales_over_tiles"] = round(total["scales"] / total["tiles"], 3)
    return mean


def write_grid(out: Path, photos: list[Path], fills: dict, seed: int, height: int = 220) -> None:
    """Rows of input with holes (grey) | Telea | tiles | scales, each ``height`` pixels high."""
    columns = ("input", "telea", "tiles", "scales")
    rows = []
    for path in photos:
        image = read_photo(path)
        holes = photo_mask(path.name, *image.shape[:2], seed)
        shown = {"input": np.where(holes[..., None], HOLE_GREY, image).astype(np.uint8)}
        shown.update({name: fills[(path.name, name)] for name in columns[1:]})
        width = round(image.shape[1] * height / image.shape[0])
        cells = [
            Image.fromarray(shown[name]).resize((width, height), Image.Resampling.LANCZOS)
            for name in columns
        ]
        rows.append(cells)
    grid_w = max(sum(cell.width for cell in row) for row in rows) + 3 * 4
    label_h = 18
    grid = Image.new("RGB", (grid_w, label_h + len(rows) * (height + 4)), "white")
    draw = ImageDraw.Draw(grid)
    for index, name in enumerate(("input with holes", "OpenCV Telea", "tiles (old)", "scales")):
        draw.text((index * (rows[0][0].width + 4) + 4, 3), name, fill="black")
    for r, row in enumerate(rows):
        x = 0
        for cell in row:
            grid.paste(cell, (x, label_h + r * (height + 4)))
            x += cell.width + 4
    out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(out, optimize=True)


def large_photo_run(source: Path, size: str, seed: int, device: str) -> dict:
    """Fill one photo of ``size`` (``WxH``) in this process; seconds and peak memory."""
    width, height = (int(value) for value in size.lower().split("x"))
    image = cv2.resize(read_photo(source), (width, height), interpolation=cv2.INTER_CUBIC)
    holes = photo_mask(source.name, height, width, seed)
    restorer = load_restorer("inpaint", device=device)
    start = time.perf_counter()
    filled = restorer.restore(image, mask=holes)
    seconds = time.perf_counter() - start
    return {
        "size": size,
        "strategy": restorer.inpaint_strategy,
        "hole_share": round(float(holes.mean()), 4),
        "seconds": round(seconds, 2),
        "psnr_db": round(psnr(filled, image, holes), 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True, help="folder of ~1 MP photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--grid", type=Path, help="write a comparison picture here (PNG)")
    parser.add_argument("--grid-photos", type=int, default=3)
    parser.add_argument("--large", metavar="WxH", help="also fill one photo of this size")
    parser.add_argument("--large-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in {".png", ".jpg"})
    if not photos:
        parser.error(f"--photos {args.photos}: no .png or .jpg photos in it")
    if args.large_only:  # the fresh process of --large
        print(json.dumps(large_photo_run(photos[0], args.large, args.seed, args.device)))
        return
    rows, fills = run_methods(photos, args.seed, args.device)
    report = {"seed": args.seed, "photos": rows, "mean": summary(rows)}
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.grid:
        write_grid(args.grid, photos[: args.grid_photos], fills, args.seed)
        report["grid"] = str(args.grid)
    if args.large:
        command = [sys.argv[0], "--photos", str(args.photos), "--large", args.large]
        command += ["--seed", str(args.seed), "--device", args.device, "--large-only"]
        done = subprocess.run([sys.executable, *command], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"the --large run failed:\n{done.stderr}")
        report["large_photo"] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
