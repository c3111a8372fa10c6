"""Classical restorers (BM3D, non-local means, OpenCV inpainting, bicubic, ...) as registered
plugins, each built for a task.

Each baseline is a :class:`~ganrestore.inference.Restorer` registered in
:data:`ganrestore.registry.BASELINES` (entry-point group ``ganrestore.baselines``), so
``ganrestore eval --model baseline:NAME`` and ``ganrestore apply --model baseline:NAME`` use it
like a trained network. A task names the baselines made for it
(:attr:`ganrestore.tasks.Task.baselines`; ``eval --model baselines`` runs them all), and a
baseline is built for a task, from which it learns what it restores: the bicubic baseline
upscales 2 times for ``upscale-x2`` and 4 times for ``upscale-x4``::

    from ganrestore.baselines import load_baseline
    bm3d = load_baseline("bm3d")            # the one task that lists it: denoise
    bm3d.set_sigma(25)                      # the true σ, when known (0-255 scale)
    clean = bm3d.restore(noisy_uint8_rgb)   # numpy, PIL or tensor in, the same out
    large = load_baseline("bicubic", task="upscale-x4").restore(small_uint8_rgb)

Built in: denoise ``bm3d``, ``nlm``, ``tv``, ``wavelet``; inpaint ``biharmonic``, ``fsr_fast``,
``ns``, ``shiftmap``, ``telea``; upscale-x2 and upscale-x4 ``bicubic``, ``lanczos``. ``bm3d``
needs ``pip install "ganrestore[baselines]"``. A third-party baseline is a factory taking the
task (a :class:`~ganrestore.tasks.Task`) and keyword parameters and returning a ``Restorer``
for it (subclass :class:`Baseline`), declared in
``[project.entry-points."ganrestore.baselines"]``; a third-party task lists it in its
``baselines``.

Imports point one way: this package builds on :mod:`ganrestore.inference` (the ``Restorer``
base class), and inference builds ``baseline:NAME`` through the registry
(:func:`ganrestore.inference.bundled.build_baseline`, which :func:`load_baseline` is), never by
importing this package.
"""

from __future__ import annotations

from typing import Any

from ganrestore.baselines.base import (
    EXTRA_INSTALL,
    Baseline,
    BaselineDependencyError,
    DenoiseBaseline,
    InpaintBaseline,
    SigmaAware,
)
from ganrestore.inference.bundled import BaselineTaskError, baseline_tasks, build_baseline
from ganrestore.inference.restorer import Restorer
from ganrestore.modelfile.source import BASELINE_PREFIX
from ganrestore.registry import BASELINES
from ganrestore.tasks import Task, build_task


def is_baseline(model: object) -> bool:
    """Whether a ``--model`` value names a baseline (``baseline:NAME``)."""
    return isinstance(model, str) and model.startswith(BASELINE_PREFIX)


def load_baseline(
    name: str, device: Any = "cpu", task: Task | str | None = None, **params: Any
) -> Restorer:
    """Build the baseline ``name`` (``"bm3d"`` or ``"baseline:bm3d"``) for ``task``.

    Args:
        name: a registered baseline name, with or without the ``baseline:`` prefix.
        device: accepted for symmetry with network models and ignored: baselines run on the CPU.
        task: the task (or its name) to build it for; None: the one installed task that lists
            it (``bicubic`` serves two, so it needs one).
        params: the baseline's own parameters (``ganrestore plugins show NAME``).

    Raises:
        UnknownPluginError: no such baseline (the message lists them).
        BaselineTaskError: a task it is not made for, or no task where it serves several.
        BaselineDependencyError: its package is missing (the message says what to install).
        PluginParamsError: a parameter it does not accept.
    """
    del device
    return build_baseline(name, task, **params)


def baseline_names(task: str | None = None) -> list[str]:
    """Registered baselines, sorted; with ``task``, those the task lists, in its order."""
    if task is None:
        return BASELINES.names()
    return [name for name in build_task(task).baselines if name in BASELINES]


__all__ = [
    "BASELINE_PREFIX",
    "EXTRA_INSTALL",
    "Baseline",
    "BaselineDependencyError",
    "BaselineTaskError",
    "DenoiseBaseline",
    "InpaintBaseline",
    "SigmaAware",
    "baseline_names",
    "baseline_tasks",
    "is_baseline",
    "load_baseline",
]
