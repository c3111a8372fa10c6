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
    for read in (read_image, image_size):  # the header scan of a training folder refuses it too
        with pytest.raises(ImageReadError, match=r"32-bit float TIFF.*convert it to a 16-bit"):
            read(path)


def test_a_float_photo_is_skipped_by_the_training_scan_not_at_its_first_use(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    from ganrestore.data.layout import discover
    from ganrestore.tasks import build_task

    clean = tmp_path / "data" / "clean"
    clean.mkdir(parents=True)
    for index in range(10):  # one bad file in eleven: within the share of bad files tolerated
        Image.fromarray(np.roll(astronaut, 4 * index, axis=1)).save(clean / f"{index}.png")
    Image.fromarray(astronaut[..., 0].astype(np.float32) / 255, mode="F").save(clean / "float.tif")
    layout = discover(tmp_path / "data", build_task("denoise"))
    skipped = dict(layout.skipped)
    assert "32-bit float TIFF" in skipped[clean / "float.tif"]
    used = {sample.clean.name for sample in layout.train + layout.val}
    assert used == {f"{index}.png" for index in range(10)}
