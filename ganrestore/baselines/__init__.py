"""Classical restorers (BM3D, non-local means, OpenCV inpainting, ...) as registered plugins.

Each baseline is a :class:`~ganrestore.inference.Restorer` registered in
:data:`ganrestore.registry.BASELINES` (entry-point group ``ganrestore.baselines``), so
``ganrestore eval --model baseline:NAME`` and ``ganrestore apply --model baseline:NAME`` use it
like a trained network::

    from ganrestore.baselines import load_baseline
    bm3d = load_baseline("bm3d")
    bm3d.set_sigma(25)                      # the true σ, when known (0-255 scale)
    clean = bm3d.restore(noisy_uint8_rgb)   # numpy, PIL or tensor in, the same out

Built in: denoise ``bm3d``, ``nlm``, ``tv``, ``wavelet``; inpaint ``telea``, ``ns``,
``biharmonic``. ``bm3d`` needs ``pip install "ganrestore[baselines]"``.
A third-party baseline is a factory taking keyword parameters and returning a ``Restorer``
(with ``task`` and ``uses_mask``), declared in ``[project.entry-points."ganrestore.baselines"]``.

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
from ganrestore.inference.bundled import build_baseline
from ganrestore.inference.restorer import Restorer
from ganrestore.modelfile.source import BASELINE_PREFIX
from ganrestore.registry import BASELINES


def is_baseline(model: object) -> bool:
    """Whether a ``--model`` value names a baseline (``baseline:NAME``)."""
    return isinstance(model, str) and model.startswith(BASELINE_PREFIX)


def load_baseline(name: str, device: Any = "cpu", **params: Any) -> Restorer:
    """Build the baseline ``name`` (``"bm3d"`` or ``"baseline:bm3d"``) with its ``params``.

    Args:
        name: a registered baseline name, with or without the ``baseline:`` prefix.
        device: accepted for symmetry with network models and ignored: baselines run on the CPU.
        params: the baseline's own parameters (``ganrestore plugins show NAME``).

    Raises:
        UnknownPluginError: no such baseline (the message lists them).
        BaselineDependencyError: its package is missing (the message says what to install).
        PluginParamsError: a parameter it does not accept.
    """
    del device
    return build_baseline(name, **params)


def baseline_task(name: str) -> str:
    """The task (``"denoise"``/``"inpaint"``) of a baseline, without building it if possible."""
    factory = BASELINES.get(name)
    task = getattr(factory, "task", None)
    return task if isinstance(task, str) else load_baseline(name).task


def baseline_names(task: str | None = None) -> list[str]:
    """Registered baselines, sorted; only those of ``task`` when given."""
    names = BASELINES.names()
    return names if task is None else [name for name in names if baseline_task(name) == task]


__all__ = [
    "BASELINE_PREFIX",
    "EXTRA_INSTALL",
    "Baseline",
    "BaselineDependencyError",
    "DenoiseBaseline",
    "InpaintBaseline",
    "SigmaAware",
    "baseline_names",
    "baseline_task",
    "is_baseline",
    "load_baseline",
]
