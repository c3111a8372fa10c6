"""Image files <-> arrays: reading, checking and writing image files.

Arrays at this boundary are ``(H, W, C)`` float32 in ``[0, 1]`` (``docs/conventions.md``).
Pillow decodes almost everything; OpenCV decodes 16-bit multichannel PNG/TIFF, which Pillow
would truncate to 8 bits; :mod:`.encoders` turns pixels into the bytes of every written file.
EXIF orientation is applied on read, so ``read_image`` returns pixels the way a viewer shows
them and ``image_size`` agrees; EXIF and ICC profile are kept, files of several pictures
refused. ``read_image(path, max_pixels=N)`` refuses a file whose header says it has more than
``N`` pixels before decoding any (:mod:`.pixel_limit`), from the same open file it decodes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps

from ganrestore.data.atomic import write_atomically
from ganrestore.data.encoders import encode_image
from ganrestore.data.metadata import (
    ImageMetadata,
    header_exif,
    read_metadata,
    several_pictures,
    upright_exif,
)
from ganrestore.data.pixel_limit import DEFAULT_MAX_PIXELS as DEFAULT_MAX_PIXELS
from ganrestore.data.pixel_limit import opening_unchecked, over_limit
from ganrestore.data.pixel_limit import pillow_pixel_limit as pillow_pixel_limit
from ganrestore.data.tiff_header import THIRTY_TWO_BIT, unidentified_reason
from ganrestore.errors import GanrestoreError

_FORMAT_BY_SUFFIX = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_FORMAT_BY_SUFFIX |= {".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
IMAGE_SUFFIXES: frozenset[str] = frozenset(_FORMAT_BY_SUFFIX)
#: The suffixes as messages name them: ``".bmp, .jpeg, .jpg, .png, .tif, .tiff, .webp"``.
IMAGE_SUFFIX_LIST = ", ".join(sorted(IMAGE_SUFFIXES))
# Pillow plugin names we accept, and the name we report for each.
_FORMAT_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WEBP", "TIFF": "TIFF"}
_FORMAT_NAMES |= {"BMP": "BMP", "DIB": "BMP"}
_ORIENTATION_TAG = 0x0112


class ImageReadError(GanrestoreError):
    """An image file that cannot be read; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            f"cannot read image {self.path}: {reason}; "
            "re-export or replace the file, or remove it from the folder"
        )


class ImageTooLargeError(ImageReadError):
    """An image with more pixels than the limit it was read with; nothing was decoded.

    ``reason`` reads ``"20000x10000 is 200.0 megapixels, above the limit of 100 megapixels"``:
    callers add which option raises the limit.
    """

    def __init__(self, path: Path | str, reason: str, size: tuple[int, int]) -> None:
        super().__init__(path, reason)
        self.size = size
        self.args = (f"image {self.path} is not decoded: {reason}",)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image file, already turned upright by its EXIF orientation.

    Attributes:
        path: The file it came from.
        pixels: ``(H, W, C)`` float32 in ``[0, 1]``; ``C`` is 1 (gray) or 3 (RGB).
        alpha: ``(H, W)`` float32 in ``[0, 1]`` or None when the file has no alpha channel.
        bit_depth: Bits per channel in the file, 8 or 16.
        format: ``"PNG"``, ``"JPEG"``, ``"WEBP"``, ``"TIFF"`` or ``"BMP"``.
        metadata: its EXIF (orientation set to 1, as the pixels are upright) and ICC profile,
            to pass to ``write_image``.
    """

    path: Path
    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    format: str
    metadata: ImageMetadata = field(default_factory=ImageMetadata)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_grayscale(self) -> bool:
        return self.pixels.shape[2] == 1


def format_for_name(name: str | Path) -> str | None:
    """The format a file of this name is written in, by its suffix (``"a.png"``: ``"PNG"``,
    whatever the file held when read), or None for a suffix we do not write."""
    return _FORMAT_BY_SUFFIX.get(Path(name).suffix.lower())


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (by suffix, any case), sorted, hidden files and folders skipped.

    Raises:
        NotADirectoryError: ``folder`` is not an existing folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    found = [
        path
        for path in candidates
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    ]
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


@contextmanager
def _reading(path: Path, max_pixels: int | None = None) -> Iterator[tuple[Image.Image, BinaryIO]]:
    """Opens ``path`` with Pillow (header only); any failure inside becomes ImageReadError.

    Yields the image and its open file, which every later read of the file must use (a file
    replaced meanwhile is not read twice). ``max_pixels``: refuse a larger image here, before
    anything is decoded, with Pillow's own limit lifted (0: no limit; None: Pillow's applies).
    """
    if not path.is_file():
        raise ImageReadError(path, "not a file" if path.exists() else "file not found")
    Image.init()  # registers every plugin (cheap once done); MPO is opened by the JPEG plugin
    openers = [name for name in _FORMAT_NAMES if name in Image.OPEN]
    try:
        with path.open("rb") as file:
            try:
                with nullcontext() if max_pixels is None else opening_unchecked():
                    opened = Image.open(file, formats=openers)
            except Image.UnidentifiedImageError:  # why, from the header of this very file
                raise ImageReadError(path, unidentified_reason(file)) from None
            with opened as image:
                several = several_pictures(image)
                if several is not None:
                    raise ImageReadError(path, several)
                height, width = _upright_size(image)
                too_large = over_limit(height, width, max_pixels)
                if too_large is not None:
                    raise ImageTooLargeError(path, too_large, (height, width))
                yield image, file
    except ImageReadError:
        raise
    except Exception as error:
        raise ImageReadError(path, _decode_failure(error)) from error


#: Pillow's words (lower case) for a file whose data ends early or does not decode.
_DAMAGED_SIGNS = ("truncated", "broken data stream", "could not create decoder", "decoder error")


def _decode_failure(error: Exception) -> str:
    """The reason for a failed decode, with what to do when the file itself is damaged."""
    reason = f"{type(error).__name__}: {error}"
    if any(sign in str(error).lower() for sign in _DAMAGED_SIGNS):
        reason += ": the file is incomplete or damaged (cut short while copying?); copy it again"
    return reason


def _header_orientation(image: Image.Image) -> int:
    """EXIF orientation (1-8) from metadata available without decoding pixels."""
    if image.format == "TIFF":
        return int(image.tag_v2.get(_ORIENTATION_TAG, 1))
    exif = header_exif(image)
    orientation = 1 if exif is None else exif.get(_ORIENTATION_TAG, 1)
    return int(orientation) if orientation in range(1, 9) else 1


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """``(H, W)`` once the EXIF orientation is applied, from the header only."""
    width, height = image.size
    if image.format == "TIFF":  # newer Pillow reports a TIFF's size already rotated
        width, height = int(image.tag_v2[256]), int(image.tag_v2[257])
    return (width, height) if _header_orientation(image) >= 5 else (height, width)


def image_size(path: Path) -> tuple[int, int]:
    """``(H, W)`` of an image as ``read_image`` returns it, from the file header only.

    A 90° EXIF orientation (5-8) swaps height and width. Nothing is decoded, so Pillow's own
    pixel limit does not apply: the caller compares the size with its own.

    Raises:
        ImageReadError: the file is missing or its header cannot be parsed.
    """
    with _reading(Path(path), max_pixels=0) as (image, _):
        refused = _thirty_two_bit(image)
        if refused is not None:  # read_image refuses it: the header says so already
            raise ImageReadError(path, refused)
        return _upright_size(image)


def _is_sixteen_bit_gray(image: Image.Image) -> bool:
    """Whether Pillow opened 16-bit gray (``I;16...``, or mode ``I`` for a 16-bit PNG)."""
    return image.mode.startswith("I;16") or (image.mode == "I" and image.format == "PNG")


def _thirty_two_bit(image: Image.Image) -> str | None:
    """Why an opened file's pixels are not read (32-bit float or integer), or None."""
    if image.mode in ("I", "F") and not _is_sixteen_bit_gray(image):
        return THIRTY_TWO_BIT.format(kind="float" if image.mode == "F" else "integer")
    return None


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turns ``(H, W, ...)`` pixels upright for an EXIF orientation value (1-8)."""
    if orientation in (5, 6, 7, 8):
        array = np.swapaxes(array, 0, 1)  # transpose, then the flips below
    flips = {2: (1,), 3: (0, 1), 4: (0,), 6: (1,), 7: (0, 1), 8: (0,)}.get(orientation, ())
    return np.ascontiguousarray(np.flip(array, flips) if flips else array)


def _sixteen_bit_layout(path: Path, image: Image.Image, file: BinaryIO) -> tuple[int, bool] | None:
    """``(channels, has_alpha)`` when the file is 16-bit multichannel (Pillow would truncate it)."""
    if image.format == "PNG":
        header = _bytes_of(file, 26)
        if len(header) < 26 or header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
            return None
        bit_depth, color_type = struct.unpack(">BB", header[24:26])
        layouts = {2: (3, False), 4: (1, True), 6: (3, True)}
        return layouts.get(color_type) if bit_depth == 16 else None
    if image.format != "TIFF":
        return None
    bits, samples = image.tag_v2.get(258, (8,)), int(image.tag_v2.get(277, 1))
    depth = max(bits) if isinstance(bits, tuple) else int(bits)
    if samples == 1 or depth <= 8:
        return None
    if depth != 16:
        raise ImageReadError(path, f"{depth}-bit TIFF; convert it to 8 or 16 bits")
    return (1, True) if samples == 2 else (3, samples >= 4)


def _swap_red_blue(values: np.ndarray) -> np.ndarray:
    """RGB(A) <-> BGR(A), OpenCV's channel order; 1 or 2 channels pass through."""
    if values.shape[2] < 3:
        return values
    return np.concatenate([values[..., 2::-1], values[..., 3:]], axis=2)


def _upright_sixteen_bit(image: Image.Image, data: np.ndarray, orientation: int) -> np.ndarray:
    """Turns OpenCV's ``(H, W, K)`` decode upright.

    OpenCV 5 orients TIFFs itself (even when told not to); older versions and PNGs do not.
    The header's upright size picks the reading, else closeness to Pillow's 8-bit decode.
    """
    candidates = [apply_orientation(data, orientation)]
    if orientation != 1:
        candidates.append(data)
    candidates = [c for c in candidates if c.shape[:2] == _upright_size(image)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else apply_orientation(data, orientation)
    image.load()
    reference = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), np.float32) / 255
    reference = reference.mean(axis=2)
    colour = slice(0, 3 if data.shape[2] >= 3 else 1)
    return min(candidates, key=lambda c: np.abs(c[..., colour].mean(axis=2) - reference).mean())


def _bytes_of(file: BinaryIO, count: int = -1) -> bytes:
    """The first ``count`` bytes of the open ``file`` (-1: all), its position kept for Pillow."""
    position = file.tell()
    file.seek(0)
    try:
        return file.read(count)
    finally:
        file.seek(position)


def _decode_sixteen_bit(
    path: Path, image: Image.Image, file: BinaryIO, channels: int, has_alpha: bool
):
    """Decodes 16-bit multichannel PNG/TIFF with OpenCV; returns upright (pixels, alpha).

    The bytes come from the file Pillow opened, whose header was checked (not from ``path``
    again, which may name another file by now).
    """
    data = cv2.imdecode(np.frombuffer(_bytes_of(file), np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None or data.dtype != np.uint16:
        raise ImageReadError(path, "the 16-bit pixel data could not be decoded (truncated?)")
    data = data.reshape(*data.shape[:2], -1).astype(np.float32) / 65535.0
    data = _upright_sixteen_bit(image, _swap_red_blue(data), _header_orientation(image))
    alpha = data[..., -1] if has_alpha and data.shape[2] in (2, 4) else None
    pixels = data[..., :1] if channels == 1 else data[..., :3]
    return np.ascontiguousarray(pixels), None if alpha is None else np.ascontiguousarray(alpha)


def eight_bit_mode(image: Image.Image) -> str:
    """The mode an 8-bit Pillow image is read in: ``L``, ``LA``, ``RGB`` or ``RGBA``, with
    alpha whenever it has transparency (an alpha band, or a palette's or PNG's transparent
    colour); other colour spaces (CMYK, YCbCr, LAB...) become RGB."""
    mode = image.mode
    if "transparency" in image.info and mode in ("P", "L", "RGB"):
        return {"P": "RGBA", "L": "LA", "RGB": "RGBA"}[mode]
    kept = {"1": "L", "L": "L", "LA": "LA", "La": "LA", "PA": "RGBA", "RGBA": "RGBA"}
    return kept.get(mode, "RGBA" if mode == "RGBa" else "RGB")


def _pillow_to_arrays(path: Path, image: Image.Image):
    """Converts a loaded, upright Pillow image to (pixels, alpha, bit_depth)."""
    if _is_sixteen_bit_gray(image):
        values = np.asarray(image, dtype=np.float32)
        transparent = image.info.get("transparency")  # a PNG's one transparent gray level
        alpha = (values != transparent).astype(np.float32) if type(transparent) is int else None
        return values[..., None] / 65535.0, alpha, 16
    refused = _thirty_two_bit(image)
    if refused is not None:
        raise ImageReadError(path, refused)
    mode = eight_bit_mode(image)
    values = np.asarray(image.convert(mode), dtype=np.float32) / 255.0
    values = values.reshape(*values.shape[:2], -1)
    has_alpha = mode in ("LA", "RGBA")
    pixels = values[..., :-1] if has_alpha else values
    alpha = values[..., -1] if has_alpha else None
    return np.ascontiguousarray(pixels), alpha, 8


def read_image(path: Path, max_pixels: int | None = None) -> DecodedImage:
    """Decodes an image file, applying its EXIF orientation.

    Handles 8- and 16-bit gray, gray+alpha, RGB, RGBA and palette images in PNG, JPEG, WebP,
    TIFF and BMP files. Returns pixels ``(H, W, 1 or 3)`` float32 in ``[0, 1]`` and alpha
    ``(H, W)`` (or None).

    Args:
        path: the file.
        max_pixels: refuse an image with more pixels (height x width, read from the header of
            the very file then decoded) before decoding it; 0: no limit; None: Pillow's own
            limit applies (a warning above about 89 megapixels, an error above twice that).

    Raises:
        ImageTooLargeError: above ``max_pixels`` (nothing decoded).
        ImageReadError: the file is missing, truncated, corrupt or of an unsupported kind.
    """
    path = Path(path)
    with _reading(path, max_pixels) as (image, file):
        file_format = _FORMAT_NAMES[image.format or ""]
        layout = _sixteen_bit_layout(path, image, file)
        if layout is not None:
            pixels, alpha = _decode_sixteen_bit(path, image, file, *layout)
            exif = upright_exif(header_exif(image))
            metadata = read_metadata(image, exif, pixels.shape[2])
            return DecodedImage(path, pixels, alpha, 16, file_format, metadata)
        exif = upright_exif(image.getexif())  # before load(), which closes a TIFF's file
        image.load()
        pixels, alpha, bit_depth = _pillow_to_arrays(path, ImageOps.exif_transpose(image))
        metadata = read_metadata(image, exif, pixels.shape[2])
    return DecodedImage(path, pixels, alpha, bit_depth, file_format, metadata)


def read_mask(
    path: Path, size: tuple[int, int] | None = None, max_pixels: int | None = None
) -> np.ndarray:
    """Reads a hole mask ``(H, W)`` float32 in {0, 1}: white (brightest channel > 127) = hole.

    Alpha is ignored. A mask whose size differs from ``size`` ``(H, W)`` is resized with
    nearest neighbour (the caller should warn about it). ``max_pixels``: as for
    :func:`read_image`, the mask file's own pixels. Raises ImageReadError.
    """
    pixels = read_image(path, max_pixels).pixels
    mask = (pixels.max(axis=2) > 127.5 / 255.0).astype(np.float32)
    if size is not None and mask.shape != tuple(size):
        height, width = size
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    return mask


def write_image(
    path: Path,
    pixels: np.ndarray,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    format: str | None = None,
    quality: int = 95,
    overwrite: bool = True,
    metadata: ImageMetadata | None = None,
) -> None:
    """Writes an image file atomically: a crash never leaves a truncated image behind.

    The file is encoded in memory, written to a hidden temporary file in the same folder and
    renamed over ``path``; parent folders are created.
    See :mod:`ganrestore.data.atomic`.

    Args:
        path: Destination; its suffix gives the format unless ``format`` is given.
        pixels: ``(H, W, C)`` or ``(H, W)`` float, C = 1 or 3; clipped to ``[0, 1]``, rounded.
        alpha: ``(H, W)`` float in ``[0, 1]``, kept by PNG, TIFF and WebP, dropped otherwise.
        bit_depth: 8 or 16; 16 is honoured by PNG and TIFF, other formats get 8 bits.
        format: ``"PNG"``, ``"JPEG"``, ``"WEBP"``, ``"TIFF"`` or ``"BMP"``.
        quality: JPEG/WebP quality (JPEG is written with 4:4:4 chroma).
        overwrite: replace an existing ``path``; when False, a file that exists at the moment
            of writing is left alone (checked atomically, not beforehand).
        metadata: EXIF and ICC profile to write (``DecodedImage.metadata``; not in BMP files).

    Raises:
        ValueError: bad shapes, non-finite values or an unknown format (nothing written).
        OutputExistsError: ``overwrite`` is False and ``path`` exists (nothing written).
        OSError: the encoder or the file system failed (the target is left as it was).
    """
    path = Path(path)
    file_format = (format or format_for_name(path) or "").upper()
    if file_format not in _FORMAT_BY_SUFFIX.values():
        raise ValueError(
            f"unknown image format for {path}: use one of {IMAGE_SUFFIX_LIST} or format="
        )
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    pixels = np.asarray(pixels, dtype=np.float32)
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"pixels must be (H, W, 1) or (H, W, 3), got {pixels.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha, dtype=np.float32)
        if alpha.shape != pixels.shape[:2]:
            raise ValueError(f"alpha must be {pixels.shape[:2]}, got {alpha.shape}")
    if not np.isfinite(pixels).all() or (alpha is not None and not np.isfinite(alpha).all()):
        raise ValueError(f"refusing to write {path}: the pixels contain NaN or infinity")
    data = encode_image(pixels, alpha, bit_depth, file_format, quality, metadata)
    write_atomically(path, data, overwrite=overwrite)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` array -> ``(C, H, W)`` float32 tensor (a copy)."""
    if array.ndim != 3:
        raise ValueError(f"expected an (H, W, C) array, got shape {array.shape}")
    return torch.from_numpy(np.array(array.transpose(2, 0, 1), dtype=np.float32, order="C"))


def to_array(tensor: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` tensor (any device) -> ``(H, W, C)`` float32 array."""
    if tensor.ndim != 3:
        raise ValueError(f"expected a (C, H, W) tensor, got shape {tuple(tensor.shape)}")
    array = tensor.detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(array)
