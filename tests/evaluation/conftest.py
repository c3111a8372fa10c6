"""Small real photos (RGB and gray crops of scikit-image samples) as files, for evaluation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

SIZE = 48


def crops() -> dict[str, np.ndarray]:
    """Three 48×48 uint8 crops: two RGB photos and a gray one."""
    return {
        "astronaut": skimage.data.astronaut()[60 : 60 + SIZE, 180 : 180 + SIZE],
        "coffee": skimage.data.coffee()[150 : 150 + SIZE, 200 : 200 + SIZE],
        "camera": skimage.data.camera()[100 : 100 + SIZE, 220 : 220 + SIZE],
    }


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    return {name: np.ascontiguousarray(image) for name, image in crops().items()}


@pytest.fixture
def clean_dir(tmp_path: Path, photos: dict[str, np.ndarray]) -> Path:
    """A folder of three clean PNGs (``astronaut``, ``coffee``, gray ``camera``)."""
    folder = tmp_path / "clean"
    folder.mkdir()
    for name, image in photos.items():
        Image.fromarray(image).save(folder / f"{name}.png")
    return folder


def box_holes(size: int = SIZE) -> np.ndarray:
    """``(size, size)`` bool with a hole in the middle."""
    holes = np.zeros((size, size), bool)
    holes[size // 4 : size // 2, size // 3 : 2 * size // 3] = True
    return holes
