"""What an image file holds besides one picture's pixels: EXIF, ICC colour profile, more pictures.

``read_image`` keeps EXIF and the ICC profile and ``write_image`` writes them back (JPEG, PNG,
WebP and TIFF; BMP carries neither), so a restored photo keeps its camera, date and colours.
Pixels are stored upright, hence a written EXIF orientation is always 1. A TIFF's own layout
tags (size, strips, compression...) are not metadata: they are left out, the encoder writes its
own.

A file of several pictures (an animation, a multi-page TIFF) is refused by ``read_image``:
restoring the first and dropping the others would lose them without a word.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from PIL import Image

ORIENTATION_TAG = 0x0112
ICC_PROFILE_TAG = 34675
#: TIFF tags that describe how the pixels are laid out in the file, not the photo: never copied.
LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284}
    | {288, 289, 290, 291, 317, 320, 322, 323, 324, 325, 330, 338, 339, 340, 341, 347}
    | {513, 514, 529, 530, 532, ICC_PROFILE_TAG, 37724}
)
_PNG_EXIF_KEYS = ("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp")
_IFD_EXIF = 0x8769
_IFD_POINTERS = frozenset({_IFD_EXIF, 0x8825})  # the Exif and GPS sub-directories
#: ICC colour space signature (header bytes 16-20) that fits 1 and 3 colour channels.
_ICC_SPACES = {1: b"GRAY", 3: b"RGB "}


@dataclass(frozen=True)
class ImageMetadata:
    """EXIF, ICC profile and resolution of an image file, ready to write back.

    Attributes:
        exif: an EXIF block (``b"Exif\\0\\0"`` + TIFF structure, as ``Image.Exif.tobytes``
            writes it) with orientation 1 when the file had one, or None.
        icc_profile: the ICC profile, or None.
        dpi: the print resolution ``(x, y)`` in dots per inch (PNG ``pHYs``, JPEG ``JFIF``,
            TIFF resolution tags), or None when the file gives none.
    """

    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None


def several_pictures(image: Image.Image) -> str | None:
    """Why an open file cannot be restored as one picture (it holds several), or None.

    A JPEG's extra pictures (MPO: previews, depth maps) and a TIFF's reduced-resolution pages
    (thumbnails) are not pictures of their own and are accepted.
    """
    frames = getattr(image, "n_frames", 1) if image.format != "MPO" else 1
    if frames > 1 and image.format == "TIFF":
        pages = 0
        for index in range(frames):
            image.seek(index)
            pages += not int(image.tag_v2.get(254, 0)) & 1  # NewSubfileType bit 0: thumbnail
        image.seek(0)
        frames = pages
    if frames <= 1:
        return None
    kind = f"animated image with {frames} frames"
    if image.format == "TIFF":
        kind = f"multi-page TIFF with {frames} pages"
    return (
        f"{kind}; only still images are supported: save the frame or page to restore as a "
        "PNG, JPEG or TIFF file of its own"
    )


def header_exif(image: Image.Image) -> Image.Exif | None:
    """An open file's EXIF when it can be read without decoding the pixels, else None."""
    if image.format == "PNG" and not any(key in image.info for key in _PNG_EXIF_KEYS):
        return None  # Pillow would decode the whole PNG to look for an eXIf after the pixels
    return image.getexif()


def read_metadata(image: Image.Image, exif: bytes | None, channels: int) -> ImageMetadata:
    """The metadata of an open file whose pixels are read upright with ``channels`` channels.

    Args:
        image: the opened file (Pillow); its ICC profile is taken from its header.
        exif: its EXIF from :func:`upright_exif`.
        channels: colour channels of the decoded pixels (1 or 3); a profile for another
            colour space (e.g. CMYK, whose pixels are converted to RGB) is dropped.
    """
    profile = image.info.get("icc_profile")
    profile = profile if isinstance(profile, bytes) and icc_fits(profile, channels) else None
    return ImageMetadata(exif, profile, file_dpi(image))


def file_dpi(image: Image.Image) -> tuple[float, float] | None:
    """The print resolution an open file states, ``(x, y)`` dots per inch, or None."""
    dpi = image.info.get("dpi")
    try:
        x, y = (float(value) for value in dpi)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return (x, y) if all(math.isfinite(v) and v > 0 for v in (x, y)) else None


def icc_fits(profile: bytes | None, channels: int) -> bool:
    """Whether an ICC profile describes pixels with ``channels`` colour channels (1 or 3)."""
    return profile is not None and profile[16:20] == _ICC_SPACES.get(channels)


def upright_exif(exif: Image.Exif | None) -> bytes | None:
    """EXIF bytes without TIFF layout tags, with orientation 1 (pixels are read upright).

    Call it before the pixels are decoded: Pillow closes a TIFF file once its pixels are read,
    and the Exif and GPS directories are read from the file when asked for.
    """
    if exif is None:
        return None
    kept = Image.Exif()
    for tag, value in exif.items():
        if tag not in LAYOUT_TAGS:
            kept[tag] = exif.get_ifd(tag) if tag in _IFD_POINTERS else value
    if ORIENTATION_TAG in kept:
        kept[ORIENTATION_TAG] = 1
    try:
        return kept.tobytes() if len(kept) else None
    except Exception:  # a tag Pillow read but cannot write back: keep the main directory
        for tag in _IFD_POINTERS:
            kept.pop(tag, None)
        return kept.tobytes() if len(kept) else None


#: EXIF's own record of the image size (PixelXDimension, PixelYDimension), in its Exif IFD.
_EXIF_WIDTH, _EXIF_HEIGHT = 0xA002, 0xA003


def sized(metadata: ImageMetadata | None, height: int, width: int) -> ImageMetadata | None:
    """``metadata`` for an image of ``height x width``: the size EXIF records (an upscaled
    photo's EXIF would still give the camera's size) is set to it; all else as it is."""
    if metadata is None or not metadata.exif:
        return metadata
    try:
        exif = Image.Exif()
        exif.load(metadata.exif)
        details = exif.get_ifd(_IFD_EXIF)
        if not {_EXIF_WIDTH, _EXIF_HEIGHT} & set(details):
            return metadata
        if (details.get(_EXIF_WIDTH), details.get(_EXIF_HEIGHT)) == (width, height):
            return metadata
        details[_EXIF_WIDTH], details[_EXIF_HEIGHT] = width, height
        return dataclasses.replace(metadata, exif=exif.tobytes())
    except Exception:  # EXIF Pillow cannot rewrite: kept as it was, the pixels matter more
        return metadata


def pillow_options(
    metadata: ImageMetadata | None, file_format: str, channels: int
) -> dict[str, object]:
    """``Image.save`` options that write ``metadata`` into a ``file_format`` file.

    Args:
        metadata: what to keep, or None.
        file_format: ``"PNG"``, ``"JPEG"``, ``"WEBP"``, ``"TIFF"`` or ``"BMP"`` (keeps nothing).
        channels: colour channels written (1 or 3), to keep only a profile that fits them.
    """
    if metadata is None or file_format == "BMP":
        return {}
    options: dict[str, object] = {}
    if metadata.exif:
        options["exif"] = metadata.exif
    if icc_fits(metadata.icc_profile, channels):
        options["icc_profile"] = metadata.icc_profile
    if metadata.dpi is not None and file_format in ("PNG", "JPEG"):
        options["dpi"] = metadata.dpi
    return options
