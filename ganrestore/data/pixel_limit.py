"""How many pixels an image may have before it is decoded, and Pillow's own limit beside ours.

Every decode in ganrestore is bounded by a pixel count checked against the file's header at
the moment of decoding (``read_image(path, max_pixels=...)``), never only beforehand: a file
replaced by a larger one after a folder was scanned is still refused before its pixels are
decoded. Decoding costs about 12 bytes per pixel as float32 RGB, and restoring one about 40.

Pillow has a limit of its own (about 89 megapixels: a ``DecompressionBombWarning``; twice that:
an error), in messages that name no ganrestore option. Where ganrestore checks the size itself,
Pillow's check is lifted for the moment of opening the file (:func:`opening_unchecked`), so the
user sees one limit, ours, named by its option.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

#: Default limit (``--max-pixels``, ``data.max_pixels``): 100 megapixels, 8x a 4000x3000 photo.
#: Restoring 169 megapixels takes about 6 GB of memory and minutes on a CPU.
DEFAULT_MAX_PIXELS = 100_000_000

# Pillow's limit is one module attribute for the whole process: every change to it is made
# under this lock, so that threads opening files at once restore it to what it was.
_PILLOW_LIMIT_LOCK = threading.Lock()


def over_limit(height: int, width: int, max_pixels: int | None, scale: int = 1) -> str | None:
    """Why an image of ``height x width`` is not decoded, or None when it is within the limit.

    ``max_pixels``: the limit in pixels; 0 or None: no limit. The reason reads
    ``"20000x10000 is 200.0 megapixels, above the limit of 100 megapixels"``. With ``scale`` > 1
    (a model whose result is ``scale`` times larger) the limit holds for the result:
    ``"its x4 result, 8000x6000, is 48.0 megapixels, above the limit of 10 megapixels"``. Below
    a megapixel, or where one decimal would not tell them apart, both are counted in pixels:
    ``"192x128 is 24576 pixels, above the limit of 6144 pixels"``.
    """
    out_height, out_width = height * scale, width * scale
    if not max_pixels or out_height * out_width <= max_pixels:
        return None
    size = f"{out_width}x{out_height}"
    what = size if scale == 1 else f"its x{scale} result, {size},"
    pixels = out_height * out_width
    amount, limit = f"{pixels / 1e6:.1f} megapixels", f"{max_pixels / 1e6:g} megapixels"
    if max_pixels < 1_000_000 or f"{pixels / 1e6:.1f}" == f"{max_pixels / 1e6:.1f}":
        amount, limit = f"{pixels} pixels", f"{max_pixels} pixels"  # megapixels would blur it
    return f"{what} is {amount}, above the limit of {limit}"


@contextmanager
def opening_unchecked() -> Iterator[None]:
    """Within the block (opening a file's header), Pillow's own pixel limit is lifted.

    For callers that check the size themselves, right after: Pillow would otherwise warn or
    refuse in its own words first. Keep the block short (it holds a lock): open, nothing else.
    """
    with _PILLOW_LIMIT_LOCK:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


@contextmanager
def pillow_pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """Within the block, Pillow's decompression-bomb limit is ``max_pixels`` (None: none).

    For code that decodes through Pillow directly (``read_image`` without ``max_pixels``).
    The setting is process-wide: change it from the program's main thread only.
    """
    with _PILLOW_LIMIT_LOCK:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        yield
    finally:
        with _PILLOW_LIMIT_LOCK:
            Image.MAX_IMAGE_PIXELS = previous
