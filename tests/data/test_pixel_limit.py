"""Every decode is bounded: ``read_image(path, max_pixels=N)`` refuses a larger file from its
header, before decoding, in its own words (never Pillow's DecompressionBomb ones)."""

from __future__ import annotations

import struct
import threading
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ganrestore.data.io import (
    ImageReadError,
    ImageTooLargeError,
    image_size,
    pillow_pixel_limit,
    read_image,
    read_mask,
)
from ganrestore.data.pixel_limit import over_limit
from ganrestore.data.tiff_header import tiff_sample_type


def header_only_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header says ``width x height`` but holds almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 99))
    )
    return path  # fmt: skip


def pillow_limit() -> int | None:
    """Pillow's own decompression-bomb limit at this moment (a process-wide setting)."""
    return Image.MAX_IMAGE_PIXELS


def test_the_reason_counts_in_megapixels_unless_that_would_blur_the_numbers() -> None:
    assert over_limit(3000, 4000, 1_000_000) == (
        "4000x3000 is 12.0 megapixels, above the limit of 1 megapixels"
    )
    assert over_limit(128, 192, 6144) == "192x128 is 24576 pixels, above the limit of 6144 pixels"
    assert over_limit(1000, 1001, 1_000_000) == (  # 1.0 and 1: the same in megapixels
        "1001x1000 is 1001000 pixels, above the limit of 1000000 pixels"
    )
    assert over_limit(100, 80, 2000, scale=4) == (
        "its x4 result, 320x400, is 128000 pixels, above the limit of 2000 pixels"
    )
    assert over_limit(1000, 1000, 1_000_000) is None and over_limit(9, 9, 0) is None


def test_a_file_above_the_limit_is_refused_from_its_header_without_decoding(tmp_path: Path) -> None:
    huge = header_only_png(tmp_path / "huge.png", 4000, 3000)

    with pytest.raises(ImageTooLargeError) as caught:
        read_image(huge, max_pixels=1_000_000)
    error = caught.value
    assert error.path == huge and error.size == (3000, 4000)
    assert error.reason == "4000x3000 is 12.0 megapixels, above the limit of 1 megapixels"
    assert str(error) == f"image {huge} is not decoded: {error.reason}"
    assert isinstance(error, ImageReadError)  # one bad file: callers skip it like the others

    with pytest.raises(ImageReadError, match="truncated"):  # what decoding it would have done
        read_image(huge, max_pixels=0)  # 0: no limit
    with pytest.raises(ImageTooLargeError):
        read_mask(huge, max_pixels=1_000_000)


def test_within_the_limit_the_pixels_are_the_same_as_without_one(
    tmp_path: Path, astronaut: np.ndarray, astronaut16: np.ndarray
) -> None:
    eight, sixteen = tmp_path / "a.png", tmp_path / "a16.png"
    Image.fromarray(astronaut).save(eight)
    assert cv2.imwrite(str(sixteen), astronaut16[..., ::-1])  # decoded by OpenCV, not Pillow
    pixels = 48 * 64
    for path in (eight, sixteen):
        unbounded = read_image(path).pixels
        np.testing.assert_array_equal(read_image(path, max_pixels=pixels).pixels, unbounded)
        with pytest.raises(ImageTooLargeError, match=r"64x48 is 3072 pixels, above .* 3071"):
            read_image(path, max_pixels=pixels - 1)


def test_an_exif_rotated_image_is_counted_upright(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # 90 degrees: 64x48 stored, 48x64 shown
    Image.fromarray(astronaut).save(path, exif=exif)
    with pytest.raises(ImageTooLargeError) as caught:
        read_image(path, max_pixels=100)
    assert caught.value.size == (64, 48) and "48x64" in caught.value.reason


def test_pillows_own_limit_neither_warns_nor_refuses_where_ours_decides(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    path = tmp_path / "a.png"
    Image.fromarray(astronaut).save(path)  # 3072 pixels
    before = pillow_limit()
    with warnings.catch_warnings(), pillow_pixel_limit(1000):  # Pillow: warn at 1000, fail at 2000
        warnings.simplefilter("error")  # a DecompressionBombWarning would fail the test
        assert read_image(path, max_pixels=10_000).height == 48
        assert read_image(path, max_pixels=0).height == 48
        assert image_size(path) == (48, 64)  # a header read decodes nothing: no limit at all
        with pytest.raises(ImageTooLargeError, match=r"above the limit of 3000 pixels"):
            read_image(path, max_pixels=3000)
        assert pillow_limit() == 1000  # Pillow's setting is left as it was
        with pytest.raises(ImageReadError, match="DecompressionBomb"):
            read_image(path)  # no limit of ours given: Pillow's applies, as before
    assert pillow_limit() == before


def test_threads_reading_at_once_leave_pillows_limit_as_it_was(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    path = tmp_path / "a.png"
    Image.fromarray(astronaut).save(path)
    before = pillow_limit()
    errors: list[BaseException] = []

    def read_many() -> None:
        try:
            for _ in range(40):
                read_image(path, max_pixels=10_000)
                image_size(path)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=read_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and pillow_limit() == before


def test_a_float_tiff_is_named_from_its_header(tmp_path: Path, astronaut: np.ndarray) -> None:
    rgb, sixteen = tmp_path / "float.tif", tmp_path / "sixteen.tif"
    assert cv2.imwrite(str(rgb), astronaut.astype(np.float32) / 255)
    assert cv2.imwrite(str(sixteen), astronaut.astype(np.uint16) * 257)
    with rgb.open("rb") as file:
        assert tiff_sample_type(file) == (32, 3)
    with sixteen.open("rb") as file:
        assert tiff_sample_type(file) == (16, 1)
    with pytest.raises(ImageReadError, match="32-bit float TIFF"):
        read_image(rgb, max_pixels=100)  # named, whatever the limit: no pixel is needed for it
