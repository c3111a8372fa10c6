"""The memory ``ganrestore serve`` may use for pixels, and what each request costs of it.

The server holds the open photos (every kept version, as integers, and the mask found with
each) and, while requests run, the memory they work in: decoding a photo or a mask, encoding a
preview or a file, a restoration from its queueing to its end, and the bytes of an upload being
received. All of it counts against one budget (``--memory-mb``; by default half of this
machine's memory). Each request reserves its cost, estimated from the pixel count in the image
header, before it allocates anything:

* when the reservation does not fit, the least recently used open photos are closed (not the
  one the request is about, nor one a restoration is working on) until it does;
* when it still does not fit, the request is refused with ``429`` (other requests use the
  budget: wait for them, then try again); a request that could never fit, even alone, with
  ``413``.

The costs per pixel were measured on 12 MP photos (peak resident memory of the operation), and
rounded up: decoding 36-58 bytes a pixel (RGB, RGBA, 16-bit), encoding a file 36-64, a preview
7-49, a restoration 105-140 plus the network's working memory on one tile (about 0.7 GB for a
1024² tile of the bundled denoising model); a task that changes the size (upscaling) reserves
for the pixels of its output. The models themselves (loaded once) and the
Python process are not counted.
"""

from __future__ import annotations

import math
import os
import threading

from ganrestore.web.errors import Busy, TooLarge
from ganrestore.web.photos import PhotoStore

MB = 1_000_000
#: Bytes a pixel (of the image header) for decoding a photo or a mask and keeping it.
DECODE_BYTES_PER_PIXEL = 64
#: ... for encoding a download or a saved file (floats, then the encoder's buffers).
ENCODE_BYTES_PER_PIXEL = 64
#: ... for an 8-bit PNG preview.
PREVIEW_BYTES_PER_PIXEL = 48
#: ... for the PNG of a found mask.
MASK_PNG_BYTES_PER_PIXEL = 4
#: ... for a restoration: its input, output and masks as floats, and the tiles' blending.
JOB_BYTES_PER_PIXEL = 160
#: ... of the largest tile (:data:`JOB_TILE_PIXELS`) for the network's feature maps.
JOB_TILE_BYTES_PER_PIXEL = 800
JOB_TILE_PIXELS = 1024 * 1024
#: Fixed part of a restoration's cost (small photos: the network's own buffers).
JOB_FIXED_BYTES = 64 * MB
#: The default budget: this share of the machine's memory, at least :data:`MIN_DEFAULT`.
DEFAULT_SHARE = 0.5
MIN_DEFAULT = 1000 * MB


def default_budget() -> int:
    """Half of this machine's physical memory in bytes (at least 1000 MB; 4000 MB when the
    system does not say)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 4000 * MB
    return max(MIN_DEFAULT, int(total * DEFAULT_SHARE) // MB * MB)


def job_cost(pixels: int, scale: int = 1) -> int:
    """Estimated peak bytes of restoring a photo of ``pixels`` pixels with a task whose output is
    ``scale`` times as wide and high (an upscaling task): the cost of a restoration of the
    output's ``scale² · pixels`` pixels, which its floats, the tiles' blending and the network's
    last feature maps are the size of."""
    output = pixels * scale * scale
    tile = min(output, JOB_TILE_PIXELS)
    return JOB_FIXED_BYTES + JOB_BYTES_PER_PIXEL * output + JOB_TILE_BYTES_PER_PIXEL * tile


def megabytes(count: int) -> str:
    return f"{math.ceil(count / MB):,} MB"


class Reservation:
    """Bytes of the budget taken by one request, and the photo it keeps open, until
    :meth:`release` (or the end of a ``with`` block); releasing twice is harmless."""

    def __init__(self, budget: MemoryBudget, nbytes: int, photo_id: str | None) -> None:
        self._budget = budget
        self.nbytes = nbytes
        self.photo_id = photo_id
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._budget._give_back(self)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class MemoryBudget:
    """The bytes the server may hold and use at once: the open photos plus reservations.

    Args:
        limit: the budget in bytes (``--memory-mb``).
        photos: the open photos; the least recently used are closed to make room.
    """

    def __init__(self, limit: int, photos: PhotoStore | None = None) -> None:
        self.limit = limit
        self.photos = photos or PhotoStore()
        self._reserved = 0
        self._lock = threading.Lock()

    @property
    def reserved(self) -> int:
        """Bytes reserved by the requests in progress."""
        return self._reserved

    def in_use(self) -> int:
        """Bytes held by the open photos and reserved by the requests in progress."""
        return self.photos.held_bytes() + self._reserved

    def reserve(self, nbytes: int, what: str, photo_id: str | None = None) -> Reservation:
        """Take ``nbytes`` of the budget for ``what`` (e.g. "opening 'a.png' (4000x3000)").

        Args:
            photo_id: the photo the request works on: it stays open (pinned) until the
                reservation is released.

        Raises:
            TooLarge: ``nbytes`` is more than the whole budget.
            Busy: it does not fit beside the requests in progress and the pinned photos, even
                once every other photo is closed.
        """
        nbytes = max(0, int(nbytes))
        if nbytes > self.limit:
            raise TooLarge(
                f"{what} needs about {megabytes(nbytes)} of memory, more than the server's "
                f"budget of {megabytes(self.limit)}: restart ganrestore serve with a larger "
                "--memory-mb (if this machine has it), or use a smaller photo"
            )
        if photo_id is not None:
            self.photos.pin(photo_id)
        try:
            with self._lock:
                excess = self.in_use() + nbytes - self.limit
                if excess > 0:
                    self.photos.make_room(excess)
                used = self.in_use()
                if used + nbytes > self.limit:
                    raise Busy(
                        f"{what} needs about {megabytes(nbytes)} of memory, and the photos "
                        f"being opened, restored or sent use {megabytes(used)} of the server's "
                        f"budget of {megabytes(self.limit)} (--memory-mb): wait for them to "
                        "finish, then try again"
                    )
                self._reserved += nbytes
        except BaseException:
            if photo_id is not None:
                self.photos.unpin(photo_id)
            raise
        return Reservation(self, nbytes, photo_id)

    def _give_back(self, reservation: Reservation) -> None:
        with self._lock:
            self._reserved -= reservation.nbytes
        if reservation.photo_id is not None:
            self.photos.unpin(reservation.photo_id)
