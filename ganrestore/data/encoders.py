"""Pixels to the bytes of an image file: 16-bit PNG and TIFF here, the rest through Pillow.

Pillow cannot write 16-bit colour, nor a compressed TIFF with an Exif directory; OpenCV neither
writes 16-bit gray+alpha nor carries metadata. So ``write_image`` encodes those files here: a
PNG is a handful of chunks around zlib-compressed rows (Sub filter), a TIFF one directory
(built by Pillow) before Deflate-compressed strips (horizontal predictor). Both are read by
Pillow, OpenCV and libtiff.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, TiffImagePlugin

from ganrestore.data.metadata import (
    ICC_PROFILE_TAG,
    LAYOUT_TAGS,
    ORIENTATION_TAG,
    ImageMetadata,
    icc_fits,
    pillow_options,
    sized,
)

_ALPHA_FORMATS = frozenset({"PNG", "TIFF", "WEBP"})
_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> gray, gray+alpha, RGB, RGBA
_STRIP_BYTES = 1 << 20
#: zlib level: 1, as OpenCV's PNG default; the filters make the files small already (a 12 MP
#: 8-bit TIFF: 1.2 s and 9 MB, where Pillow's LZW took 2 s for 30 MB).
_LEVEL = 1
_EXIF_SUB_DIRECTORIES = (0x8769, 0x8825)


def _colour_channels(channels: int) -> int:
    return 1 if channels <= 2 else 3


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png16(values: np.ndarray, metadata: ImageMetadata | None = None) -> bytes:
    """A 16-bit PNG of ``values``.

    Args:
        values: ``(H, W, C)`` uint16; C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
        metadata: EXIF (an ``eXIf`` chunk), ICC profile (``iCCP``) and resolution (``pHYs``)
            to keep, or None.
    """
    height, width, channels = values.shape
    header = struct.pack(">IIBBBBB", width, height, 16, _PNG_COLOUR_TYPES[channels], 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", header)]
    metadata = metadata or ImageMetadata()
    if icc_fits(metadata.icc_profile, _colour_channels(channels)):
        profile = zlib.compress(metadata.icc_profile)  # type: ignore[arg-type]
        chunks.append(_png_chunk(b"iCCP", b"ICC profile\0\0" + profile))
    if metadata.exif:
        exif = metadata.exif
        chunks.append(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    if metadata.dpi is not None:
        per_metre = (round(value / 0.0254) for value in metadata.dpi)
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    raw = np.ascontiguousarray(values, dtype=">u2").view(np.uint8).reshape(height, -1)
    step = 2 * channels  # bytes per pixel: the Sub filter subtracts the pixel on the left
    filtered = raw.copy()
    filtered[:, step:] -= raw[:, :-step]
    rows = np.concatenate([np.ones((height, 1), np.uint8), filtered], axis=1)  # filter type 1
    chunks.append(_png_chunk(b"IDAT", zlib.compress(rows.tobytes(), _LEVEL)))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def encode_tiff(values: np.ndarray, metadata: ImageMetadata | None = None) -> bytes:
    """An 8- or 16-bit TIFF of ``values`` (little-endian, Deflate with horizontal predictor).

    Args:
        values: ``(H, W, C)`` uint8 or uint16; C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (alpha
            is stored unassociated, as it was read). 16-bit gray+alpha is stored as RGBA with
            the gray repeated: Pillow (hence ganrestore) cannot open a 16-bit gray+alpha TIFF.
        metadata: EXIF (its tags, and its Exif and GPS directories), ICC profile and resolution
            (where the EXIF has none), or None.
    """
    if values.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"a TIFF is written from uint8 or uint16 values, not {values.dtype}")
    if values.dtype == np.uint16 and values.shape[2] == 2:
        values = values[..., [0, 0, 0, 1]]
    height, width, channels = values.shape
    differences = values.copy()
    differences[:, 1:] -= values[:, :-1]  # wraps around, as TIFF expects
    rows_per_strip = max(1, _STRIP_BYTES // (width * channels * values.itemsize))
    little_endian = differences.astype(values.dtype.newbyteorder("<"))
    strips = [
        zlib.compress(little_endian[top : top + rows_per_strip].tobytes(), _LEVEL)
        for top in range(0, height, rows_per_strip)
    ]
    sizes = [len(strip) for strip in strips]
    metadata = metadata or ImageMetadata()
    layout = (width, height, channels, values.itemsize, rows_per_strip, sizes)
    header = b"II*\0" + struct.pack("<I", 8)
    try:
        directory = _tiff_directory(*layout, metadata).tobytes(8)
    except Exception:  # an EXIF tag Pillow cannot write into a TIFF: the pixels matter more
        kept = ImageMetadata(None, metadata.icc_profile, metadata.dpi)
        directory = _tiff_directory(*layout, kept).tobytes(8)
    return header + directory + b"".join(strips)


def _tiff_directory(
    width: int,
    height: int,
    channels: int,
    itemsize: int,
    rows_per_strip: int,
    sizes: list[int],
    metadata: ImageMetadata,
) -> TiffImagePlugin.ImageFileDirectory_v2:
    """The one directory of a TIFF whose strips of ``sizes`` bytes follow it."""
    directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if metadata.exif:
        exif = Image.Exif()
        exif.load(metadata.exif)
        for tag, value in exif.items():
            if tag not in LAYOUT_TAGS:
                directory[tag] = exif.get_ifd(tag) if tag in _EXIF_SUB_DIRECTORIES else value
        if ORIENTATION_TAG in directory:
            directory[ORIENTATION_TAG] = 1
    if icc_fits(metadata.icc_profile, _colour_channels(channels)):
        directory[ICC_PROFILE_TAG] = metadata.icc_profile
    if metadata.dpi is not None and not {282, 283} & set(directory):
        directory[282], directory[283] = metadata.dpi  # XResolution, YResolution
        directory[296] = 2  # in inches
    directory[256], directory[257] = width, height
    directory[258] = (8 * itemsize,) * channels
    directory[259] = 8  # Deflate
    directory[262] = 1 if channels <= 2 else 2  # BlackIsZero / RGB
    directory[277] = channels
    directory[278] = rows_per_strip
    directory[279] = tuple(sizes)
    # Pillow adds the end of the directory to these: the strips follow it.
    directory[273] = tuple(int(offset) for offset in np.cumsum([0, *sizes[:-1]]))
    directory[284] = 1  # pixels interleaved
    directory[317] = 2  # horizontal predictor
    if channels in (2, 4):
        directory[338] = 2  # unassociated alpha
    return directory


def _quantize(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float in [0, 1] -> uint8/uint16, clipped and rounded to the nearest level."""
    top = 255 if bit_depth == 8 else 65535
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.rint(np.clip(values, 0.0, 1.0) * top).astype(dtype)


def encode_image(
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    bit_depth: int,
    file_format: str,
    quality: int,
    metadata: ImageMetadata | None = None,
) -> bytes:
    """``(H, W, C)`` float pixels in [0, 1] (and ``(H, W)`` alpha, metadata) -> a file's bytes.

    ``file_format`` is a Pillow name (PNG, JPEG, WEBP, TIFF, BMP); alpha is dropped by formats
    without it, and ``bit_depth`` 16 is honoured by PNG and TIFF only.
    """
    if file_format not in _ALPHA_FORMATS:
        alpha = None
    metadata = sized(metadata, *pixels.shape[:2])
    channels = pixels if alpha is None else np.concatenate([pixels, alpha[..., None]], axis=2)
    if file_format == "TIFF":
        return encode_tiff(_quantize(channels, bit_depth), metadata)
    if bit_depth == 16 and file_format == "PNG":
        return encode_png16(_quantize(channels, 16), metadata)
    values = _quantize(channels, 8)
    if file_format == "WEBP" and values.shape[2] <= 2:  # WebP has no gray modes
        values = values[..., [0, 0, 0, 1][: values.shape[2] + 2]]
    image = Image.fromarray(values[..., 0] if values.shape[2] == 1 else values)  # L/LA/RGB/RGBA
    options = {"JPEG": {"quality": quality, "subsampling": 0}, "WEBP": {"quality": quality}}
    kept = pillow_options(metadata, file_format, 1 if values.shape[2] <= 2 else 3)
    buffer = io.BytesIO()
    image.save(buffer, format=file_format, **options.get(file_format, {}), **kept)
    return buffer.getvalue()
