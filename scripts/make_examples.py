"""Regenerate ``examples/broken/``: damaged copies of public-domain / CC0 photos for the README.

    python scripts/make_examples.py

Sources (scikit-image's bundled samples): ``chelsea`` and ``coffee`` (CC0, photographers
Stefan van der Walt and Rachel Michetti), ``astronaut`` (NASA, public domain) and ``rocket``
(SpaceX, public domain). The damage is seeded, so the files are the same on every run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from ganrestore.data.masks import make_mask

OUT = Path(__file__).resolve().parents[1] / "examples" / "broken"


def noisy(image: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sigma, image.shape)
    return np.clip(np.round(image.astype(np.float64) + noise), 0, 255).astype(np.uint8)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(noisy(skimage.data.chelsea(), 25, seed=1)).save(OUT / "chelsea_noisy.png")
    coffee_gray = np.asarray(Image.fromarray(skimage.data.coffee()).convert("L"))
    Image.fromarray(noisy(coffee_gray, 15, seed=2)).save(OUT / "coffee_gray_noisy.png")

    astronaut = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((384, 384)))
    holes = make_mask("free", 384, 384, np.random.default_rng(3), hole_ratio=(0.1, 0.15))
    alpha = np.where(holes > 0, 0, 255).astype(np.uint8)  # transparent = hole
    Image.fromarray(np.dstack([astronaut, alpha]), "RGBA").save(OUT / "astronaut_holes.png")

    rocket = skimage.data.rocket()
    mask = make_mask("box", *rocket.shape[:2], np.random.default_rng(4), hole_ratio=(0.05, 0.1))
    Image.fromarray(rocket).save(OUT / "rocket.png")
    Image.fromarray((mask * 255).astype(np.uint8)).save(OUT / "rocket_mask.png")  # white = hole


if __name__ == "__main__":
    main()
