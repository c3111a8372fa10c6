"""The evaluation loop: images × conditions × models, each output scored against its reference.

Every model restores the very same degraded inputs (built once per image and condition, see
:mod:`ganrestore.evaluation.degrade`). Outputs are quantized to the reference's bit depth before
scoring, exactly as if they had been saved, so ``--save-outputs`` files scored later with
``--restored`` (:mod:`ganrestore.evaluation.scoring`) give the same numbers. The row ``input``
scores the degraded input as the task shows it at the outputs' size
(:meth:`~ganrestore.tasks.Task.scored_input`: an upscaling task's bicubic upscale). How outputs
are scored is the task's too (:meth:`~ganrestore.tasks.Task.eval_scoring`: a border cut from
each side, the detail ratio over the whole image); an input with holes adds the PSNR and the
detail ratio over them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ganrestore.baselines import SigmaAware
from ganrestore.data.io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    ImageTooLargeError,
    write_image,
)
from ganrestore.data.layout import Sample
from ganrestore.data.listing import NOT_AN_IMAGE, SUB_FOLDER, ignored_entries
from ganrestore.errors import GanrestoreError
from ganrestore.evaluation import metrics
from ganrestore.evaluation.degrade import (
    DEFAULT_HOLE_RATIO,
    Condition,
    DegradationError,
    Degraded,
    degrade,
    holes_from_file,
)
from ganrestore.evaluation.models import EvalModel
from ganrestore.evaluation.real_pairs import RealPairs, find_real_pairs, pair_input
from ganrestore.evaluation.report import EvalReport, GridBuilder, folder_name
from ganrestore.evaluation.scoring import (
    Reference,
    UnscorableImageError,
    images_by_stem,
    quantize,
    read_reference,
    score_output,
    too_small_to_score,
)
from ganrestore.tasks import Task, build_task

#: Label of the row that scores the degraded input itself.
INPUT_LABEL = "input"

Log = Callable[[str], None]


@dataclass(frozen=True)
class EvalSettings:
    """What ``ganrestore eval --data`` does.

    Attributes:
        task: the name of an installed task (``"denoise"``, ``"upscale-x4"``, ...).
        data: folder of clean images (not searched recursively); under the real-pairs
            condition, a folder with ``clean/`` beside the task's pair folder
            (:mod:`ganrestore.evaluation.real_pairs`).
        conditions: noise levels or mask kinds (or one ``--masks DIR`` condition), the
            task's own degradation, or the real-pairs condition alone.
        seed: seed of every degradation (real pairs draw nothing).
        hole_ratio: share of hole pixels of generated masks.
        save_outputs: folder for degraded inputs, masks and every model's outputs, or None.
        grid: PNG file for the side-by-side picture, or None.
        lpips: compute LPIPS when its weights are available.
        max_pixels: references and mask files with more pixels (from their headers) are not
            decoded: the run stops with an error naming the file (0: no limit). References are
            the outputs' size, so for a task that enlarges images this bounds the outputs.
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


def _reference_files(folder: Path, option: str, task: Task) -> list[Path]:
    files = list(images_by_stem(folder, option).values())
    if not files:
        hint = ""
        if (folder / "clean").is_dir():  # a pair folder without the task's pair files
            names = task.pair.folder_names
            hint = (
                f"; it has clean/: for real pairs put the {task.pair.word}s in {names} beside "
                f"it, or pass {option} {folder / 'clean'} to degrade the clean images"
            )
        raise GanrestoreError(
            f"{option} {folder}: no PNG, JPEG, WebP, TIFF or BMP images in it{hint}"
        )
    return sorted(files, key=lambda path: path.name)


def _say_ignored(settings: EvalSettings, files: list[Path], log: Log) -> None:
    """Name what ``--data`` holds besides the images scored (GIFs, RAW files, sub-folders,
    broken links...), as ``apply`` does; files that are no images at all are not named."""
    masks = next((c.masks_dir for c in settings.conditions if c.masks_dir is not None), None)
    for path, reason in ignored_entries(settings.data, False, files, skip=masks):
        if reason == SUB_FOLDER:
            reason = "sub-folder: eval scores the images of --data itself"
        if reason != NOT_AN_IMAGE:
            log(f"not scored: {path}: {reason}")


def _samples(
    settings: EvalSettings, task: Task, log: Log
) -> tuple[Path, list[Sample], RealPairs | None]:
    """The folder reference names are relative to, the samples to score and, for real
    pairs, what was found (said once through ``log``)."""
    if not any(condition.real_pairs for condition in settings.conditions):
        files = _reference_files(settings.data, "--data", task)
        _say_ignored(settings, files, log)
        return settings.data, [Sample(path) for path in files], None
    if len(settings.conditions) > 1:
        raise GanrestoreError(
            "real pairs are scored under their own condition alone: "
            f"drop {', '.join(c.name for c in settings.conditions if not c.real_pairs)}"
        )
    pairs = find_real_pairs(settings.data, task, settings.max_pixels)
    log(pairs.summary)
    for note in pairs.notes:
        log(note)
    return pairs.clean_dir, list(pairs.pairs), pairs


def evaluate(settings: EvalSettings, models: Sequence[EvalModel], log: Log = print) -> EvalReport:
    """Degrade every clean image, restore it with every model and score it; or, under the
    real-pairs condition, restore the pair file of every clean image.

    Returns:
        The report: per-image scores, means per model and condition, timings.

    Raises:
        GanrestoreError: an unreadable image (of a real pair: said and skipped instead), a
            missing mask, an unusable folder.
    """
    task = build_task(settings.task)
    folder, samples, pairs = _samples(settings, task, log)
    masks = _mask_files(settings)
    scoring = task.eval_scoring()
    lpips = metrics.Lpips.load(settings.lpips)
    extra = dict(settings.extra)
    extra["skipped"] = list(pairs.skipped) if pairs is not None else []
    report = EvalReport(
        task=settings.task,
        source=str(settings.data),
        seed=None if pairs is not None else settings.seed,
        mode="real-pairs" if pairs is not None else "degrade",
        conditions=[condition.name for condition in settings.conditions],
        models=[
            {"label": INPUT_LABEL, "spec": "the degraded input", "description": ""},
            *(
                {"label": m.label, "spec": m.spec, "description": m.restorer.description}
                for m in models
            ),
        ],
        lpips_reason=lpips.reason,
        extra=extra,
    )
    grid = GridBuilder([INPUT_LABEL, *(m.label for m in models)]) if settings.grid else None
    warmed = False
    for index, sample in enumerate(samples, start=1):
        try:
            reference = read_reference(sample.clean, folder, settings.max_pixels)
            given = None
            if pairs is not None:
                given = pair_input(reference, sample, task.pair, settings.max_pixels)
            problem = too_small_to_score(reference.integer.shape, scoring, task.scale)
            if problem is not None:
                raise UnscorableImageError(sample.clean, problem)
        except (ImageReadError, UnscorableImageError) as exc:
            if isinstance(exc, ImageTooLargeError):
                raise  # scores over part of a folder by size would not compare: say it first
            log(f"[{index}/{len(samples)}] skipped: {exc}")  # said once; the rest is scored
            extra["skipped"].append(f"{exc.path} ({exc.reason})")
            continue
        log(f"[{index}/{len(samples)}] {reference.name}")
        for condition in settings.conditions:
            if given is not None:
                degraded = given
            else:
                holes = _holes_for(condition, reference, masks, settings.max_pixels)
                degraded = degrade(
                    reference.pixels,
                    reference.name,
                    condition,
                    settings.seed,
                    settings.hole_ratio,
                    holes,
                )
            truth = reference.integer
            if degraded.target is not None:
                truth = quantize(degraded.target, reference.bit_depth)
            if not warmed:
                for model in models:  # first calls pay for imports and allocations: untimed
                    _restore(model, degraded, condition)
                warmed = True
            outputs = _outputs(models, degraded, condition, task)
            for label, (restored, seconds) in outputs.items():
                integer = quantize(restored, reference.bit_depth)
                holes = degraded.holes
                score = score_output(
                    label, condition.name, reference.name, truth, integer, holes, lpips, scoring
                )
                report.scores.append(replace(score, seconds=seconds))
                if settings.save_outputs is not None:
                    _save_output(
                        settings.save_outputs, label, condition.name, reference, integer, degraded
                    )
            if settings.save_outputs is not None:
                _save_input(settings.save_outputs, condition.name, reference, degraded)
            if grid is not None:
                thumbnails = {label: quantize(out, 8) for label, (out, _) in outputs.items()}
                shown = Path(reference.name).with_suffix("").as_posix()  # flat: the stem
                grid.add_row(f"{shown} {condition.name}", truth, thumbnails)
    if not report.scores:
        raise GanrestoreError(
            f"--data {settings.data}: none of its {len(samples)} images could be read and scored "
            f"({'; '.join(extra['skipped'])}); check them"
        )
    if extra["skipped"] and pairs is None:  # real pairs: said with what was found
        log(f"{len(extra['skipped'])} image(s) skipped; the scores are over the rest")
    if grid is not None and settings.grid is not None:
        grid.write(settings.grid)
        log(f"picture: {settings.grid}")
    return report


def _outputs(
    models: Sequence[EvalModel], degraded: Degraded, condition: Condition, task: Task
) -> dict[str, tuple[np.ndarray, float | None]]:
    """The degraded input as the task scores it (untimed) and every model's output with its
    seconds, by label; each ``(H, W, C)`` float in [0, 1], the outputs' size."""
    images, masks = _tensors(degraded)
    batch = {
        "degraded": images,
        "mask": torch.zeros_like(images[:, :1]) if masks is None else masks,
    }
    shown = task.scored_input(batch)[0].permute(1, 2, 0).numpy()
    outputs: dict[str, tuple[np.ndarray, float | None]] = {INPUT_LABEL: (shown, None)}
    for model in models:
        outputs[model.label] = _restore(model, degraded, condition)
    return outputs


def _tensors(degraded: Degraded) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(1, C, h, w)`` images in [0, 1] and ``(1, 1, h, w)`` holes (1 = hole) or None."""
    top = metrics.data_range(degraded.pixels)
    images = torch.from_numpy(degraded.pixels.astype(np.float32) / top).permute(2, 0, 1)[None]
    masks = None
    if degraded.holes is not None:
        masks = torch.from_numpy(degraded.holes.astype(np.float32))[None, None]
    return images.contiguous(), masks


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
    return holes_from_file(path, reference.integer.shape[:2], max_pixels)


def _restore(
    model: EvalModel, degraded: Degraded, condition: Condition
) -> tuple[np.ndarray, float]:
    """``(H, W, C)`` float output of ``model`` and the seconds it took."""
    images, masks = _tensors(degraded)
    restorer = model.restorer
    hinted = isinstance(restorer, SigmaAware)
    if hinted:
        restorer.set_sigma(condition.sigma_hint)
    try:
        start = time.perf_counter()
        restored = restorer.restore_batch(images, masks)
        seconds = time.perf_counter() - start
    finally:
        if hinted:
            restorer.set_sigma(None)
    return restored[0].detach().cpu().float().permute(1, 2, 0).numpy(), seconds


def _save_output(
    folder: Path,
    label: str,
    condition: str,
    reference: Reference,
    image: np.ndarray,
    degraded: Degraded,
) -> None:
    """``FOLDER/MODEL/CONDITION/NAME.png``. The row ``input`` is saved only where it is not the
    models' input itself (:func:`_save_input` writes that): at the outputs' larger size, an
    upscaling task's bicubic upscale, under ``input/``."""
    if label != INPUT_LABEL:
        _write(folder / folder_name(label) / condition, reference, image)
    elif image.shape[:2] != degraded.pixels.shape[:2]:
        _write(folder / INPUT_LABEL / condition, reference, image)


def _save_input(folder: Path, condition: str, reference: Reference, degraded: Degraded) -> None:
    """The models' input under ``degraded/``, at the reference's bit depth, and its holes
    (white = hole) under ``masks/``."""
    top = metrics.data_range(degraded.pixels)
    given = quantize(degraded.pixels.astype(np.float32) / top, reference.bit_depth)
    _write(folder / "degraded" / condition, reference, given)
    if degraded.holes is not None:
        write_image(
            folder / "masks" / condition / _png(reference), degraded.holes.astype(np.float32)
        )


def _write(folder: Path, reference: Reference, image: np.ndarray) -> None:
    """``image`` (integer) as ``FOLDER/NAME.png`` at the reference's bit depth."""
    scale = metrics.data_range(image)
    write_image(
        folder / _png(reference), image.astype(np.float32) / scale, bit_depth=reference.bit_depth
    )


def _png(reference: Reference) -> str:
    """``NAME.png``: the reference's path relative to its folder with the suffix ``.png`` (a
    real pair's clean/ is searched recursively: ``a/cat.png``, kept apart from ``b/cat.png``)."""
    return Path(reference.name).with_suffix(".png").as_posix()
