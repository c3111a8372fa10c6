"""Restorations, one at a time on a worker thread, with progress the page polls.

The HTTP handlers only queue a job and return; the single worker thread loads the model (once,
:class:`~ganrestore.web.models.ModelCache`) and runs ``Restorer.restore`` (which tiles large
photos and fills large holes coarse to fine, as ``ganrestore apply`` does), so the server keeps
answering meanwhile and memory stays that of one restoration. Its tiles report progress through
:func:`ganrestore.inference.tiling.reporting_tiles`. A job holds its share of the memory budget
(:mod:`.budget`, reserved by the request that queued it) and keeps its photo open until it ends;
a finished job keeps nothing of the photo. Messages name no path of this installation.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ganrestore.errors import GanrestoreError
from ganrestore.web.budget import Reservation
from ganrestore.web.controls import MASK, JobSettings, settings_applied
from ganrestore.web.errors import Busy, NotFound
from ganrestore.web.models import ModelCache, without_install_paths
from ganrestore.web.photos import Photo, Version, new_id

if TYPE_CHECKING:
    from ganrestore.inference import Restorer

logger = logging.getLogger(__name__)
#: ``progress(done, total)``: tiles of the current pass finished so far.
Progress = Callable[[int, int], None]
#: Jobs waiting beyond this are refused (a restoration runs meanwhile).
MAX_WAITING = 4
WAITING = ("queued", "loading", "running")
#: Finished jobs remembered for the page to poll.
KEPT_JOBS = 64


@dataclass
class Job:
    """One restoration and how far it got.

    Attributes:
        state: ``queued``, ``loading`` (the model), ``running``, ``done`` or ``failed``.
        done, total: tiles of the current pass finished so far, out of ``total`` (0: unknown).
        message: why it failed, or a note for the page.
        version: the new version's number once done.
        width, height: the new version's size once done (a task may change the size).
    """

    id: str
    photo_id: str
    task: str
    base: int
    state: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    version: int | None = None
    width: int | None = None
    height: int | None = None
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "photo": self.photo_id,
            "task": self.task,
            "base": self.base,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "version": self.version,
            "width": self.width,
            "height": self.height,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class _Queued:
    """A job waiting for the worker, with what it works on."""

    job: Job
    photo: Photo
    base: Version
    holes: np.ndarray | None
    settings: JobSettings
    reservation: Reservation | None


class JobRunner:
    """Runs jobs in order on one worker thread.

    The thread is a daemon: Ctrl+C stops the server at once, even during a restoration (it
    writes no file: saving is a request of its own).

    Args:
        models: the restorer of each task.
    """

    def __init__(self, models: ModelCache) -> None:
        self.models = models
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="ganrestore-serve", daemon=True)
        self._worker.start()

    def submit(
        self,
        photo: Photo,
        base: Version,
        task: str,
        holes: np.ndarray | None = None,
        settings: JobSettings | None = None,
        reservation: Reservation | None = None,
    ) -> Job:
        """Queue restoring ``base`` of ``photo`` with the model of ``task``.

        Args:
            holes: ``(H, W)`` float32 {0, 1}, 1 = hole, for a task that fills holes.
            settings: grow, strength and noise level (None: the model's defaults).
            reservation: the job's memory (and its photo kept open), released when it ends
                (or here, when it is refused).

        Raises:
            Busy: :data:`MAX_WAITING` jobs wait already.
        """
        with self._lock:
            waiting = sum(job.state in WAITING for job in self._jobs.values())
            if waiting > MAX_WAITING:
                if reservation is not None:
                    reservation.release()
                raise Busy(f"{waiting} restorations are waiting already; try again when they end")
            job = Job(new_id(), photo.id, task, base.number)
            self._jobs[job.id] = job
            while len(self._jobs) > KEPT_JOBS:
                oldest = next(iter(self._jobs.values()))
                if oldest.state not in ("done", "failed"):
                    break
                self._jobs.popitem(last=False)
        self._queue.put(_Queued(job, photo, base, holes, settings or JobSettings(), reservation))
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound("no such restoration (the server may have restarted)")
        return job

    def close(self) -> None:
        """Stop the worker once the jobs queued so far are done."""
        self._queue.put(None)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._run(item)
            finally:
                if item.reservation is not None:
                    item.reservation.release()
            del item  # the photo's pixels go with it

    def _run(self, item: _Queued) -> None:
        job, start = item.job, time.perf_counter()
        try:
            job.state = "running" if self.models.is_loaded(job.task) else "loading"
            restorer = self.models.get(job.task)
            controls = self.models.controls(job.task)
            job.state = "running"
            progress = self._progress(job)
            pixels, alpha = restore(
                restorer, controls, item.base, item.holes, item.settings, progress
            )
            job.version = item.photo.add(pixels, alpha).number
            job.height, job.width = pixels.shape[:2]
            job.state = "done"
        except GanrestoreError as exc:
            job.message, job.state = without_install_paths(str(exc)), "failed"
        except MemoryError:
            job.message = "out of memory: close other programs, or restore a smaller photo"
            job.state = "failed"
        except Exception as exc:  # a bug: keep serving, tell the page, log the traceback
            logger.exception("restoration %s failed", job.id)
            reason = without_install_paths(f"{type(exc).__name__}: {exc}")
            job.message, job.state = f"internal error: {reason}", "failed"
        finally:
            job.seconds = time.perf_counter() - start

    @staticmethod
    def _progress(job: Job) -> Progress:
        def report(done: int, total: int) -> None:
            job.done, job.total = done, total

        return report


def restore(
    restorer: Restorer,
    controls: tuple[str, ...],
    base: Version,
    holes: np.ndarray | None,
    settings: JobSettings,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Restore ``base`` with ``restorer`` as ``ganrestore apply`` does.

    Args:
        restorer: a :class:`ganrestore.inference.Restorer`.
        controls: what its task and model take (:func:`~ganrestore.web.controls.model_controls`):
            with ``"mask"``, ``holes`` are required; without, they are left for a later task.
        base: the version to restore.
        holes: ``(H, W)`` float32 {0, 1}, 1 = hole, or None.
        settings: grow, strength and noise level; they hold for this restoration only.
        progress: receives ``(done, total)`` tiles.

    Returns:
        ``(pixels, alpha)``: ``(sH, sW, C)`` float32 in [0, 1] and ``(sH, sW)`` or None, ``s``
        the task's scale (1 but for a task that changes the size; alpha is enlarged alike, as
        ``ganrestore apply`` does); filled holes become opaque.
    """
    from ganrestore.inference.image_batch import alpha_at
    from ganrestore.inference.tiling import reporting_tiles  # imports torch

    if MASK not in controls:
        holes = None  # the whole photo is restored; a drawn mask waits for a task that fills
    elif holes is None:
        raise GanrestoreError(
            f"{restorer.description} fills holes: paint over what to remove first"
        )
    pixels, alpha = base.float_pixels(), base.float_alpha()
    if holes is not None and alpha is not None:
        alpha = np.where(holes > 0, np.float32(1), alpha)
    with settings_applied(restorer, controls, settings), reporting_tiles(progress):
        restored = restorer.restore(pixels, mask=holes)
    return restored, alpha_at(alpha, *restored.shape[:2])  # a task may change the size
