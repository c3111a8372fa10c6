"""What a task's pair folder holds: the one fact about a task that reading ``--data`` needs.

A task (:mod:`ganrestore.tasks`) describes its training folder with a :class:`PairFolder`:
``clean/`` beside ``degraded/`` for denoising, ``clean/`` beside ``masks/`` for inpainting.
The data layer reads folders by this description and never by a task's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PairFolder:
    """How a task's real pairs are laid out and read.

    Attributes:
        names: folder names beside ``clean/`` recognised without ``data.pair_dir``; the first
            one is the documented name (e.g. ``("degraded", "noisy")``).
        word: what one pair file is, for messages (``"degraded image"``, ``"mask"``).
        kind: ``"image"``: a pair file is an image of the same size, read as ``(H, W, 3)``
            in [0, 1]; ``"mask"``: a gray mask, read as ``(H, W, 1)`` in {0, 1}, white = 1.
        synthetic: what happens to clean photos without pairs, e.g. ``"noise is added on the
            fly"``.
        image_pairs: whether pix2pix A/B pairs of photos (folders, or side-by-side images) are
            a valid training set: the degraded half is the input.
    """

    names: tuple[str, ...]
    word: str
    kind: Literal["image", "mask"] = "image"
    synthetic: str = "degradations are made on the fly"
    image_pairs: bool = True

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("a pair folder needs at least one name")
        if self.kind not in ("image", "mask"):
            raise ValueError(f"pair kind must be 'image' or 'mask', got {self.kind!r}")

    @property
    def folder(self) -> str:
        """The documented name of the folder, e.g. ``"degraded"``."""
        return self.names[0]
