"""Does a denoiser leave clean photos alone? PSNR of its output against its own input.

    python bench/clean_photos.py --photos data/heldout/photos --model denoise

``ganrestore apply`` sends every image without a mask to the denoiser, so a photo with no
visible noise must come back visually unchanged (goal: mean PSNR ≥ 42 dB, worst photo
≥ 38 dB). For each photo the JSON gives that PSNR, the noise level the image seems to have
(wavelet MAD estimate of the finest diagonal detail, 0–255 scale: texture raises it too) and,
with ``--sigma``, the PSNR of the restored noisy copy against the clean photo, so that a
change that helps clean photos can be checked against what it costs on noisy ones.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import ganrestore


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf when identical)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def estimated_sigma(pixels: np.ndarray) -> float:
    """Donoho's estimate: median |finest diagonal Haar coefficient| / 0.6745, 0–255 scale."""
    gray = pixels.astype(np.float64).mean(axis=2)
    height, width = (gray.shape[0] // 2) * 2, (gray.shape[1] // 2) * 2
    g = gray[:height, :width]
    diagonal = (g[0::2, 0::2] - g[0::2, 1::2] - g[1::2, 0::2] + g[1::2, 1::2]) / 2
    return float(np.median(np.abs(diagonal)) / 0.6745)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--model", default="denoise")
    parser.add_argument("--sigma", type=float, default=None, help="also restore noisy copies")
    parser.add_argument("--max-side", type=int, default=1024, help="photos are downscaled to this")
    args = parser.parse_args()

    restorer = ganrestore.load_restorer(args.model)
    rng = np.random.default_rng(0)
    rows = []
    for path in sorted(args.photos.iterdir()):
        if path.suffix.lower() not in {".png", ".jpg", ".jpeg"}:
            continue
        image = Image.open(path).convert("RGB")
        image.thumbnail((args.max_side, args.max_side), Image.Resampling.LANCZOS)
        clean = np.asarray(image)
        start = time.perf_counter()
        restored = restorer.restore(clean)
        row = {
            "photo": path.name,
            "size": list(clean.shape[:2]),
            "estimated_sigma": round(estimated_sigma(clean), 2),
            "psnr_vs_input": round(psnr(restored, clean), 2),
            "seconds": round(time.perf_counter() - start, 2),
        }
        if args.sigma is not None:
            noisy = np.clip(clean + rng.normal(0, args.sigma, clean.shape), 0, 255)
            noisy = np.rint(noisy).astype(np.uint8)
            row["noisy_psnr"] = round(psnr(noisy, clean), 2)
            row["restored_noisy_psnr"] = round(psnr(restorer.restore(noisy), clean), 2)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    scores = [row["psnr_vs_input"] for row in rows]
    summary = {
        "model": args.model,
        "photos": len(rows),
        "mean_psnr_vs_input": round(float(np.mean(scores)), 2),
        "worst_psnr_vs_input": round(float(np.min(scores)), 2),
        "goal": {"mean": 42.0, "worst": 38.0},
    }
    if args.sigma is not None:
        summary["sigma"] = args.sigma
        summary["mean_restored_noisy_psnr"] = round(
            float(np.mean([row["restored_noisy_psnr"] for row in rows])), 2
        )
    print(json.dumps(summary | {"per_photo": rows}, indent=1))


if __name__ == "__main__":
    main()
