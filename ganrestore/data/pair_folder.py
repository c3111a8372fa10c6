"""What a task's pair folder holds: the one fact about a task that reading ``--data`` needs.

A task (:mod:`ganrestore.tasks`) describes its training folder with a :class:`PairFolder`:
``clean/`` beside ``degraded/`` for denoising, ``clean/`` beside ``masks/`` for inpainting,
``clean/`` beside ``small/`` images ``scale`` times smaller for upscaling. The data layer
reads folders by this description and never by a task's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class PairFolder:
    """How a task's real pairs are laid out and read.

    Attributes:
        names: folder names beside ``clean/`` recognised without ``data.pair_dir``; the first
            one is the documented name (e.g. ``("degraded", "noisy")``).
        word: what one pair file is, for messages (``"degraded image"``, ``"mask"``).
        kind: ``"image"``: a pair file is an image, read as ``(h, w, 3)`` in [0, 1];
            ``"mask"``: a gray mask, read as ``(h, w, 1)`` in {0, 1}, white = 1.
        synthetic: what happens to clean photos without pairs, e.g. ``"noise is added on the
            fly"``.
        image_pairs: whether pix2pix A/B pairs of photos (folders, or side-by-side images) are
            a valid training set: the degraded half is the input.
        scale: a pair file is ``scale`` times smaller than its clean image: ``(h, w)`` is
            ``(H // scale, W // scale)`` of a clean ``(H, W)`` (1: the same size; the clean
            rows and columns past a multiple of ``scale`` have no pixel in it).
    """

    names: tuple[str, ...]
    word: str
    kind: Literal["image", "mask"] = "image"
    synthetic: str = "degradations are made on the fly"
    image_pairs: bool = True
    scale: int = 1

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("a pair folder needs at least one name")
        if self.kind not in ("image", "mask"):
            raise ValueError(f"pair kind must be 'image' or 'mask', got {self.kind!r}")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or self.scale < 1:
            raise ValueError(f"pair scale must be an integer >= 1, got {self.scale!r}")

    @property
    def folder(self) -> str:
        """The documented name of the folder, e.g. ``"degraded"``."""
        return self.names[0]

    @property
    def folder_names(self) -> str:
        """The recognised names as a message lists them: ``"degraded/ or noisy/"``."""
        return " or ".join(f"{name}/" for name in self.names)

    def folders_in(self, root: Path) -> list[Path]:
        """The recognised pair folders (:attr:`names`) that exist in ``root``, in that order;
        more than one is for the caller to refuse, in its own words."""
        return [root / name for name in self.names if (root / name).is_dir()]

    def expected_size(self, clean_size: tuple[int, int]) -> tuple[int, int]:
        """``(h, w)`` a pair file must have for a clean image of ``(H, W)`` pixels."""
        return clean_size[0] // self.scale, clean_size[1] // self.scale

    def size_rule(self) -> str:
        """What size a pair file must have, for messages: ``"the size of its clean image"``,
        ``"its clean image's size divided by 4 (rounded down)"``."""
        if self.scale == 1:
            return "the size of its clean image"
        return f"its clean image's size divided by {self.scale} (rounded down)"

    def size_problem(
        self, clean: Path, clean_size: tuple[int, ...], pair: Path, pair_size: tuple[int, ...]
    ) -> str | None:
        """None when a pair file of ``(h, w, ...)`` fits its clean image of ``(H, W, ...)``;
        else one line naming both files and their sizes (width x height), with the size
        expected when ``scale > 1``."""
        expected = self.expected_size((clean_size[0], clean_size[1]))
        if (pair_size[0], pair_size[1]) == expected:
            return None
        text = (
            f"{clean} is {clean_size[1]}x{clean_size[0]} but {pair} is "
            f"{pair_size[1]}x{pair_size[0]}"
        )
        if self.scale > 1:
            text += f" (expected {expected[1]}x{expected[0]})"
        return text

    def size_error(self, problems: list[str]) -> str:
        """The message for pair files of the wrong size: ``problems`` from
        :meth:`size_problem` (the first five shown) and the rule they break."""
        count = "a pair differs" if len(problems) == 1 else f"{len(problems)} pairs differ"
        return (
            f"{count} in size (width x height): {'; '.join(problems[:5])}; each {self.word} "
            f"must have {self.size_rule()}"
        )
