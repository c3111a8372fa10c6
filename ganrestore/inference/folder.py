"""The folder runner behind ``ganrestore apply``: every file restored, skipped or reported.

Which files are read and where each output may go is planned by :mod:`.plan` (the safety
rules: ``--in`` and ``--masks`` are only read). Then, for each planned file:

* Unreadable, corrupt or unsupported files, and images above ``max_pixels`` (read from the
  header, before decoding), fail with the reason; the others go on. The limit is checked
  again when each file is decoded, from the header of the very file decoded (one replaced by a
  larger one since the scan is refused), and mask files (``--masks``, sidecars) are held to it
  too: a mask above it fails its image.
* Outputs are written to a temporary file and moved into place (``write_image``), so an
  interrupted run never leaves a truncated image. Without ``overwrite``, an output that
  appeared since planning (another run on the same ``--out``) is not replaced but skipped.
  Temporaries left by a killed run are removed when the next run starts.
* EXIF and ICC profile are written back (``DecodedImage.metadata``).
* Said out loud, in the log and the :class:`ApplySummary`: what ``--in`` holds besides images
  (``ignored``), which model restored each image (``by_task``), images with no mask in
  ``--masks`` and what became of them, masks with no hole or mostly holes (``warnings``).

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

from ganrestore.data.atomic import OutputExistsError, remove_stale_temporaries
from ganrestore.data.io import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    ImageReadError,
    ImageTooLargeError,
    image_size,
    read_image,
    write_image,
)
from ganrestore.data.listing import NOT_AN_IMAGE
from ganrestore.data.metadata import ImageMetadata
from ganrestore.data.pixel_limit import over_limit
from ganrestore.errors import GanrestoreError
from ganrestore.inference.image_batch import alpha_at
from ganrestore.inference.masks import (
    ALPHA_SUFFIXES,
    SIXTEEN_BIT_SUFFIXES,
    LoadedMask,
    load_mask_file,
    mask_from_alpha,
)
from ganrestore.inference.plan import (
    OUTPUT_SUFFIXES,
    FolderPlan,
    Job,
    UnsafeFoldersError,
    check_folders,
    output_path,
    plan_folder,
)
from ganrestore.inference.restorer import Restorer
from ganrestore.inference.summary import ApplySummary
from ganrestore.inference.tiling import TileProgress, reporting_tiles

__all__ = [  # the planning half lives in .plan; its names are re-exported here
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_SUFFIXES",
    "ApplyOptions",
    "ApplySummary",
    "FolderPlan",
    "Job",
    "UnsafeFoldersError",
    "check_folders",
    "output_path",
    "plan_folder",
    "run_folder",
    "run_plan",
]

#: Pixels decoded ahead of the model, or restored and waiting for their encoder, beyond which
#: the runner waits (bounds memory on folders of huge photos).
PREFETCH_PIXELS = 16_000_000
MAX_GROUPS_AHEAD = 4
#: What a file above ``--max-pixels`` is told, after the size (see ``pixel_limit.over_limit``).
RAISE_THE_LIMIT = (
    "; raise it with --max-pixels (0: no limit) if this machine has the memory (about 40 bytes "
    "per pixel)"
)

Log = Callable[[str], None]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ApplyOptions:
    """What ``ganrestore apply`` was asked to do.

    Attributes:
        input_dir: folder of images to restore, or one image file (never written to).
        output_dir: where restored images go, mirroring ``input_dir``.
        masks_dir: ``--masks DIR`` (inpainting), or None.
        recursive: descend into sub-folders.
        overwrite: replace existing outputs (else they are skipped).
        output_format: ``keep``, ``png``, ``jpg``, ``webp`` or ``tiff``.
        workers: threads decoding and encoding images.
        quality: JPEG / WebP quality.
        max_pixels: images and mask files with more pixels (height x width, read from the
            header before decoding, when the folder is scanned and again when each file is
            decoded) fail; 0: no limit. For a model whose result is larger (upscaling), the
            limit holds for the result: an image fails when its result would be above it.
        invert_mask: mask files are black = hole (``--invert-mask``); alpha is not inverted.
    """

    input_dir: Path
    output_dir: Path
    masks_dir: Path | None = None
    recursive: bool = False
    overwrite: bool = False
    output_format: str = "keep"
    workers: int = field(default_factory=lambda: min(8, max(2, os.cpu_count() or 2)))
    quality: int = 95
    max_pixels: int = DEFAULT_MAX_PIXELS
    invert_mask: bool = False


@dataclass
class _Ready:
    """A decoded image (and mask) waiting for the model, then for its encoder."""

    job: Job
    pixels: np.ndarray | None  # (H, W, C) float32 in [0, 1]; dropped once restored
    holes: np.ndarray | None  # (H, W) {0, 1}, 1 = hole
    alpha: np.ndarray | None  # (H, W) the alpha to write back
    bit_depth: int
    warnings: list[str] = field(default_factory=list)
    metadata: ImageMetadata | None = None  # EXIF and ICC profile to write back
    task: str = ""  # the task of the model that restores it
    hole_source: str | None = None  # where the holes came from: a mask file, or "alpha"


def run_folder(
    restorer: Restorer,
    options: ApplyOptions,
    log: Log | None = None,
    progress: Progress | None = None,
    tiles: TileProgress | None = None,
) -> ApplySummary:
    """Restore every image of ``options.input_dir`` into ``options.output_dir``.

    Args:
        restorer: the model.
        options: folders and rules.
        log: receives one line per warning, skipped and failed file, and one for removed
            leftovers of killed runs.
        progress: called with the number of files just finished (any outcome).
        tiles: called with ``(done, total)`` tiles of the batch being restored, after each
            batch of tiles (a large photo advances tile by tile).

    Returns:
        The counts; ``exit_code`` is 1 when any file failed.
    """
    plan = plan_folder(options, restorer.takes_masks)
    return run_plan(restorer, plan, options, log, progress, tiles)


def run_plan(
    restorer: Restorer,
    plan: FolderPlan,
    options: ApplyOptions,
    log: Log | None = None,
    progress: Progress | None = None,
    tiles: TileProgress | None = None,
    remove_stale: bool = True,
) -> ApplySummary:
    """Run a :class:`FolderPlan` (see :func:`run_folder`).

    ``remove_stale``: first remove temporaries left in ``--out`` by killed runs
    (:func:`remove_stale_outputs`); False when another process did (a run over several
    processes, :mod:`.ranks`).
    """
    log = log or (lambda message: None)
    progress = progress or (lambda count: None)
    if remove_stale:
        remove_stale_outputs(options, log)
    summary = ApplySummary(skipped=list(plan.skipped), failed=list(plan.failed))
    summary.ignored = list(plan.ignored)
    for source, reason in plan.ignored:  # other files are only counted (in the summary)
        if reason != NOT_AN_IMAGE:
            log(f"ignored: {source}: {reason}")
    for status, files in (("skipped", plan.skipped), ("failed", plan.failed)):
        for source, reason in files:
            log(f"{status}: {source}: {reason}")
    progress(len(plan.skipped) + len(plan.failed))
    start = time.perf_counter()
    pool = ThreadPoolExecutor(max(1, options.workers), thread_name_prefix="ganrestore-io")
    runner = _Runner(restorer, options, pool, summary, log, progress)
    runner.tiles = tiles
    try:
        runner.run(plan.jobs)
    finally:  # on Ctrl-C: decode no more, but finish the (atomic) writes of restored images
        for futures in runner.decoding:
            for future in futures:
                future.cancel()
        pool.shutdown(wait=True)
    summary.seconds = time.perf_counter() - start
    summary.without_mask.sort()
    return summary


def remove_stale_outputs(options: ApplyOptions, log: Log | None = None) -> None:
    """Remove temporaries left in ``--out`` by a killed run, and say how many (to ``log``)."""
    stale = remove_stale_temporaries(options.output_dir, options.recursive, suffixes=IMAGE_SUFFIXES)
    if stale and log is not None:
        log(f"removed {len(stale)} temporary file(s) left in {options.output_dir} by a killed run")


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
        self.tiles: TileProgress | None = None
        self.writes: deque[tuple[_Ready, Future[tuple[str, str] | None], int]] = deque()
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
        limit, scale = self.options.max_pixels, self.restorer.scale
        sizes = self.pool.map(lambda job: _header_size(job, limit, scale), jobs)
        for job, size in zip(jobs, sizes, strict=True):
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
        limit = self.options.max_pixels
        try:  # the header is checked again: the file may have been replaced since the scan
            image = read_image(job.source, max_pixels=limit // self.restorer.scale**2)
        except ImageReadError as exc:
            return job, "failed", _reason(exc)
        alpha, loaded, warnings = image.alpha, None, []
        if self.restorer.takes_masks:
            if job.mask_file is not None:
                size, invert = (image.height, image.width), self.options.invert_mask
                try:
                    loaded = load_mask_file(job.mask_file, size, invert, max_pixels=limit)
                except ImageReadError as exc:
                    return job, "failed", f"its mask {exc.path}: {_reason(exc)}"
            else:
                loaded = mask_from_alpha(image.alpha, job.source)
                if loaded is not None and alpha is not None:
                    alpha = np.where(loaded.holes > 0, np.float32(1), alpha)  # filled: opaque
            outcome = self._without_mask(job, loaded)
            if outcome is not None:
                self.summary.without_mask.append((job.source, outcome))  # sorted at the end
                masks = self.options.masks_dir
                warnings.append(f"{job.source}: no mask in --masks {masks}; {outcome}")
            if loaded is None and not self.restorer.mask_optional:
                reason = "no mask (none in --masks, no NAME_mask.* beside it, no transparency)"
                return job, "skipped", reason
        holes = None if loaded is None else loaded.holes
        if loaded is not None and loaded.warning:
            warnings.insert(0, loaded.warning)
        task = self.restorer.task_for(holes is not None)
        pixels, depth, metadata = image.pixels, image.bit_depth, image.metadata
        source = None if loaded is None else loaded.source
        return _Ready(job, pixels, holes, alpha, depth, warnings, metadata, task, source)

    def _without_mask(self, job: Job, loaded: LoadedMask | None) -> str | None:
        """What becomes of an image without a mask in ``--masks``.

        None when it has one there, or when it is skipped: a skipped file is named once, by its
        own ``skipped:`` line.
        """
        masks = self.options.masks_dir
        if masks is None or (job.mask_file is not None and masks in job.mask_file.parents):
            return None
        if job.mask_file is not None:
            return f"its sidecar mask {job.mask_file} is used"
        if loaded is not None:
            return "its transparent pixels are the holes"
        if self.restorer.mask_optional:
            return f"restored by the {self.restorer.task_for(False)} model instead"
        return None

    def _restore(self, ready: list[_Ready]) -> None:
        key = lambda item: (item.pixels.shape, item.holes is None)  # noqa: E731
        for _, members in groupby(sorted(ready, key=key), key=key):
            batch = list(members)
            for item in batch:
                for warning in item.warnings:
                    self.log(f"warning: {warning}")
                    self.summary.warnings.append((item.job.source, warning))
            pixels = torch.stack([torch.from_numpy(i.pixels).permute(2, 0, 1) for i in batch])
            holes = None
            if batch[0].holes is not None:
                holes = torch.stack([torch.from_numpy(i.holes)[None] for i in batch])
            for item in batch:  # the batch tensors hold the pixels now
                item.pixels = item.holes = None
            try:
                if self.tiles is None:
                    restored = self.restorer.restore_batch(pixels, holes)
                else:
                    with reporting_tiles(self.tiles):
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
            for item, result in zip(batch, restored, strict=True):
                self.writes.append((item, self.pool.submit(self._write, item, result), area))

    def _write(self, item: _Ready, result: torch.Tensor) -> tuple[str, str] | None:
        """Writes one output; returns ``(status, reason)`` when it was not written."""
        try:
            pixels = result.permute(1, 2, 0).numpy()
            alpha = alpha_at(item.alpha, *pixels.shape[:2])  # a task may change the size
            write_image(
                item.job.target,
                pixels,
                alpha=alpha,
                bit_depth=item.bit_depth,
                quality=self.options.quality,
                overwrite=self.options.overwrite,
                metadata=item.metadata,
            )
        except OutputExistsError:  # created since planning, e.g. by another run on --out
            return "skipped", "output appeared during the run; not replaced (use --overwrite)"
        except (OSError, ValueError) as exc:
            return "failed", f"cannot write {item.job.target}: {exc}"
        return None

    def _collect_write(self) -> None:
        item, future, area = self.writes.popleft()
        unwritten = future.result()
        if unwritten is not None:
            self._finish(item.job, *unwritten)
            return
        self.summary.megapixels += area / 1e6  # what was written: a failed write counts nothing
        for warning in _format_losses(item):
            self.log(f"warning: {warning}")
            self.summary.warnings.append((item.job.source, warning))
        self.summary.by_task.setdefault(item.task, []).append(item.job.source)
        if item.hole_source is not None:
            self.summary.hole_sources.append((item.job.source, item.hole_source))
        self._finish(item.job, "restored", "")

    def _finish(self, job: Job, status: str, reason: str) -> None:
        if status == "restored":
            self.summary.restored.append(job.source)
        else:
            getattr(self.summary, status).append((job.source, reason))
            self.log(f"{status}: {job.source}: {reason}")
        self.progress(1)


def _format_losses(item: _Ready) -> list[str]:
    """What the output's format cannot keep of a restored image: its transparency (only when
    some pixel is not opaque) and its 16 bits per channel."""
    suffix = item.job.target.suffix.lower()
    losses = []
    if item.alpha is not None and suffix not in ALPHA_SUFFIXES and item.alpha.min() < 1:
        losses.append(f"{item.job.target}: its format has no alpha; transparency dropped")
    if item.bit_depth > 8 and suffix not in SIXTEEN_BIT_SUFFIXES:
        losses.append(
            f"{item.job.target}: its format keeps 8 bits per channel; the {item.bit_depth}-bit "
            "image was reduced to 8 (--format png or tiff keeps 16)"
        )
    return losses


def _header_size(job: Job, max_pixels: int, scale: int) -> tuple[int, int] | str:
    """``(H, W)`` from the header, or why the file fails (unreadable, or its result, ``scale``
    times larger, over ``max_pixels``)."""
    try:
        height, width = image_size(job.source)
    except ImageReadError as exc:
        return exc.reason
    too_large = over_limit(height, width, max_pixels, scale)
    return (height, width) if too_large is None else too_large + RAISE_THE_LIMIT


def _reason(error: ImageReadError) -> str:
    """Why a file failed to decode, with how to raise the limit when it is too large."""
    return error.reason + (RAISE_THE_LIMIT if isinstance(error, ImageTooLargeError) else "")
