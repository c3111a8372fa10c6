"""The folder runner behind ``ganrestore apply``: every file restored, skipped or reported.

Rules, in the order they apply:

* ``--in`` is only read. ``--out`` equal to or inside ``--in`` is refused, and so is any output
  that would land inside ``--in``.
* Images are found by suffix (PNG, JPEG, WebP, TIFF, BMP; ``--recursive`` descends into
  sub-folders, mirrored under ``--out``). Hidden files, files under ``--masks`` and, in inpaint
  runs, sidecar masks ``NAME_mask.*`` are not inputs.
* An existing output is skipped unless ``overwrite``; two inputs with one output name fail.
* Unreadable, corrupt or unsupported files fail with the reason; the others go on.
* Outputs are written to a temporary file and renamed into place (``write_image``), so an
  interrupted run never leaves a truncated image.

Speed: headers are read first so that same-size images are batched together; decoding and
encoding run on worker threads, ahead of and behind the model; large images are tiled by the
restorer with their tiles batched instead.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import numpy as np
import torch

from ganrestore.data.io import ImageReadError, image_size, list_images, read_image, write_image
from ganrestore.errors import GanrestoreError
from ganrestore.inference.masks import ALPHA_SUFFIXES, MaskFinder, load_mask_file, mask_from_alpha
from ganrestore.inference.restorer import Restorer

#: ``--format`` choices -> output suffix (None keeps the input's).
OUTPUT_SUFFIXES = {"keep": None, "png": ".png", "jpg": ".jpg", "webp": ".webp"}
#: Pixels decoded ahead of the model, or restored and waiting for their encoder, beyond which
#: the runner waits (bounds memory on folders of huge photos).
PREFETCH_PIXELS = 16_000_000
MAX_GROUPS_AHEAD = 4

Log = Callable[[str], None]
Progress = Callable[[int], None]


class UnsafeFoldersError(GanrestoreError):
    """``--out`` would write into ``--in``, or a folder option does not name a folder."""


@dataclass(frozen=True)
class ApplyOptions:
    """What ``ganrestore apply`` was asked to do.

    Attributes:
        input_dir: folder of images to restore (never written to).
        output_dir: where restored images go, mirroring ``input_dir``.
        masks_dir: ``--masks DIR`` (inpainting), or None.
        recursive: descend into sub-folders.
        overwrite: replace existing outputs (else they are skipped).
        output_format: ``keep``, ``png``, ``jpg`` or ``webp``.
        workers: threads decoding and encoding images.
        quality: JPEG / WebP quality.
    """

    input_dir: Path
    output_dir: Path
    masks_dir: Path | None = None
    recursive: bool = False
    overwrite: bool = False
    output_format: str = "keep"
    workers: int = field(default_factory=lambda: min(8, max(2, os.cpu_count() or 2)))
    quality: int = 95


@dataclass
class ApplySummary:
    """Outcome of a run: every input file is in exactly one of the three lists."""

    restored: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0
    megapixels: float = 0.0

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


@dataclass(frozen=True)
class Job:
    """One input file and where its output goes."""

    source: Path
    target: Path
    mask_file: Path | None = None


@dataclass
class FolderPlan:
    """Files to restore, and those already skipped or failed while planning."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.jobs) + len(self.skipped) + len(self.failed)


@dataclass
class _Ready:
    """A decoded image (and mask) waiting for the model, then for its encoder."""

    job: Job
    pixels: np.ndarray | None  # (H, W, C) float32 in [0, 1]; dropped once restored
    holes: np.ndarray | None  # (H, W) {0, 1}, 1 = hole
    alpha: np.ndarray | None  # (H, W) the alpha to write back
    bit_depth: int
    warning: str | None = None


def check_folders(options: ApplyOptions) -> None:
    """Refuse ``--out`` equal to or inside ``--in``, and folder options that are no folders."""
    for option, folder in (("--in", options.input_dir), ("--masks", options.masks_dir)):
        if folder is not None and not folder.is_dir():
            raise UnsafeFoldersError(f"{option} {folder}: not a folder")
    source, target = options.input_dir.resolve(), options.output_dir.resolve()
    if target == source or source in target.parents:
        raise UnsafeFoldersError(
            f"--out {options.output_dir} is inside --in {options.input_dir}; the input folder is "
            "never written to: choose an output folder outside it"
        )
    if target.exists() and not target.is_dir():
        raise UnsafeFoldersError(f"--out {options.output_dir} exists and is not a folder")


def plan_folder(options: ApplyOptions, uses_mask: bool) -> FolderPlan:
    """Find the inputs, their outputs and masks, applying the safety rules.

    Raises:
        UnsafeFoldersError: see :func:`check_folders`.
    """
    check_folders(options)
    source_root = options.input_dir.resolve()
    images = list_images(options.input_dir, options.recursive)
    if options.masks_dir is not None:
        masks_root = options.masks_dir.resolve()
        images = [p for p in images if masks_root not in p.resolve().parents]
    finder = MaskFinder(options.input_dir, options.masks_dir, images) if uses_mask else None
    plan, owners = FolderPlan(), {}
    for source in images:
        if finder is not None and source in finder.sidecar_files:
            continue
        target = output_path(options, source)
        resolved = target.resolve()
        if resolved == source_root or source_root in resolved.parents:
            plan.failed.append((source, f"its output {target} would be inside --in"))
        elif resolved in owners:
            plan.failed.append((source, f"same output {target} as {owners[resolved]}"))
        elif target.exists() and not options.overwrite:
            owners[resolved] = source
            plan.skipped.append((source, "output exists (use --overwrite)"))
        else:
            owners[resolved] = source
            mask_file = finder.mask_file(source) if finder is not None else None
            plan.jobs.append(Job(source, target, mask_file))
    return plan


def output_path(options: ApplyOptions, source: Path) -> Path:
    """Where the output of ``source`` goes: mirrored under ``--out``, suffix per ``--format``."""
    if options.output_format not in OUTPUT_SUFFIXES:
        raise GanrestoreError(
            f"--format {options.output_format}: choose one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    target = options.output_dir / source.relative_to(options.input_dir)
    suffix = OUTPUT_SUFFIXES[options.output_format]
    return target.with_suffix(suffix) if suffix else target


def run_folder(
    restorer: Restorer,
    options: ApplyOptions,
    log: Log | None = None,
    progress: Progress | None = None,
) -> ApplySummary:
    """Restore every image of ``options.input_dir`` into ``options.output_dir``.

    Args:
        restorer: the model.
        options: folders and rules.
        log: receives one line per warning, skipped and failed file.
        progress: called with the number of files just finished (any outcome).

    Returns:
        The counts; ``exit_code`` is 1 when any file failed.
    """
    plan = plan_folder(options, restorer.uses_mask)
    return run_plan(restorer, plan, options, log, progress)


def run_plan(
    restorer: Restorer,
    plan: FolderPlan,
    options: ApplyOptions,
    log: Log | None = None,
    progress: Progress | None = None,
) -> ApplySummary:
    """Run a :class:`FolderPlan` (see :func:`run_folder`)."""
    log = log or (lambda message: None)
    progress = progress or (lambda count: None)
    summary = ApplySummary(skipped=list(plan.skipped), failed=list(plan.failed))
    for status, files in (("skipped", plan.skipped), ("failed", plan.failed)):
        for source, reason in files:
            log(f"{status}: {source}: {reason}")
    progress(len(plan.skipped) + len(plan.failed))
    start = time.perf_counter()
    pool = ThreadPoolExecutor(max(1, options.workers), thread_name_prefix="ganrestore-io")
    runner = _Runner(restorer, options, pool, summary, log, progress)
    try:
        runner.run(plan.jobs)
    finally:  # on Ctrl-C: decode no more, but finish the (atomic) writes of restored images
        for futures in runner.decoding:
            for future in futures:
                future.cancel()
        pool.shutdown(wait=True)
    summary.seconds = time.perf_counter() - start
    return summary


class _Runner:
    """Decode ahead on the pool, restore batches on this thread, encode behind on the pool."""

    def __init__(
        self,
        restorer: Restorer,
        options: ApplyOptions,
        pool: ThreadPoolExecutor,
        summary: ApplySummary,
        log: Log,
        progress: Progress,
    ) -> None:
        self.restorer, self.options, self.pool = restorer, options, pool
        self.summary, self.log, self.progress = summary, log, progress
        self.writes: deque[tuple[_Ready, Future[str | None], int]] = deque()
        self.decoding: deque[list[Future[_Ready | tuple[Job, str, str]]]] = deque()

    def run(self, jobs: list[Job]) -> None:
        groups = self._groups(jobs)
        decoding, submitted = self.decoding, 0
        for index in range(len(groups)):
            while submitted < len(groups) and (
                submitted == index or self._may_decode_ahead(groups[index + 1 : submitted])
            ):
                decoding.append([self.pool.submit(self._decode, j) for j in groups[submitted][1]])
                submitted += 1
            ready = []
            for outcome in (future.result() for future in decoding.popleft()):
                if isinstance(outcome, _Ready):
                    ready.append(outcome)
                else:
                    self._finish(*outcome)
            self._restore(ready)
            while len(self.writes) > 2 * self.options.workers + 4 or (
                len(self.writes) > 1 and sum(w[2] for w in self.writes) > PREFETCH_PIXELS
            ):
                self._collect_write()
        while self.writes:
            self._collect_write()

    @staticmethod
    def _may_decode_ahead(ahead: list[tuple[tuple[int, int], list[Job]]]) -> bool:
        """Whether one more group may be decoded while ``ahead`` already waits."""
        pixels = sum(height * width * len(group) for (height, width), group in ahead)
        return len(ahead) < MAX_GROUPS_AHEAD and pixels < PREFETCH_PIXELS

    def _groups(self, jobs: list[Job]) -> list[tuple[tuple[int, int], list[Job]]]:
        """Jobs with the same header size, in batches of the restorer's limit."""
        sized = []
        for job, size in zip(jobs, self.pool.map(_header_size, jobs), strict=True):
            if isinstance(size, str):
                self._finish(job, "failed", size)
            else:
                sized.append((size, job))
        sized.sort(key=lambda item: item[0])
        groups = []
        for size, members in groupby(sized, key=lambda item: item[0]):
            same = [job for _, job in members]
            limit = max(1, self.restorer.batch_limit(*size))
            groups += [(size, same[i : i + limit]) for i in range(0, len(same), limit)]
        return groups

    def _decode(self, job: Job) -> _Ready | tuple[Job, str, str]:
        try:
            image = read_image(job.source)
        except ImageReadError as exc:
            return job, "failed", exc.reason
        alpha, loaded = image.alpha, None
        if self.restorer.uses_mask:
            if job.mask_file is not None:
                try:
                    loaded = load_mask_file(job.mask_file, (image.height, image.width))
                except ImageReadError as exc:
                    return job, "failed", f"its mask {exc.path}: {exc.reason}"
            else:
                loaded = mask_from_alpha(image.alpha)
                if loaded is not None and alpha is not None:
                    alpha = np.where(loaded.holes > 0, np.float32(1), alpha)  # filled: opaque
            if loaded is None and not self.restorer.mask_optional:
                reason = "no mask (none in --masks, no NAME_mask.* beside it, no transparency)"
                return job, "skipped", reason
        holes, warning = (None, None) if loaded is None else (loaded.holes, loaded.warning)
        return _Ready(job, image.pixels, holes, alpha, image.bit_depth, warning)

    def _restore(self, ready: list[_Ready]) -> None:
        key = lambda item: (item.pixels.shape, item.holes is None)  # noqa: E731
        for _, members in groupby(sorted(ready, key=key), key=key):
            batch = list(members)
            for item in batch:
                if item.warning:
                    self.log(f"warning: {item.warning}")
            pixels = torch.stack([torch.from_numpy(i.pixels).permute(2, 0, 1) for i in batch])
            holes = None
            if batch[0].holes is not None:
                holes = torch.stack([torch.from_numpy(i.holes)[None] for i in batch])
            for item in batch:  # the batch tensors hold the pixels now
                item.pixels = item.holes = None
            try:
                restored = self.restorer.restore_batch(pixels, holes)
            except (RuntimeError, ValueError, GanrestoreError) as exc:
                hint = ""
                if "out of memory" in str(exc):
                    hint = " (lower --tile or --batch-size)"
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                for item in batch:
                    self._finish(item.job, "failed", f"{type(exc).__name__}: {exc}{hint}")
                continue
            del pixels, holes
            area = restored[0, 0].numel()
            self.summary.megapixels += area * len(batch) / 1e6
            for item, result in zip(batch, restored, strict=True):
                self.writes.append((item, self.pool.submit(self._write, item, result), area))

    def _write(self, item: _Ready, result: torch.Tensor) -> str | None:
        try:
            pixels = result.permute(1, 2, 0).numpy()
            write_image(
                item.job.target,
                pixels,
                alpha=item.alpha,
                bit_depth=item.bit_depth,
                quality=self.options.quality,
            )
        except (OSError, ValueError) as exc:
            return f"cannot write {item.job.target}: {exc}"
        return None

    def _collect_write(self) -> None:
        item, future, _ = self.writes.popleft()
        error = future.result()
        if error is not None:
            self._finish(item.job, "failed", error)
            return
        if item.alpha is not None and item.job.target.suffix.lower() not in ALPHA_SUFFIXES:
            self.log(f"warning: {item.job.target}: its format has no alpha; transparency dropped")
        self._finish(item.job, "restored", "")

    def _finish(self, job: Job, status: str, reason: str) -> None:
        if status == "restored":
            self.summary.restored.append(job.source)
        else:
            getattr(self.summary, status).append((job.source, reason))
            self.log(f"{status}: {job.source}: {reason}")
        self.progress(1)


def _header_size(job: Job) -> tuple[int, int] | str:
    try:
        return image_size(job.source)
    except ImageReadError as exc:
        return exc.reason
