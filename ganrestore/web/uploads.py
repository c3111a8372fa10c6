"""Uploaded bytes to images: size limit while they arrive, pixel limit before decoding.

An upload is streamed into a private temporary file and refused as soon as it passes the byte
limit. Its header is then read (no pixel decoded) and an image above the pixel limit is refused,
so a small file claiming huge dimensions (a decompression bomb) never reaches the decoder. Only
then is it decoded, by ``ganrestore apply``'s own reader. Every refusal is a
:class:`~ganrestore.web.errors.RequestError` whose message the page shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
from PIL import Image

from ganrestore.data.io import DecodedImage, ImageReadError, image_size, read_image, read_mask
from ganrestore.web.errors import RequestError, TooLarge, Unreadable


async def receive(chunks: AsyncIterator[bytes], destination: Path, limit: int) -> int:
    """Write the chunks of a request body to ``destination`` (a new file); returns its size.

    Raises:
        TooLarge: more than ``limit`` bytes arrived (the rest is not read).
        Unreadable: the body was empty.
    """
    size = 0
    with destination.open("xb") as file:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise too_many_bytes(limit)
            file.write(chunk)
    if size == 0:
        raise Unreadable("the upload was empty: choose an image file")
    return size


def too_many_bytes(limit: int) -> TooLarge:
    return TooLarge(
        f"the file is larger than the upload limit of {limit / 1e6:g} MB "
        "(ganrestore serve --max-upload-mb)"
    )


def checked_size(path: Path, label: str, max_pixels: int) -> tuple[int, int]:
    """``(H, W)`` from the header of ``path``, refused above ``max_pixels`` (0: no limit).

    Raises:
        TooLarge: above the limit (or above Pillow's own decompression-bomb limit).
        Unreadable: no image header ganrestore reads.
    """
    try:
        height, width = image_size(path)
    except ImageReadError as exc:
        if isinstance(exc.__cause__, Image.DecompressionBombError):
            raise TooLarge(f"{label}: {exc.__cause__}") from None
        raise Unreadable(f"{label}: cannot read it as an image: {exc.reason}") from None
    if max_pixels and height * width > max_pixels:
        raise TooLarge(
            f"{label} is {width}x{height}, {height * width / 1e6:.1f} megapixels, above the "
            f"limit of {max_pixels / 1e6:g} megapixels (ganrestore serve --max-pixels)"
        )
    return height, width


def read_photo(path: Path, label: str, max_pixels: int) -> DecodedImage:
    """Decode ``path`` as ``ganrestore apply`` does, after :func:`checked_size`.

    Raises:
        TooLarge, Unreadable: see :func:`checked_size`; Unreadable also for broken pixel data.
    """
    checked_size(path, label, max_pixels)
    try:
        return read_image(path)
    except ImageReadError as exc:
        raise Unreadable(f"{label}: cannot read it as an image: {exc.reason}") from None


def read_holes(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A painted mask file -> ``(H, W)`` float32 in {0, 1}, 1 = hole (white / > 127 = hole).

    Args:
        path: the mask the page sent (a PNG as large as its photo).
        size: ``(H, W)`` of the photo.

    Raises:
        RequestError: another size than the photo's; Unreadable / TooLarge as above.
    """
    height, width = checked_size(path, "the mask", 0)
    if (height, width) != tuple(size):
        raise RequestError(
            f"the mask is {width}x{height} but the photo is {size[1]}x{size[0]}; reload the page"
        )
    try:
        return read_mask(path)
    except ImageReadError as exc:
        raise Unreadable(f"the mask: cannot read it as an image: {exc.reason}") from None
