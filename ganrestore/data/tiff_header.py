"""Why Pillow cannot open a file, read from its header alone (no pixel is decoded).

Pillow does not open multichannel 32-bit TIFFs (float RGB, as scientific tools write them);
the reason given names them and says how to convert them. Only the first IFD's tags are read,
so even a huge file costs a few bytes: the reason is found before any limit could be needed.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

THIRTY_TWO_BIT = (
    "32-bit {kind} TIFF, which ganrestore does not read (it reads 8- and 16-bit images); "
    "convert it to a 16-bit TIFF or PNG first, e.g. `magick IN.tif -depth 16 OUT.tif`, or in "
    "Python: (numpy.clip(x, 0, 1) * 65535).round().astype(numpy.uint16) for floats in [0, 1]"
)
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_BITS_PER_SAMPLE, _SAMPLE_FORMAT = 258, 339
_FLOAT_FORMAT = 3
_SIZES = {3: 2, 4: 4}  # TIFF field types SHORT and LONG, in bytes


#: The first bytes of the formats ganrestore reads, other than TIFF, by name.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"RIFF", "WebP"),
    (b"BM", "BMP"),
)


def unidentified_reason(file: BinaryIO) -> str:
    """Why Pillow cannot open the file ``file`` (open, binary): an empty file, a damaged file of
    a format we read (by its first bytes), a 32-bit TIFF, or no image we read at all."""
    file.seek(0)
    head = file.read(8)
    if not head:
        return "empty file (0 bytes)"
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return f"damaged {name} file (its header cannot be read)"
    if head[:4] not in _TIFF_MAGIC:
        return "not a PNG, JPEG, WebP, TIFF or BMP image"
    sample = tiff_sample_type(file)
    if sample is not None and sample[0] >= 32:
        return THIRTY_TWO_BIT.format(kind="float" if sample[1] == _FLOAT_FORMAT else "integer")
    return "a TIFF whose layout or compression Pillow cannot decode; re-save it as 8 or 16 bits"


def tiff_sample_type(file: BinaryIO) -> tuple[int, int] | None:
    """``(bits per sample, sample format)`` of a classic TIFF's first image, or None.

    The sample format is 1 (unsigned), 2 (signed) or 3 (float); absent tags take the TIFF
    defaults (1 bit, unsigned). None: not a classic TIFF, or its header is cut short.
    """
    file.seek(0)
    head = file.read(8)
    if len(head) < 8 or head[:4] not in _TIFF_MAGIC:
        return None
    order = "<" if head[:2] == b"II" else ">"
    file.seek(struct.unpack(order + "I", head[4:])[0])
    count = file.read(2)
    if len(count) < 2:
        return None
    entries = file.read(12 * struct.unpack(order + "H", count)[0])
    found = {}
    for start in range(0, len(entries) - 11, 12):
        tag, kind, number, value = struct.unpack(order + "HHI4s", entries[start : start + 12])
        if tag in (_BITS_PER_SAMPLE, _SAMPLE_FORMAT) and kind in _SIZES and number >= 1:
            found[tag] = _first_value(file, order, _SIZES[kind], number, value)
    if any(value is None for value in found.values()):
        return None
    return found.get(_BITS_PER_SAMPLE) or 1, found.get(_SAMPLE_FORMAT) or 1


def _first_value(file: BinaryIO, order: str, size: int, number: int, value: bytes) -> int | None:
    """The first of a tag's ``number`` values: inline if they fit in 4 bytes, else at an offset."""
    code = order + ("H" if size == 2 else "I")
    if size * number > 4:
        file.seek(struct.unpack(order + "I", value)[0])
        value = file.read(size)
        if len(value) < size:
            return None
    return struct.unpack(code, value[:size])[0]
