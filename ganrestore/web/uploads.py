"""Files to images: size limit while they arrive, pixel limit and memory before decoding.

An upload is streamed into a private temporary file and refused as soon as it passes the byte
limit. Every file the server decodes (a photo of ``--in`` or uploaded, its sidecar mask, a mask
the page painted) has its header read first (no pixel decoded), right before it is decoded: an
image above the pixel limit (``--max-pixels``) is refused, so a small file claiming huge
dimensions (a decompression bomb) never reaches the decoder, and the decoding reserves its
memory (:mod:`.budget`). Only then is it decoded, by ``ganrestore apply``'s own reader. Every
refusal is a :class:`~ganrestore.web.errors.RequestError` whose message the page shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np

from ganrestore.data.io import (
    DecodedImage,
    ImageReadError,
    ImageTooLargeError,
    image_size,
    read_image,
    read_mask,
)
from ganrestore.data.pixel_limit import over_limit
from ganrestore.inference.masks import LoadedMask, load_mask_file
from ganrestore.web.budget import DECODE_BYTES_PER_PIXEL, MemoryBudget
from ganrestore.web.errors import RequestError, TooLarge, Unreadable

T = TypeVar("T")


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
        TooLarge: above the limit.
        Unreadable: no image header ganrestore reads.
    """
    try:
        height, width = image_size(path)
    except ImageReadError as exc:
        raise _refusal(exc, label) from None
    too_large = over_limit(height, width, max_pixels)
    if too_large is not None:
        raise TooLarge(f"{label}: {too_large} (ganrestore serve --max-pixels)")
    return height, width


def _refusal(exc: ImageReadError, label: str) -> RequestError:
    """The page's message for a file that is not decoded: too large, or unreadable."""
    if isinstance(exc, ImageTooLargeError):
        return TooLarge(f"{label}: {exc.reason} (ganrestore serve --max-pixels)")
    return Unreadable(f"{label}: cannot read it as an image: {exc.reason}")


def _decode(label: str, read: Callable[[], T]) -> T:
    try:
        return read()
    except ImageReadError as exc:
        raise _refusal(exc, label) from None


@contextmanager
def decoded_photo(
    path: Path, label: str, max_pixels: int, budget: MemoryBudget
) -> Iterator[DecodedImage]:
    """``path`` decoded as ``ganrestore apply`` does; the memory of decoding it is reserved
    (from its header's size) until the block ends, where the caller keeps what it needs of it.

    The pixel limit is checked on the header before the memory is reserved, and again by the
    decoder on the very file it decodes.

    Raises:
        TooLarge, Unreadable: see :func:`checked_size`; Unreadable also for broken pixel data.
        Busy: the memory budget is in use by other requests.
    """
    height, width = checked_size(path, label, max_pixels)
    what = f"opening {label} ({width}x{height})"
    with budget.reserve(DECODE_BYTES_PER_PIXEL * height * width, what):
        yield _decode(label, lambda: read_image(path, max_pixels))


def read_sidecar(
    path: Path, size: tuple[int, int], max_pixels: int, budget: MemoryBudget
) -> LoadedMask:
    """The sidecar mask ``path`` of a photo of ``size`` ``(H, W)``, as ``apply`` reads it.

    Raises:
        TooLarge: above ``max_pixels``; Unreadable: it cannot be read; Busy: see above.
    """
    label = f"its mask file {path.name}"
    height, width = checked_size(path, label, max_pixels)
    what = f"reading {label} ({width}x{height})"
    with budget.reserve(DECODE_BYTES_PER_PIXEL * height * width, what):
        return _decode(label, lambda: load_mask_file(path, size, max_pixels=max_pixels))


def read_holes(
    path: Path, size: tuple[int, int], max_pixels: int, budget: MemoryBudget
) -> np.ndarray:
    """A painted mask file -> ``(H, W)`` float32 in {0, 1}, 1 = hole (white / > 127 = hole).

    Args:
        path: the mask the page sent (a PNG as large as its photo).
        size: ``(H, W)`` of the photo.
        max_pixels: ``--max-pixels`` (0: no limit).
        budget: the memory of decoding it is reserved here.

    Raises:
        RequestError: another size than the photo's; Unreadable / TooLarge / Busy as above.
    """
    height, width = checked_size(path, "the mask", max_pixels)
    if (height, width) != tuple(size):
        raise RequestError(
            f"the mask is {width}x{height} but the photo is {size[1]}x{size[0]}; reload the page"
        )
    with budget.reserve(DECODE_BYTES_PER_PIXEL * height * width, "reading the mask"):
        return _decode("the mask", lambda: read_mask(path, max_pixels=max_pixels))
