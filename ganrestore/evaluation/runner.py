"""The evaluation loop: images × conditions × models, each output scored against its reference.

Every model restores the very same degraded inputs (built once per image and condition, see
:mod:`ganrestore.evaluation.degrade`). Outputs are quantized to the reference's bit depth before
scoring, exactly as if they had been saved, so ``--save-outputs`` files scored later with
``--restored`` give the same numbers. The row ``input`` scores the degraded input itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ganrestore.baselines import SigmaAware
from ganrestore.data.io import DEFAULT_MAX_PIXELS, list_images, read_image, read_mask, write_image
from ganrestore.errors import GanrestoreError
from ganrestore.evaluation import metrics
from ganrestore.evaluation.degrade import (
    DEFAULT_HOLE_RATIO,
    Condition,
    DegradationError,
    Degraded,
    degrade,
)
from ganrestore.evaluation.models import EvalModel
from ganrestore.evaluation.report import EvalReport, GridBuilder, ImageScore, folder_name

#: Label of the row that scores the degraded input itself.
INPUT_LABEL = "input"

Log = Callable[[str], None]


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


@dataclass(frozen=True)
class EvalSettings:
    """What ``ganrestore eval --data`` does.

    Attributes:
        task: ``"denoise"`` or ``"inpaint"``.
        data: folder of clean images (not searched recursively).
        conditions: noise levels or mask kinds (or one ``--masks DIR`` condition).
        seed: seed of every degradation.
        hole_ratio: share of hole pixels of generated masks.
        save_outputs: folder for degraded inputs, masks and every model's outputs, or None.
        grid: PNG file for the side-by-side picture, or None.
        lpips: compute LPIPS when its weights are available.
        max_pixels: references and mask files with more pixels (from their headers) are not
            decoded: the run stops with an error naming the file (0: no limit).
    """

    task: str
    data: Path
    conditions: Sequence[Condition]
    seed: int = 0
    hole_ratio: tuple[float, float] = DEFAULT_HOLE_RATIO
    save_outputs: Path | None = None
    grid: Path | None = None
    lpips: bool = True
    extra: dict = field(default_factory=dict)
    max_pixels: int = DEFAULT_MAX_PIXELS


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


def _reference_files(folder: Path, option: str) -> list[Path]:
    files = list(images_by_stem(folder, option).values())
    if not files:
        raise GanrestoreError(f"{option} {folder}: no PNG, JPEG, WebP, TIFF or BMP images in it")
    return sorted(files, key=lambda path: path.name)


def evaluate(settings: EvalSettings, models: Sequence[EvalModel], log: Log = print) -> EvalReport:
    """Degrade every clean image, restore it with every model and score it.

    Returns:
        The report: per-image scores, means per model and condition, timings.

    Raises:
        GanrestoreError: an unreadable image, a missing mask, an unusable folder.
    """
    files = _reference_files(settings.data, "--data")
    masks = _mask_files(settings)
    lpips = metrics.Lpips.load(settings.lpips)
    report = EvalReport(
        task=settings.task,
        source=str(settings.data),
        seed=settings.seed,
        conditions=[condition.name for condition in settings.conditions],
        models=[
            {"label": INPUT_LABEL, "spec": "the degraded input", "description": ""},
            *(
                {"label": m.label, "spec": m.spec, "description": m.restorer.description}
                for m in models
            ),
        ],
        lpips_reason=lpips.reason,
        extra=dict(settings.extra),
    )
    grid = GridBuilder([INPUT_LABEL, *(m.label for m in models)]) if settings.grid else None
    for index, path in enumerate(files, start=1):
        reference = read_reference(path, settings.data, settings.max_pixels)
        log(f"[{index}/{len(files)}] {reference.name}")
        for condition in settings.conditions:
            holes = _holes_for(condition, reference, masks, settings.max_pixels)
            degraded = degrade(
                reference.pixels,
                reference.name,
                condition,
                settings.seed,
                settings.hole_ratio,
                holes,
            )
            if index == 1 and condition == settings.conditions[0]:
                for model in models:  # first calls pay for imports and allocations: untimed
                    _restore(model, degraded, condition)
            outputs = _outputs(models, degraded, condition)
            for label, (restored, seconds) in outputs.items():
                integer = quantize(restored, reference.bit_depth)
                score = _score(label, condition.name, reference, integer, degraded.holes, lpips)
                report.scores.append(replace(score, seconds=seconds))
                if settings.save_outputs is not None:
                    _save(settings.save_outputs, label, condition.name, reference, integer)
            if settings.save_outputs is not None and degraded.holes is not None:
                folder = settings.save_outputs / "masks" / condition.name
                write_image(folder / f"{reference.stem}.png", degraded.holes.astype(np.float32))
            if grid is not None:
                thumbnails = {label: quantize(out, 8) for label, (out, _) in outputs.items()}
                grid.add_row(f"{reference.stem} {condition.name}", reference.integer, thumbnails)
    if grid is not None and settings.grid is not None:
        grid.write(settings.grid)
        log(f"picture: {settings.grid}")
    return report


def _outputs(
    models: Sequence[EvalModel], degraded: Degraded, condition: Condition
) -> dict[str, tuple[np.ndarray, float | None]]:
    """The degraded input (untimed) and every model's output with its seconds, by label."""
    outputs: dict[str, tuple[np.ndarray, float | None]] = {
        INPUT_LABEL: (degraded.pixels.astype(np.float32) / 255.0, None)
    }
    for model in models:
        outputs[model.label] = _restore(model, degraded, condition)
    return outputs


def _mask_files(settings: EvalSettings) -> dict[str, Path]:
    dirs = {c.masks_dir for c in settings.conditions if c.masks_dir is not None}
    found: dict[str, Path] = {}
    for folder in dirs:
        found |= images_by_stem(folder, "--masks")
    return found


def _holes_for(
    condition: Condition, reference: Reference, masks: dict[str, Path], max_pixels: int
) -> np.ndarray | None:
    if condition.masks_dir is None:
        return None
    path = masks.get(reference.stem)
    if path is None:
        raise DegradationError(
            f"--masks {condition.masks_dir}: no mask for {reference.name} (expected a file "
            f"named {reference.stem}.* there; white = hole)"
        )
    return read_mask(path, reference.integer.shape[:2], max_pixels) > 0.5


def _restore(
    model: EvalModel, degraded: Degraded, condition: Condition
) -> tuple[np.ndarray, float]:
    """``(H, W, C)`` float output of ``model`` and the seconds it took."""
    images = torch.from_numpy(degraded.pixels.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    masks = None
    if degraded.holes is not None:
        masks = torch.from_numpy(degraded.holes.astype(np.float32))[None, None]
    restorer = model.restorer
    hinted = isinstance(restorer, SigmaAware)
    if hinted:
        restorer.set_sigma(condition.sigma_hint)
    try:
        start = time.perf_counter()
        restored = restorer.restore_batch(images.contiguous(), masks)
        seconds = time.perf_counter() - start
    finally:
        if hinted:
            restorer.set_sigma(None)
    return restored[0].detach().cpu().float().permute(1, 2, 0).numpy(), seconds


def _score(
    label: str,
    condition: str,
    reference: Reference,
    restored: np.ndarray,
    holes: np.ndarray | None,
    lpips: metrics.Lpips,
) -> ImageScore:
    """Every metric of one output; ``seconds`` is left None (the caller fills it in)."""
    height, width = reference.integer.shape[:2]
    details: list[float | None] = [None] * metrics.DETAIL_LEVELS
    if holes is not None:
        details = list(metrics.detail_ratio(restored, reference.integer, holes))
    return ImageScore(
        model=label,
        condition=condition,
        image=reference.name,
        psnr=metrics.psnr(restored, reference.integer),
        ssim=metrics.ssim(restored, reference.integer),
        psnr_hole=None if holes is None else metrics.psnr(restored, reference.integer, holes),
        lpips=lpips.score(restored, reference.integer),
        seconds=None,
        megapixels=height * width / 1e6,
        detail_0=details[0],
        detail_1=details[1],
        detail_2=details[2],
    )


def _save(
    folder: Path, label: str, condition: str, reference: Reference, image: np.ndarray
) -> None:
    name = "degraded" if label == INPUT_LABEL else folder_name(label)
    path = folder / name / condition / f"{reference.stem}.png"
    scale = metrics.data_range(image)
    write_image(path, image.astype(np.float32) / scale, bit_depth=reference.bit_depth)


def score_folders(
    restored_dir: Path,
    reference_dir: Path,
    masks_dir: Path | None = None,
    lpips: bool = True,
    log: Log = print,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> EvalReport:
    """Score existing outputs against references matched by file stem.

    Restored images are compared at the reference's bit depth; with ``masks_dir`` (white =
    hole, matched by stem) the PSNR over the holes is added. Files above ``max_pixels`` (0: no
    limit) are not decoded: an error names them.

    Raises:
        GanrestoreError: no pair matches, a size or channel mismatch, a missing mask.
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
        task=None,
        source=str(reference_dir),
        seed=None,
        conditions=["restored"],
        models=[{"label": label, "spec": str(restored_dir), "description": "saved outputs"}],
        lpips_reason=scorer.reason,
    )
    for stem in common:
        reference = read_reference(references[stem], reference_dir, max_pixels)
        output = read_image(restored[stem], max_pixels).pixels
        _check_pair(output, reference, restored[stem])
        holes = None
        if masks_dir is not None:
            if stem not in masks:
                raise GanrestoreError(f"--masks {masks_dir}: no mask named {stem}.*")
            holes = read_mask(masks[stem], reference.integer.shape[:2], max_pixels) > 0.5
        integer = quantize(output, reference.bit_depth)
        report.scores.append(_score(label, "restored", reference, integer, holes, scorer))
    return report


def _check_pair(output: np.ndarray, reference: Reference, path: Path) -> None:
    if output.shape != reference.integer.shape:
        raise GanrestoreError(
            f"{path} is {output.shape[1]}x{output.shape[0]} with {output.shape[2]} channel(s) "
            f"but its reference {reference.name} is {reference.integer.shape[1]}x"
            f"{reference.integer.shape[0]} with {reference.integer.shape[2]}"
        )


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
