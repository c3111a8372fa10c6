"""What is in ``--data DIR``: finds the training and validation samples and checks them.

:mod:`ganrestore.data.sources` recognises the folder layout (a plain folder of photos, clean/
with its pairs, pix2pix A/B folders or side-by-side A|B images); this module lists the samples,
checks the pairs, holds out a validation split and says what was found, used and ignored. Only
image headers are read here (sizes), so discovery stays fast on large folders.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ganrestore.data.io import IMAGE_SUFFIX_LIST, list_images
from ganrestore.data.pair_folder import PairFolder
from ganrestore.data.pairs import DataError, HeaderScan, check_names, keyed, shown
from ganrestore.data.pixel_limit import DEFAULT_MAX_PIXELS
from ganrestore.data.sources import (
    DIRECTIONS,
    LAYOUTS,
    Options,
    Source,
    described,
    find_pair_dir,
    find_sources,
    ignored_images,
    val_hint,
)

__all__ = [
    "DataError",
    "DataLayout",
    "FolderPairs",
    "Sample",
    "discover",
    "folder_pairs",
    "split_side_by_side",
]


class FolderTask(Protocol):
    """What reading a data folder needs of a task (:class:`ganrestore.tasks.Task` is one)."""

    name: str
    pair: PairFolder


@dataclass(frozen=True)
class Sample:
    """One training example: a clean image and, for real pairs, its pair file (a degraded image
    or a mask, as the task's :class:`~ganrestore.data.pair_folder.PairFolder` says).

    ``clean_half`` (``"left"`` or ``"right"``) marks a side-by-side A|B image, pix2pix's aligned
    layout: ``clean`` and ``pair`` are then the same file, and that half of it is the clean
    image (:func:`split_side_by_side`).
    """

    clean: Path
    pair: Path | None = None
    clean_half: str | None = None


def split_side_by_side(pixels: np.ndarray, clean_half: str) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W, C)`` A|B image -> ``(clean, degraded)`` halves, each ``(H, W // 2, C)``.

    As in pix2pix, A is the left half and B the right one; an odd last column is dropped.
    """
    half = pixels.shape[1] // 2
    left, right = pixels[:, :half], pixels[:, half : 2 * half]
    return (left, right) if clean_half == "left" else (right, left)


@dataclass(frozen=True)
class DataLayout:
    """The result of ``discover``.

    Attributes:
        train: Training samples, sorted by clean path.
        val: Validation samples (from a ``val/`` folder or held out of the training files).
        paired: True when training uses real pairs (a pair folder, A/B folders or A|B images).
        skipped: ``(path, reason)`` for each file left out: unreadable, or above
            ``max_pixels`` (never decoded).
        notes: Sentences worth showing the user (split, ignored folders, ...).
        summary: One line saying what was found and what will be used, e.g. ``240 clean
            photos in photos (plain folder); holes are drawn on the fly; validation: 24 of
            them held out; ignored: photos/thumbs (12 images)``.
        ignored: Image folders (and loose images) under ``DIR`` that no sample uses.
    """

    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    paired: bool
    skipped: tuple[tuple[Path, str], ...]
    notes: tuple[str, ...]
    summary: str = ""
    ignored: tuple[str, ...] = ()


def _samples(
    source: Source, pair: PairFolder, scan: HeaderScan, notes: list[str], used: set[Path]
) -> list[Sample]:
    """The samples of one source, unreadable files left out; its files are added to ``used``."""
    files = list_images(source.clean_dir, recursive=source.recursive)
    if not files:
        raise DataError(
            f"{source.clean_dir} contains no images (looked for "
            f"{IMAGE_SUFFIX_LIST}); put the clean training images there"
        )
    used.update(files)
    if source.clean_half is not None:
        half = source.clean_half
        return [Sample(p, pair=p, clean_half=half) for p in files if scan.size(p) is not None]
    if source.pair_dir is None:
        return [Sample(path) for path in files if scan.size(path) is not None]
    pair_files = list_images(source.pair_dir, recursive=True)
    used.update(pair_files)
    clean, pairs = keyed(files, source.clean_dir), keyed(pair_files, source.pair_dir)
    check_names(clean, pairs, source.clean_dir, source.pair_dir, pair.word, notes)
    samples, mismatched = [], []
    for key in sorted(clean, key=lambda key: clean[key].as_posix()):
        clean_size, pair_size = scan.size(clean[key]), scan.size(pairs[key])
        if clean_size is None or pair_size is None:
            continue
        problem = pair.size_problem(clean[key], clean_size, pairs[key], pair_size)
        if problem is not None:
            mismatched.append(problem)
        samples.append(Sample(clean[key], pair=pairs[key]))
    if mismatched:
        raise DataError(pair.size_error(mismatched))
    return samples


def _hold_out(
    samples: list[Sample], clean_dir: Path, val_fraction: float, hint: str, notes: list[str]
) -> tuple[list[Sample], list[Sample]]:
    """Deterministic split by crc32 of each clean file's path relative to ``clean_dir``.

    A file's side depends on its own name only, so adding images never moves old ones.
    """
    if not samples:
        return [], []
    if len(samples) == 1:
        notes.append(
            f"only one usable image ({samples[0].clean}): it is used for both training and "
            "validation, so validation scores will be optimistic; add images or a val/ folder"
        )
        return samples, samples
    scores = [
        zlib.crc32(sample.clean.relative_to(clean_dir).as_posix().encode("utf-8")) / 2**32
        for sample in samples
    ]
    held = {i for i, score in enumerate(scores) if score < val_fraction}
    why = ""
    if not held:
        held = {min(range(len(samples)), key=scores.__getitem__)}
        why = f"; data.val_fraction {val_fraction:g} would hold out none, and a run needs one"
    if len(held) == len(samples):
        held.remove(max(range(len(samples)), key=scores.__getitem__))
        why = f"; data.val_fraction {val_fraction:g} would hold out all, and one is kept to train"
    train = [sample for i, sample in enumerate(samples) if i not in held]
    val = [sample for i, sample in enumerate(samples) if i in held]
    notes.append(
        f"no validation folder: {len(val)} of {len(samples)} images are held out for "
        f"validation (chosen by a hash of the file name, the same on every run{why}); add "
        f"{hint} to choose them yourself"
    )
    return train, val


def _smaller_than(samples: list[Sample], crop: int, scan: HeaderScan) -> list[str]:
    """Names of the samples whose clean image (from its header) is under ``crop`` on a side."""
    small = []
    for sample in samples if crop > 0 else []:
        size = scan.size(sample.clean)
        if size is None:
            continue
        height, width = size
        width = width // 2 if sample.clean_half is not None else width  # one half of A|B
        if min(height, width) < crop:
            small.append(sample.clean.name)
    return small


def discover(
    data_dir: Path,
    task: FolderTask,
    val_fraction: float = 0.1,
    max_bad_fraction: float = 0.1,
    *,
    pair_dir: str = "",
    direction: str = "AtoB",
    layout: str = "auto",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    crop: int = 0,
) -> DataLayout:
    """Finds the training and validation samples under ``data_dir`` and checks them.

    Args:
        data_dir: The ``--data`` folder, laid out as :mod:`ganrestore.data.sources` says.
        task: the task trained (:class:`ganrestore.tasks.Task`): its ``pair`` says which
            pair folder it reads (e.g. ``degraded/`` or ``noisy/``, or ``masks/``) and whether
            pix2pix A/B pairs of photos suit it; other image folders are reported as ignored.
        val_fraction: Share of images held out when there is no validation folder, in
            ``[0, 1)``; at least one image is held out (and one kept) when there are two.
        max_bad_fraction: Largest share of unreadable files tolerated (they are skipped).
        max_pixels: files with more pixels (``data.max_pixels``, from their headers; 0: no
            limit) are skipped, never decoded, whatever their share: they are not damaged.
        pair_dir: Name of the pair folder beside ``clean/`` ("" = the recognised names).
        direction: pix2pix pairs: ``"AtoB"`` (A is the degraded input) or ``"BtoA"``.
        layout: ``"auto"``, ``"plain"`` (images directly in a folder are photos, never A|B
            pairs) or ``"aligned"`` (they are side-by-side A|B pairs).
        crop: the training crop's side (``data.crop``): training images smaller than it are
            reflect-padded up to it, which a note says; 0: not checked.

    Returns:
        The samples, the files skipped and ignored, a summary and notes for the user.

    Raises:
        DataError: missing or empty folders, unmatched or mismatched pairs, too many
            unreadable files, pix2pix pairs for inpainting; the message names the files and
            what to do.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if direction not in DIRECTIONS or layout not in LAYOUTS:
        raise DataError(
            f"direction must be one of {', '.join(DIRECTIONS)} and layout one of "
            f"{', '.join(LAYOUTS)}; got {direction!r} and {layout!r}"
        )
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"data folder {data_dir} does not exist; pass --data a folder of photos, or one "
            f"that contains clean/ (and optionally {task.pair.folder}/ and val/)"
        )
    options = Options(task.name, task.pair, pair_dir, direction, layout)
    scan, notes, used = HeaderScan(max_pixels), [], set()
    train_source, val_source = find_sources(data_dir, options, scan, notes)
    train = _samples(train_source, task.pair, scan, notes, used)
    train_text = described(train_source, len(train), options)
    if val_source is not None:
        val = _samples(val_source, task.pair, scan, notes, used)
        if val_source.paired != train_source.paired:
            notes.append(
                "training and validation differ: only one of them has real pairs; the other "
                "uses synthetic degradations"
            )
        val_text = described(val_source, len(val), options)
    else:
        hint = val_hint(data_dir, train_source)
        train, val = _hold_out(train, train_source.clean_dir, val_fraction, hint, notes)
        val_text = f"{len(val)} of them held out" if train != val else "the same image"
    small = _smaller_than(train, crop, scan)
    if small:
        notes.append(
            f"{len(small)} of {len(train)} training image(s) are smaller than the crop of {crop} "
            f"px on a side and are reflect-padded up to it: {shown(small)}"
        )
    if scan.skipped:
        listed = shown([f"{path} ({reason})" for path, reason in scan.skipped])
        if len(scan.skipped) > max_bad_fraction * scan.checked:
            raise DataError(
                f"{len(scan.skipped)} of {scan.checked} image files under {data_dir} cannot be "
                f"read, more than the {max_bad_fraction:.0%} tolerated: {listed}; "
                "repair or remove them"
            )
        notes.append(f"{len(scan.skipped)} unreadable file(s) skipped: {listed}")
    if scan.too_large:
        listed = shown([path.name for path, _ in scan.too_large], len(scan.too_large))
        notes.append(
            f"{len(scan.too_large)} file(s) above data.max_pixels ({max_pixels / 1e6:g} "
            f"megapixels) skipped: {listed}"
        )
    if not train or not val:
        split = "training" if not train else "validation"
        todo = "add readable images"
        if scan.too_large:
            todo = (
                f"{len(scan.too_large)} file(s) are above data.max_pixels ({max_pixels / 1e6:g} "
                "megapixels): raise it with --max-pixels N (0: no limit), or add smaller images"
            )
        raise DataError(f"no readable {split} images under {data_dir}; {todo}")
    sources = [train_source] + ([val_source] if val_source is not None else [])
    ignored = ignored_images(data_dir, used, sources)
    summary = f"{train_text}; validation: {val_text}"
    if ignored:
        summary += f"; ignored: {', '.join(ignored)}"
    return DataLayout(
        tuple(train),
        tuple(val),
        train_source.paired,
        tuple(scan.skipped + scan.too_large),
        tuple(notes),
        summary,
        tuple(ignored),
    )


@dataclass(frozen=True)
class FolderPairs:
    """The real pairs of one ``clean/`` folder and the task's pair folder beside it
    (:func:`folder_pairs`), all of them: no validation split.

    Attributes:
        clean_dir: ``DIR/clean``.
        pair_dir: the pair folder beside it (``DIR/small``, ``DIR/noisy``, ...).
        samples: one per readable pair, sorted by clean path, each with its ``pair`` file.
        skipped: ``(path, reason)`` of each file whose header cannot be read; its pair is left
            out.
        too_large: files above ``max_pixels`` (never decoded); their pairs are left out.
        notes: sentences for the user (pair files without a clean image, ...).
    """

    clean_dir: Path
    pair_dir: Path
    samples: tuple[Sample, ...]
    skipped: tuple[tuple[Path, str], ...]
    too_large: tuple[Path, ...]
    notes: tuple[str, ...]


def folder_pairs(
    data_dir: Path, task: FolderTask, max_pixels: int = DEFAULT_MAX_PIXELS
) -> FolderPairs | None:
    """Every real pair of ``data_dir/clean/`` (searched recursively) and the task's pair folder
    beside it (any of ``task.pair.names``), matched and checked as :func:`discover` checks a
    training folder: by path without suffix, every clean image with its pair file, each pair
    file of the size ``task.pair`` says, with the same messages. Unlike :func:`discover`, it
    holds nothing out and tolerates any share of unreadable files: they are listed, not fatal.

    Returns:
        The pairs, or None when ``data_dir`` has no ``clean/`` folder or no pair folder beside it.

    Raises:
        DataError: an empty folder, two pair folders, unmatched or mismatched pairs; named.
    """
    data_dir = Path(data_dir)
    if not (data_dir / "clean").is_dir():
        return None
    options = Options(task.name, task.pair, "", "AtoB", "auto")
    notes: list[str] = []
    pair_dir = find_pair_dir(data_dir, options, notes, required=True)
    if pair_dir is None:
        return None
    source = Source(data_dir, "clean", data_dir / "clean", pair_dir)
    scan = HeaderScan(max_pixels)
    samples = _samples(source, task.pair, scan, notes, set())
    return FolderPairs(
        source.clean_dir,
        pair_dir,
        tuple(samples),
        tuple(scan.skipped),
        tuple(path for path, _ in scan.too_large),
        tuple(notes),
    )
