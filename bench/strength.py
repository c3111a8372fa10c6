"""What ``--strength`` and ``--noise-sigma`` do: how much of each photo's grain a denoiser keeps.

    python bench/strength.py --photos data/heldout/photos --model denoise \
        --grid docs/images/denoise_strength.png --grid-photo matplotlib_grace_hopper.png

For each photo as it is (its own grain, e.g. a film scan) the JSON gives, for each strength and
each noise level the network is told (``auto``: measured), the mean change the restoration
makes (8-bit levels) and the PSNR against the photo. With ``--sigma`` a copy with Gaussian noise
of that σ is restored too, with its PSNR against the clean photo: how much noise each setting
leaves; ``mean`` averages each setting over the photos. ``--grid`` draws a crop of one photo:
on top the photo at strengths 0, 0.5 and 1; below, the same crop with Gaussian noise of σ 15
and its restorations told σ 5, measured, and told σ 40.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import ganrestore

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
NOISE_LEVELS = (None, 0.0, 5.0, 10.0, 25.0, 40.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float | None:
    """PSNR in dB of two uint8 images; None when they are identical (infinite PSNR)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return None if mse == 0 else round(float(10 * np.log10(255.0**2 / mse)), 3)


def restored(restorer, pixels: np.ndarray, strength: float, noise: float | None) -> np.ndarray:
    restorer.set_strength(strength)
    restorer.set_noise_sigma(noise)
    return restorer.restore(pixels)


def measure(restorer, photo: np.ndarray, sigma: float | None) -> dict:
    """Each strength (measured σ) and each told noise level (strength 1) on one photo."""
    noisy = None
    if sigma:
        noise = np.random.default_rng(0).normal(0, sigma, photo.shape)
        noisy = np.clip(photo + noise, 0, 255).round().astype(np.uint8)
    settings = [(s, None) for s in STRENGTHS] + [(1.0, n) for n in NOISE_LEVELS if n is not None]
    rows = []
    for strength, noise in settings:
        out = restored(restorer, photo, strength, noise)
        row = {
            "strength": strength,
            "noise_sigma": "auto" if noise is None else noise,
            "change": round(float(np.abs(out.astype(float) - photo).mean()), 3),
            "psnr_vs_photo": psnr(out, photo),
        }
        if noisy is not None:
            row[f"psnr_sigma{sigma:g}"] = psnr(restored(restorer, noisy, strength, noise), photo)
        rows.append(row)
    return {"rows": rows}


def write_grid(restorer, photo: np.ndarray, path: Path, crop: int = 256) -> None:
    """Two labelled rows of a central crop: strengths on the photo, told noise levels on a
    noisy copy of it (σ 15)."""
    top, left = (photo.shape[0] - crop) // 2, (photo.shape[1] - crop) // 2
    part = photo[top : top + crop, left : left + crop]
    noise = np.random.default_rng(0).normal(0, 15, part.shape)
    noisy = np.clip(part + noise, 0, 255).round().astype(np.uint8)
    rows = [
        [
            ("the photo = strength 0", part),
            ("strength 0.5", restored(restorer, part, 0.5, None)),
            ("strength 1 (default)", restored(restorer, part, 1.0, None)),
            ("", None),
        ],
        [
            ("noise sigma 15 added", noisy),
            ("told sigma 5", restored(restorer, noisy, 1.0, 5.0)),
            ("measured (default)", restored(restorer, noisy, 1.0, None)),
            ("told sigma 40", restored(restorer, noisy, 1.0, 40.0)),
        ],
    ]
    label = 18
    columns = max(len(row) for row in rows)
    grid = Image.new("RGB", (crop * columns, (crop + label) * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    for row_index, row in enumerate(rows):
        y = row_index * (crop + label)
        for index, (title, pixels) in enumerate(row):
            if pixels is None:
                continue
            grid.paste(Image.fromarray(pixels), (index * crop, y + label))
            draw.text((index * crop + 4, y + 3), title, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def mean_rows(photos: dict) -> list[dict]:
    """Each setting's numbers averaged over the photos (an unchanged photo's PSNR, None, left
    out of its mean)."""
    per_setting = zip(*(report["rows"] for report in photos.values()), strict=True)
    means = []
    for rows in per_setting:
        mean = {"strength": rows[0]["strength"], "noise_sigma": rows[0]["noise_sigma"]}
        for key in rows[0]:
            if key in mean:
                continue
            finite = [row[key] for row in rows if row[key] is not None]
            mean[key] = round(float(np.mean(finite)), 3) if finite else None
        means.append(mean)
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--model", default="denoise")
    parser.add_argument("--sigma", type=float, default=None, help="also restore a noisy copy")
    parser.add_argument("--grid", type=Path, default=None)
    parser.add_argument("--grid-photo", default=None, help="file name in --photos")
    args = parser.parse_args()
    restorer = ganrestore.load_restorer(args.model, device="cpu")
    report: dict = {"model": args.model, "sigma": args.sigma, "photos": {}}
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    for path in paths:
        photo = np.asarray(Image.open(path).convert("RGB"))
        report["photos"][path.name] = measure(restorer, photo, args.sigma)
    report["mean"] = mean_rows(report["photos"])
    if args.grid is not None:
        name = args.grid_photo or paths[0].name
        write_grid(restorer, np.asarray(Image.open(args.photos / name).convert("RGB")), args.grid)
        report["grid"] = str(args.grid)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
