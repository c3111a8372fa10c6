"""Small real images (crops of scikit-image's bundled samples) written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(48, 64, 3) uint8 crop of the astronaut's face and suit."""
    return np.ascontiguousarray(skimage.data.astronaut()[80:128, 180:244])


@pytest.fixture(scope="session")
def astronaut16(astronaut: np.ndarray) -> np.ndarray:
    """(48, 64, 3) uint16 with all 16 bits used (low bytes seeded noise), as from a raw file."""
    low = np.random.default_rng(16).integers(0, 256, astronaut.shape, dtype=np.uint16)
    return (astronaut.astype(np.uint16) << 8) | low


@pytest.fixture(scope="session")
def sample_images() -> list[np.ndarray]:
    """Twelve distinct small uint8 images (RGB and gray) to fill data folders."""
    sources = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.camera()]
    images = []
    for i in range(12):
        source = sources[i % 3]
        top, left = 30 * i, 25 * i
        images.append(np.ascontiguousarray(source[top : top + 40, left : left + 48]))
    return images


MakeDataDir = Callable[..., Path]


@pytest.fixture
def make_data_dir(tmp_path: Path, sample_images: list) -> MakeDataDir:
    """Builds a ``--data`` folder: ``clean/`` with ``count`` PNGs and optional pair folders.

    Pairs are real files: ``degraded/`` holds noisy JPEGs, ``masks/`` white-box PNGs; ``val``
    adds ``val/clean/`` (and the same pair folder) with ``val`` more images.
    """

    def make(count: int = 6, pairs: str | None = None, val: int = 0, name: str = "data") -> Path:
        root = tmp_path / name
        rng = np.random.default_rng(0)

        def fill(split: Path, first: int, number: int) -> None:
            (split / "clean").mkdir(parents=True)
            for i in range(first, first + number):
                image = sample_images[i % len(sample_images)]
                Image.fromarray(image).save(split / "clean" / f"img{i:02d}.png")
                if pairs == "degraded":
                    noisy = image + rng.normal(0, 20, image.shape)
                    noisy = np.clip(noisy, 0, 255).astype(np.uint8)
                    (split / "degraded").mkdir(exist_ok=True)
                    Image.fromarray(noisy).save(split / "degraded" / f"img{i:02d}.jpg", quality=95)
                elif pairs == "masks":
                    mask = np.zeros(image.shape[:2], np.uint8)
                    mask[5 + i : 20 + i, 10:30] = 255
                    (split / "masks").mkdir(exist_ok=True)
                    Image.fromarray(mask).save(split / "masks" / f"img{i:02d}.png")

        fill(root, 0, count)
        if val:
            fill(root / "val", count, val)
        return root

    return make
