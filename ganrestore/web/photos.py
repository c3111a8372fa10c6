"""The photos open on the page: each one a list of versions (the original, then each result).

A result becomes the input of the next restoration, and undo on the page goes back to an
earlier version, so versions are kept, as integers of the file's bit depth (``uint8`` or
``uint16``): exactly what a download of that version holds, at a quarter (or half) of the
memory of floats. The original and the newest version are always kept; a photo keeps at most
:data:`MAX_VERSIONS`, and the store at most :data:`MAX_PHOTOS` photos (the least recently used
goes, and more go when the memory budget needs room: :mod:`.budget`): a 12 MP 8-bit photo takes
36 MB a version. A photo a request or a restoration is working on is pinned: it stays open.
"""

from __future__ import annotations

import io
import secrets
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ganrestore.data.encoders import encode_image
from ganrestore.data.metadata import ImageMetadata
from ganrestore.web.errors import NotFound

MAX_VERSIONS = 8
MAX_PHOTOS = 4
_TOP = {8: 255, 16: 65535}


def quantize(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """Floats in [0, 1] -> ``uint8`` (8 bits) or ``uint16`` (16), clipped and rounded."""
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.rint(np.clip(values, 0.0, 1.0) * _TOP[bit_depth]).astype(dtype)


@dataclass(frozen=True)
class Version:
    """One state of a photo.

    Attributes:
        number: its number, counted from 0 (the original) per photo, never reused.
        pixels: ``(H, W, C)`` uint8 / uint16, C = 1 (gray) or 3.
        alpha: ``(H, W)`` of the same dtype, or None.
    """

    number: int
    pixels: np.ndarray
    alpha: np.ndarray | None

    def float_pixels(self) -> np.ndarray:
        """``(H, W, C)`` float32 in [0, 1]."""
        return self.pixels.astype(np.float32) / np.float32(np.iinfo(self.pixels.dtype).max)

    def float_alpha(self) -> np.ndarray | None:
        """``(H, W)`` float32 in [0, 1], or None."""
        if self.alpha is None:
            return None
        return self.alpha.astype(np.float32) / np.float32(np.iinfo(self.alpha.dtype).max)


@dataclass
class Photo:
    """A photo being edited.

    Attributes:
        id: a random token naming it in URLs.
        name: its file name (the ``--in`` name, or the upload's, made safe).
        source: its file in ``--in``, or None for an upload.
        format: ``"PNG"``, ``"JPEG"``, ``"WEBP"``, ``"TIFF"`` or ``"BMP"``: written back as such.
        bit_depth: 8 or 16, written back as such.
        metadata: its EXIF and ICC profile, written back.
        holes: ``(H, W)`` float32 {0, 1} found with it (sidecar mask or transparent pixels), or
            None: the page starts from this mask.
        mask_source: where ``holes`` came from, for the page.
        versions: the versions kept, oldest first.
    """

    id: str
    name: str
    source: Path | None
    format: str
    bit_depth: int
    metadata: ImageMetadata
    holes: np.ndarray | None = None
    mask_source: str = ""
    versions: list[Version] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def latest(self) -> Version:
        return self.versions[-1]

    @property
    def nbytes(self) -> int:
        """Bytes of its versions and found mask."""
        with self._lock:
            arrays = [self.holes] + [a for v in self.versions for a in (v.pixels, v.alpha)]
        return sum(a.nbytes for a in arrays if a is not None)

    def version(self, number: int) -> Version:
        """The version ``number``.

        Raises:
            NotFound: it never existed, or was dropped to save memory.
        """
        with self._lock:
            for version in self.versions:
                if version.number == number:
                    return version
        raise NotFound(
            f"version {number} of {self.name} is not kept (at most {MAX_VERSIONS} are); "
            "continue from the latest one"
        )

    def add(self, pixels: np.ndarray, alpha: np.ndarray | None) -> Version:
        """Keep floats ``pixels`` ``(H, W, C)`` and ``alpha`` ``(H, W)`` as the newest version."""
        with self._lock:
            number = self.versions[-1].number + 1 if self.versions else 0
            version = Version(
                number,
                quantize(pixels, self.bit_depth),
                None if alpha is None else quantize(alpha, self.bit_depth),
            )
            self.versions.append(version)
            if len(self.versions) > MAX_VERSIONS:
                del self.versions[1]  # the original stays
            return version

    def describe(self) -> dict[str, object]:
        """What the page needs to know, as JSON."""
        height, width, channels = self.latest.pixels.shape
        return {
            "id": self.id,
            "name": self.name,
            "width": width,
            "height": height,
            "channels": channels,
            "alpha": self.latest.alpha is not None,
            "format": self.format,
            "bit_depth": self.bit_depth,
            "exif": self.metadata.exif is not None,
            "icc": self.metadata.icc_profile is not None,
            "mask": self.holes is not None,
            "mask_source": self.mask_source,
            "version": self.latest.number,
            "listed": self.source is not None,
        }


class PhotoStore:
    """The open photos by id, the least recently used closed beyond :data:`MAX_PHOTOS` or when
    the memory budget needs room (:meth:`make_room`); pinned photos stay open."""

    def __init__(self, capacity: int = MAX_PHOTOS) -> None:
        self.capacity = capacity
        self._photos: OrderedDict[str, Photo] = OrderedDict()
        self._pins: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, photo: Photo) -> Photo:
        with self._lock:
            self._photos[photo.id] = photo
            unpinned = [key for key in self._photos if not self._pins[key] and key != photo.id]
            for key in unpinned[: max(0, len(self._photos) - self.capacity)]:
                del self._photos[key]
        return photo

    def get(self, photo_id: str) -> Photo:
        """Raises NotFound for an unknown (or closed) photo."""
        with self._lock:
            photo = self._photos.get(photo_id)
            if photo is None:
                raise NotFound("this photo is no longer open on the server; open it again")
            self._photos.move_to_end(photo_id)
            return photo

    def held_bytes(self) -> int:
        """Bytes the open photos hold (see :attr:`Photo.nbytes`)."""
        with self._lock:
            photos = list(self._photos.values())
        return sum(photo.nbytes for photo in photos)

    def make_room(self, nbytes: int) -> int:
        """Close the least recently used unpinned photos until ``nbytes`` are freed (or none is
        left to close); returns the bytes freed."""
        freed = 0
        with self._lock:
            for key in [key for key in self._photos if not self._pins[key]]:
                if freed >= nbytes:
                    break
                freed += self._photos.pop(key).nbytes
        return freed

    def pin(self, photo_id: str) -> None:
        """Keep the photo open until as many :meth:`unpin` calls."""
        with self._lock:
            self._pins[photo_id] += 1

    def unpin(self, photo_id: str) -> None:
        with self._lock:
            self._pins[photo_id] -= 1
            if self._pins[photo_id] <= 0:
                del self._pins[photo_id]


def new_id() -> str:
    return secrets.token_urlsafe(9)


def file_bytes(photo: Photo, version: Version, quality: int) -> bytes:
    """The file of ``version`` in the photo's format, bit depth, EXIF and ICC profile.

    The same bytes ``ganrestore apply`` writes for these pixels.
    """
    return encode_image(
        version.float_pixels(),
        version.float_alpha(),
        photo.bit_depth,
        photo.format,
        quality,
        photo.metadata,
    )


def preview_png(version: Version) -> bytes:
    """An 8-bit PNG of ``version`` for the browser to show (gray, gray+alpha, RGB or RGBA)."""
    values = version.pixels
    if values.dtype == np.uint16:
        values = (values >> 8).astype(np.uint8)
    if version.alpha is not None:
        alpha = version.alpha if version.alpha.dtype == np.uint8 else version.alpha >> 8
        values = np.concatenate([values, alpha.astype(np.uint8)[..., None]], axis=2)
    image = Image.fromarray(values[..., 0] if values.shape[2] == 1 else values)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def mask_png(holes: np.ndarray) -> bytes:
    """``(H, W)`` {0, 1} holes -> a gray PNG, white = hole."""
    buffer = io.BytesIO()
    Image.fromarray((holes > 0.5).astype(np.uint8) * 255).save(buffer, format="PNG")
    return buffer.getvalue()
