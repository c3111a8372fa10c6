"""32-bit TIFFs (float RGB, float gray) are refused with what they are and how to convert them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ganrestore.data.io import ImageReadError, image_size, read_image


@pytest.fixture
def float_rgb_tiff(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """The astronaut as a float32 RGB TIFF in [0, 1], as scientific tools write it."""
    path = tmp_path / "astronaut-float.tif"
    assert cv2.imwrite(str(path), astronaut[..., ::-1].astype(np.float32) / 255)
    return path


def test_a_float_rgb_tiff_is_named_as_such_not_as_an_unknown_format(float_rgb_tiff: Path) -> None:
    for read in (read_image, image_size):
        with pytest.raises(ImageReadError, match="32-bit float TIFF") as caught:
            read(float_rgb_tiff)
        message = str(caught.value)
        assert str(float_rgb_tiff) in message and "16-bit" in message
        assert "not a PNG, JPEG" not in message


def test_a_float_gray_tiff_says_how_to_convert_it(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "gray-float.tif"
    Image.fromarray(astronaut[..., 0].astype(np.float32) / 255, mode="F").save(path)
    with pytest.raises(ImageReadError, match=r"32-bit float TIFF.*convert it to a 16-bit TIFF"):
        read_image(path)
