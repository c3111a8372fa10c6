"""Matching clean images with their pairs by name, and reading image headers only once.

Helpers of :mod:`ganrestore.data.layout`: a pair is matched by its path relative to its folder
without the suffix, so ``clean/a/cat.png`` pairs with ``degraded/a/cat.jpg``.
"""

from __future__ import annotations

from pathlib import Path

from ganrestore.data.io import ImageReadError, image_size
from ganrestore.data.pixel_limit import DEFAULT_MAX_PIXELS, over_limit
from ganrestore.errors import GanrestoreError

SHOWN = 5


class DataError(GanrestoreError):
    """The data folder is missing, empty or inconsistent; the message says what to fix."""


def shown(items: list, total: int | None = None) -> str:
    """The first few items, comma separated, with '(and N more)' when cut."""
    total = len(items) if total is None else total
    text = ", ".join(str(item) for item in items[:SHOWN]) or "(none)"
    return f"{text} (and {total - SHOWN} more)" if total > SHOWN else text


def images(count: int) -> str:
    """``"1 image"``, ``"12 images"``."""
    return f"{count} image" if count == 1 else f"{count} images"


def keyed(files: list[Path], root: Path) -> dict[str, Path]:
    """Files by relative path without suffix; two files for one key is an error."""
    by_key: dict[str, Path] = {}
    for path in files:
        key = path.relative_to(root).with_suffix("").as_posix()
        if key in by_key:
            raise DataError(
                f"{by_key[key]} and {path} have the same name, so pairs are ambiguous; "
                "keep only one of them"
            )
        by_key[key] = path
    return by_key


#: What a training photo above ``data.max_pixels`` is told, after its size.
TOO_LARGE_TO_TRAIN = (
    "; skipped, never decoded (raise the limit with --max-pixels N or --set data.max_pixels=N, "
    "0: no limit; or downscale the photo)"
)


class HeaderScan:
    """Image sizes from headers, each file read once; unreadable files are collected, and
    so are files above ``max_pixels`` (0: no limit), apart: they are not damaged.
    """

    def __init__(self, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.max_pixels = max_pixels
        self.skipped: list[tuple[Path, str]] = []
        self.too_large: list[tuple[Path, str]] = []
        self._sizes: dict[Path, tuple[int, int] | None] = {}

    @property
    def checked(self) -> int:
        return len(self._sizes)

    def size(self, path: Path) -> tuple[int, int] | None:
        """``(H, W)`` of ``path``, or None (and the file is recorded as skipped or too large)."""
        if path not in self._sizes:
            try:
                self._sizes[path] = image_size(path)
            except ImageReadError as error:
                self._sizes[path] = None
                self.skipped.append((path, error.reason))
                return None
            too_large = over_limit(*self._sizes[path], self.max_pixels)
            if too_large is not None:
                self._sizes[path] = None
                self.too_large.append((path, too_large + TOO_LARGE_TO_TRAIN))
        return self._sizes[path]


def check_names(
    clean: dict[str, Path],
    pairs: dict[str, Path],
    clean_dir: Path,
    pair_dir: Path,
    word: str,
    notes: list[str],
) -> None:
    """Checks that every clean image has its pair (extra pair files are only noted).

    Args:
        clean, pairs: files by key (see :func:`keyed`).
        clean_dir, pair_dir: the folders they come from, for the messages.
        word: what a pair file is, e.g. ``"degraded image"`` or ``"mask"``.
        notes: sentences for the user; the extra pair files are added here.
    """
    if not clean.keys() & pairs.keys():
        raise DataError(
            f"no file in {pair_dir} has the name of a clean image, so no pair can be formed: "
            f"{clean_dir.name}/ has {shown(sorted(clean))}; {pair_dir.name}/ has "
            f"{shown(sorted(pairs))}. Name each {word} like its clean image (the suffix may differ)"
        )
    missing = [clean[key] for key in sorted(clean.keys() - pairs.keys())]
    if missing:
        raise DataError(
            f"{len(missing)} clean image(s) have no {word} in {pair_dir}: {shown(missing)}; "
            f"add the missing files (same name) or remove these clean images"
        )
    extra = sorted(pairs.keys() - clean.keys())
    if extra:
        notes.append(
            f"{len(extra)} files in {pair_dir} have no clean image and are ignored: "
            f"{shown([pairs[key].name for key in extra])}"
        )
