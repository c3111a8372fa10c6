"""Does the denoiser's own noise estimate limit it? The true σ against the estimate.

    python bench/noise_map_oracle.py --data data/heldout/crops --model denoise

A ``resunet`` built with ``noise_map = true`` measures the noise σ of each image (the wavelet
MAD estimate, which texture raises) and conditions every level on it. This bench restores the
same noisy crops three ways: with that estimate (what ``apply`` does), with the true σ of the
added noise in its place, and with the estimate scaled by each ``--scales`` factor. If the true
σ scored clearly higher, a better estimator would be worth training with; if it does not, the
estimate is not what limits the model. Gaussian noise, seeded per σ; PSNR in dB of 8-bit
outputs against the clean crops; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import ganrestore
from ganrestore.data.io import list_images
from ganrestore_plugins import resunet


def restore(network: torch.nn.Module, noisy: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> the network's 8-bit output as float in [0, 1]."""
    batch = torch.from_numpy(noisy).permute(2, 0, 1)[None] * 2 - 1
    with torch.inference_mode():
        out = network(batch).clamp(-1, 1)[0].permute(1, 2, 0).numpy()
    return np.round((out + 1) / 2 * 255) / 255


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder of clean images")
    parser.add_argument("--model", default="denoise", help="a bundled name, run or model file")
    parser.add_argument("--sigma", default="5,15,25,50", help="noise levels, 0-255 scale")
    parser.add_argument("--scales", default="0.8,0.9,1.1", help="factors on the estimate")
    args = parser.parse_args(argv)

    network = ganrestore.load_restorer(args.model, device="cpu").generator.float().eval()
    if getattr(network, "noise_embedding", None) is None:
        print(f"{args.model}: its network has no noise map to feed", file=sys.stderr)
        return 2
    clean = [
        np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
        for path in list_images(args.data)
    ]
    estimate = resunet.estimate_noise_level
    results: dict[str, dict[str, float]] = {}
    try:
        for sigma in (float(s) for s in args.sigma.split(",")):
            rng = np.random.default_rng(int(sigma))
            noise = [rng.normal(0, sigma / 255, image.shape).astype(np.float32) for image in clean]
            noisy = [np.clip(image + n, 0, 1) for image, n in zip(clean, noise, strict=True)]
            feeds: dict[str, Callable] = {
                "estimate": estimate,
                "true": lambda unshuffled, channels, s=sigma: torch.full(
                    (unshuffled.shape[0],), 2 * s / 255
                ),
            }
            for factor in (float(f) for f in args.scales.split(",")):
                feeds[f"estimate x{factor:g}"] = lambda u, c, f=factor: estimate(u, c) * f
            scores = {}
            for name, feed in feeds.items():
                resunet.estimate_noise_level = feed
                restored = [restore(network, image) for image in noisy]
                scores[name] = round(
                    float(np.mean([psnr(r, c) for r, c in zip(restored, clean, strict=True)])), 3
                )
            results[f"{sigma:g}"] = scores
            print(f"σ {sigma:g}: {scores}", file=sys.stderr)
    finally:
        resunet.estimate_noise_level = estimate
    print(json.dumps({"model": args.model, "images": len(clean), "psnr": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
