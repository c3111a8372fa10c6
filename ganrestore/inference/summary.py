"""The outcome of a ``ganrestore apply`` run, as the folder runner fills it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ApplySummary:
    """Outcome of a run: every input file is in exactly one of the three lists.

    Besides them: ``ignored`` holds what ``--in`` has besides images, with the reason (see
    :mod:`ganrestore.data.listing`); ``warnings`` every warning given about an image;
    ``by_task`` the images each model restored (``denoise`` / ``inpaint``; two keys when the
    restorer routes images by their masks); ``without_mask`` the images that had no mask in
    ``--masks``, with what became of each; ``hole_sources`` where the holes of each restored
    image with holes came from (a mask file's path, or ``"alpha"``: its transparent pixels).
    """

    restored: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0
    megapixels: float = 0.0
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    by_task: dict[str, list[Path]] = field(default_factory=dict)
    without_mask: list[tuple[Path, str]] = field(default_factory=list)
    hole_sources: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return len(self.restored) / self.seconds if self.seconds > 0 else 0.0

    @property
    def megapixels_per_second(self) -> float:
        return self.megapixels / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """1 when any file failed, else 0."""
        return 1 if self.failed else 0
