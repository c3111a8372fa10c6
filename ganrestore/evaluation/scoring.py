"""Scoring images against clean references, in memory or as saved files.

:func:`score_output` takes every metric of one output against its truth, inside the border the
task cuts (:class:`~ganrestore.tasks.Scoring`); :func:`score_folders` scores outputs already on
disk (``ganrestore eval --restored DIR --reference DIR``). Images are compared at the
reference's bit depth, as if they had been saved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganrestore.data.io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    ImageTooLargeError,
    list_images,
    read_image,
    read_mask,
)
from ganrestore.errors import GanrestoreError
from ganrestore.evaluation import metrics
from ganrestore.evaluation.report import EvalReport, ImageScore
from ganrestore.tasks import Scoring, Task

Log = Callable[[str], None]


class UnscorableImageError(GanrestoreError):
    """An image that is read but cannot be scored (too small, or unlike its reference); the
    message names the file, the reason and what to do."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class Reference:
    """A clean reference image.

    Attributes:
        name: path relative to its folder, POSIX (part of the degradation seed).
        pixels: ``(H, W, C)`` float32 in [0, 1].
        integer: the same as uint8 / uint16 (its file's bit depth), what outputs are scored on.
    """

    name: str
    pixels: np.ndarray
    integer: np.ndarray

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    @property
    def bit_depth(self) -> int:
        return 16 if self.integer.dtype == np.uint16 else 8


def quantize(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    """``(H, W, C)`` float [0, 1] -> uint8 / uint16, rounded to the nearest level."""
    top, dtype = (65535, np.uint16) if bit_depth == 16 else (255, np.uint8)
    return np.rint(np.clip(pixels, 0.0, 1.0) * top).astype(dtype)


def read_reference(path: Path, folder: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Reference:
    """A clean image file as a :class:`Reference` (alpha dropped).

    Raises:
        ImageTooLargeError: above ``max_pixels`` (0: no limit), nothing decoded.
    """
    decoded = read_image(path, max_pixels)
    integer = quantize(decoded.pixels, decoded.bit_depth)
    pixels = integer.astype(np.float32) / metrics.data_range(integer)
    return Reference(path.relative_to(folder).as_posix(), pixels, integer)


def images_by_stem(folder: Path, option: str) -> dict[str, Path]:
    """Image files of ``folder`` keyed by file stem; two files with one stem are an error."""
    if not folder.is_dir():
        raise GanrestoreError(f"{option} {folder}: not a folder")
    found: dict[str, Path] = {}
    for path in list_images(folder):
        if path.stem in found:
            raise GanrestoreError(
                f"{option} {folder}: {found[path.stem].name} and {path.name} share the stem "
                f"'{path.stem}'; keep one of them"
            )
        found[path.stem] = path
    return found


def too_small_to_score(shape: tuple[int, ...], scoring: Scoring, scale: int = 1) -> str | None:
    """Why an image of ``shape`` ``(H, W, ...)`` cannot be scored, or None when it can.

    The image is first cut to a multiple of ``scale`` (as an upscaling task's eval cuts the
    clean images it downscales), then ``scoring.border`` pixels from each side; SSIM needs
    :data:`~ganrestore.evaluation.metrics.SSIM_MIN_SIDE` pixels on each side of what is left.
    """
    height, width = (side // scale * scale - 2 * scoring.border for side in shape[:2])
    least = metrics.SSIM_MIN_SIDE
    if min(height, width) >= least:
        return None
    cut = f" once {scoring.border} pixels are cut from each side" if scoring.border else ""
    return f"{shape[1]}x{shape[0]} is too small to score: SSIM needs {least}x{least} pixels{cut}"


def score_output(
    label: str,
    condition: str,
    image: str,
    truth: np.ndarray,
    restored: np.ndarray,
    holes: np.ndarray | None,
    lpips: metrics.Lpips,
    scoring: Scoring | None = None,
) -> ImageScore:
    """Every metric of one output against ``truth`` (both ``(H, W, C)`` integer), ``scoring``'s
    border cut first; ``seconds`` is left None (the caller fills it in).

    Raises:
        GanrestoreError: the images cannot be compared (size, or too small after the border);
            the message names ``image``.
    """
    scoring = scoring or Scoring()
    height, width = truth.shape[:2]
    border = scoring.border
    if border:
        inside = (slice(border, height - border), slice(border, width - border))
        truth, restored = truth[inside], restored[inside]
        holes = None if holes is None else holes[inside]
    try:
        details: list[float | None] = [None] * metrics.DETAIL_LEVELS
        if holes is not None:
            details = list(metrics.detail_ratio(restored, truth, holes))
        elif scoring.detail:
            details[0] = metrics.detail_ratio(restored, truth, levels=1)[0]
        return ImageScore(
            model=label,
            condition=condition,
            image=image,
            psnr=metrics.psnr(restored, truth),
            ssim=metrics.ssim(restored, truth),
            psnr_hole=None if holes is None else metrics.psnr(restored, truth, holes),
            lpips=lpips.score(restored, truth),
            seconds=None,
            megapixels=height * width / 1e6,
            detail_0=details[0],
            detail_1=details[1],
            detail_2=details[2],
        )
    except metrics.MetricInputError as exc:
        cut = f" once {border} pixels are cut from each side" if border else ""
        raise GanrestoreError(f"{image}: {label} cannot be scored{cut}: {exc}") from None


def score_folders(
    restored_dir: Path,
    reference_dir: Path,
    masks_dir: Path | None = None,
    lpips: bool = True,
    log: Log = print,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    task: Task | None = None,
) -> EvalReport:
    """Score existing outputs against references matched by file stem.

    Restored images are compared at the reference's bit depth; with ``masks_dir`` (white =
    hole, matched by stem) the PSNR over the holes is added. Files above ``max_pixels`` (0: no
    limit) are not decoded: an error names them. With ``task``, outputs are scored as
    ``ganrestore eval`` scores that task (:meth:`Task.eval_scoring`: for upscaling, a border of
    ``scale`` pixels cut and the detail ratio), and a reference is first cut to a multiple of
    the task's scale, as eval cuts the clean images it downscales.

    Raises:
        GanrestoreError: no pair matches, no pair can be scored, a missing mask. A pair that
            cannot be read, differs in size or channels, or is too small is said through
            ``log``, listed in ``extra["skipped"]`` and left out; the rest is scored.
    """
    references = images_by_stem(reference_dir, "--reference")
    restored = images_by_stem(restored_dir, "--restored")
    masks = images_by_stem(masks_dir, "--masks") if masks_dir is not None else {}
    common = sorted(set(references) & set(restored))
    if not common:
        raise GanrestoreError(
            f"--restored {restored_dir} and --reference {reference_dir} share no file stem; "
            "outputs are matched to references by name without suffix (a.png <-> a.jpg)"
        )
    for note in _unmatched(restored, references, "restored", "reference"):
        log(note)
    scorer = metrics.Lpips.load(lpips)
    label = restored_dir.as_posix()
    report = EvalReport(
        task=task.name if task is not None else None,
        source=str(reference_dir),
        seed=None,
        mode="restored",
        conditions=["restored"],
        models=[{"label": label, "spec": str(restored_dir), "description": "saved outputs"}],
        lpips_reason=scorer.reason,
    )
    scoring = task.eval_scoring() if task is not None else Scoring()
    scale = task.scale if task is not None else 1
    skipped: list[str] = []
    report.extra["skipped"] = skipped
    for stem in common:
        try:
            reference, output = _read_pair(
                references[stem], restored[stem], reference_dir, scale, max_pixels
            )
            problem = too_small_to_score(reference.integer.shape, scoring)
            if problem is not None:
                raise UnscorableImageError(references[stem], problem)
        except (ImageReadError, UnscorableImageError) as exc:
            if isinstance(exc, ImageTooLargeError):
                raise  # scores over part of a folder by size would not compare: say it first
            log(f"skipped: {exc}")  # said once; the rest is scored
            skipped.append(f"{exc.path} ({exc.reason})")
            continue
        holes = None
        if masks_dir is not None:
            if stem not in masks:
                raise GanrestoreError(f"--masks {masks_dir}: no mask named {stem}.*")
            holes = read_mask(masks[stem], reference.integer.shape[:2], max_pixels) > 0.5
        integer = quantize(output, reference.bit_depth)
        report.scores.append(
            score_output(
                label,
                "restored",
                reference.name,
                reference.integer,
                integer,
                holes,
                scorer,
                scoring,
            )
        )
    if not report.scores:
        raise GanrestoreError(
            f"--restored {restored_dir}: none of the {len(common)} image(s) with a reference "
            f"could be scored ({'; '.join(skipped)}); check them"
        )
    if skipped:
        log(f"{len(skipped)} image(s) skipped; the scores are over the rest")
    return report


def _read_pair(
    reference_path: Path, restored_path: Path, reference_dir: Path, scale: int, max_pixels: int
) -> tuple[Reference, np.ndarray]:
    """A reference (cut to a multiple of ``scale``) and its restored image, ``(H, W, C)`` float.

    Raises:
        ImageReadError: either cannot be read.
        UnscorableImageError: the two differ in size or channels (named by the restored file,
            with what to do).
    """
    reference = read_reference(reference_path, reference_dir, max_pixels)
    if scale > 1:
        height, width = (side // scale * scale for side in reference.integer.shape[:2])
        reference = Reference(
            reference.name, reference.pixels[:height, :width], reference.integer[:height, :width]
        )
    output = read_image(restored_path, max_pixels).pixels
    if output.shape != reference.integer.shape:
        raise UnscorableImageError(
            restored_path,
            f"{_size(output.shape)} but its reference {reference.name} is "
            f"{_size(reference.integer.shape)}; score outputs of their reference's size and "
            "channels (an upscaling task's outputs: pass --task)",
        )
    return reference, output


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]} with {shape[2]} channel(s)"


def _unmatched(
    restored: dict[str, Path], references: dict[str, Path], first: str, second: str
) -> Iterator[str]:
    for stems, kind, other in (
        (sorted(set(restored) - set(references)), first, second),
        (sorted(set(references) - set(restored)), second, first),
    ):
        if stems:
            shown = ", ".join(stems[:5]) + (" ..." if len(stems) > 5 else "")
            yield f"{len(stems)} {kind} image(s) without a {other}, not scored: {shown}"
