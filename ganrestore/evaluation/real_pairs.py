"""Real pairs in ``ganrestore eval --data DIR``: ``DIR/clean/`` beside the task's pair folder.

The folder ``ganrestore train TASK --data DIR`` learns from is scored as it is, nothing drawn:
each clean image is the reference and its pair file the input, as the task's
:class:`~ganrestore.data.pair_folder.PairFolder` says: a degraded image (denoise:
``degraded/`` or ``noisy/``), a small image ``scale`` times smaller (upscaling: ``small/``; the
clean image is cut to ``scale`` times its size, as training cuts it) or a mask (inpainting:
``masks/``; its holes are punched into the clean image as ``--masks`` punches them). The pairs
are found and checked by the training folder's own discovery
(:func:`ganrestore.data.layout.folder_pairs`): matching by name, the size rule and their
messages are training's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganrestore.data.io import ImageTooLargeError, image_size, read_image
from ganrestore.data.layout import Sample, folder_pairs
from ganrestore.data.pair_folder import PairFolder
from ganrestore.data.pairs import shown
from ganrestore.data.pixel_limit import over_limit
from ganrestore.errors import GanrestoreError
from ganrestore.evaluation.degrade import Degraded, holes_from_file, punch_holes
from ganrestore.evaluation.scoring import Reference, quantize
from ganrestore.tasks import Task


@dataclass(frozen=True)
class RealPairs:
    """The real pairs of a ``--data`` folder, ready to score.

    Attributes:
        clean_dir: ``DIR/clean``, the folder reference names are relative to.
        pairs: each clean image with its pair file, sorted by clean path.
        summary: what was found, e.g. ``photos: 12 real pairs (clean/ + small/)``.
        notes: sentences for the user: pair files without a clean image, unreadable files.
        skipped: ``"PATH (reason)"`` of each unreadable file; its pair is not scored.
    """

    clean_dir: Path
    pairs: tuple[Sample, ...]
    summary: str
    notes: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


def pair_folder(data: Path, task: Task) -> Path | None:
    """The task's pair folder beside ``data/clean/`` (one of ``task.pair.names``), or None:
    ``data`` is a folder of clean images, degraded by eval itself.

    Raises:
        GanrestoreError: two pair folders (``degraded/`` and ``noisy/``): which one is meant?
    """
    data = Path(data)
    if not (data / "clean").is_dir():
        return None
    found = task.pair.folders_in(data)
    if len(found) > 1:
        raise GanrestoreError(
            f"--data {data}: both {found[0].name}/ and {found[1].name}/ sit beside clean/; "
            f"eval reads the {task.pair.word}s of one of them: move the other out of {data}"
        )
    return found[0] if found else None


def find_real_pairs(data: Path, task: Task, max_pixels: int) -> RealPairs:
    """The pairs of ``data/clean/`` and the task's pair folder, found and checked as training
    finds them; unreadable files are left out with their pairs and said.

    Raises:
        DataError: unmatched or mismatched pairs, empty folders (training's messages).
        ImageTooLargeError: a file above ``max_pixels`` (0: no limit), before any is decoded:
            scores over part of a folder would not compare.
        GanrestoreError: no pair folder, or no readable pair.
    """
    data = Path(data)
    pair_folder(data, task)  # two pair folders: said in eval's words
    found = folder_pairs(data, task, max_pixels)
    if found is None:
        raise GanrestoreError(
            f"--data {data}: real pairs need clean/ with {task.pair.folder_names} beside it "
            f"({task.name}); pass --data such a folder, or a folder of clean images to degrade"
        )
    if found.too_large:
        path = found.too_large[0]
        size = image_size(path)
        raise ImageTooLargeError(path, over_limit(*size, max_pixels) or "", size)
    skipped = tuple(f"{path} ({reason})" for path, reason in found.skipped)
    notes = list(found.notes)
    if skipped:
        notes.append(
            f"{len(skipped)} unreadable file(s) skipped with their pairs: {shown(list(skipped))}"
        )
    if not found.samples:
        raise GanrestoreError(
            f"--data {data}: no readable pair in {found.clean_dir} and {found.pair_dir}; "
            "repair or replace the files"
        )
    count = len(found.samples)
    summary = (
        f"{data}: {count} real pair{'' if count == 1 else 's'} "
        f"({found.clean_dir.name}/ + {found.pair_dir.name}/)"
    )
    return RealPairs(found.clean_dir, found.samples, summary, tuple(notes), skipped)


def pair_input(reference: Reference, sample: Sample, pair: PairFolder, max_pixels: int) -> Degraded:
    """The input of one real pair and the truth its outputs are scored against.

    Args:
        reference: the clean image, read from ``sample.clean``.
        sample: the clean file and its pair file.
        pair: the task's pair folder: what the file is (an image or a mask) and its scale.
        max_pixels: the pair file is not decoded above this many pixels (0: no limit).

    Returns:
        A mask's holes punched into the clean image (as ``--masks`` does); or the pair image
        itself at its own bit depth, its target the clean image cut to ``pair.scale`` times
        its size. Where one of the two is gray and the other RGB, both are RGB.

    Raises:
        ImageReadError: the pair file cannot be read (ImageTooLargeError: above the limit).
        GanrestoreError: its size breaks the pair folder's rule (the file changed since it was
            found).
    """
    clean = reference.pixels
    if sample.pair is None:
        raise GanrestoreError(f"{sample.clean}: no pair file")
    if pair.kind == "mask":
        holes = holes_from_file(sample.pair, clean.shape[:2], max_pixels)
        return Degraded(punch_holes(clean, holes), holes)
    decoded = read_image(sample.pair, max_pixels)
    problem = pair.size_problem(sample.clean, clean.shape, sample.pair, decoded.pixels.shape)
    if problem is not None:
        raise GanrestoreError(pair.size_error([problem]))
    expected = pair.expected_size(clean.shape[:2])
    pixels = quantize(decoded.pixels, decoded.bit_depth)
    target = clean[: expected[0] * pair.scale, : expected[1] * pair.scale]
    if pixels.shape[2] != target.shape[2]:
        pixels, target = _rgb(pixels), _rgb(target)
    return Degraded(pixels, None, target)


def _rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W, 1 or 3)`` -> ``(H, W, 3)``, a gray channel repeated."""
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
