"""What every classical baseline shares: a :class:`Restorer` built for a task, one numpy image at
a time.

A baseline is a plain algorithm (BM3D, non-local means, OpenCV inpainting, bicubic
interpolation, ...) behind the same ``restore_batch`` / ``restore`` calls as a trained network,
so ``ganrestore eval`` and ``ganrestore apply`` treat both alike. It is built for a task (the
task lists it in :attr:`~ganrestore.tasks.Task.baselines`) and learns from that task what a
network of it would: its name, whether it fills holes, and the output's scale, so one bicubic
baseline serves ``upscale-x2`` and ``upscale-x4``. Subclasses implement
:meth:`Baseline.restore_array` on ``(H, W, C)`` float64 in [0, 1] with ``C`` = 1 (gray) or 3
(RGB); the base class loops over the batch, checks the output's size, clips, and copies the
known pixels of an input with holes back bit for bit.

Optional packages (``bm3d``) are imported only when a baseline runs; a missing one is a
:class:`BaselineDependencyError` raised when the baseline is built, naming the package and the
``pip install "ganrestore[baselines]"`` that brings it.
"""

from __future__ import annotations

import importlib.util
from abc import abstractmethod
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from ganrestore.errors import GanrestoreError
from ganrestore.inference.restorer import MaskRequiredError, RestoreInputError, Restorer
from ganrestore.tasks import Task

#: What a user runs to get every baseline's optional dependencies.
EXTRA_INSTALL = 'pip install "ganrestore[baselines]"'


class BaselineDependencyError(GanrestoreError):
    """A baseline needs a package that is not installed."""


@runtime_checkable
class SigmaAware(Protocol):
    """A restorer that can be told the true noise level σ (0–255 scale) of its inputs.

    ``ganrestore eval`` calls ``set_sigma(σ)`` before each noise level when a restorer has it,
    and ``set_sigma(None)`` afterwards; each baseline's docstring says whether it uses the hint.
    """

    def set_sigma(self, sigma: float | None) -> None: ...


class Baseline(Restorer):
    """A classical restorer built for a task, run on the CPU one image at a time.

    Args:
        task: the task it restores for (:func:`ganrestore.inference.bundled.build_baseline`
            checks that the task lists it).

    Class attributes:
        name: the registered name (``--model baseline:NAME``).
        requires: ``(module, pip package)`` pairs that must be importable.

    Attributes:
        task_spec: the task; ``task`` its name, ``scale`` its output-to-input size ratio and
            ``takes_masks`` whether it fills holes the user marks (the task's ``"mask"``
            control; the :class:`Restorer` contract).
    """

    name: ClassVar[str]
    requires: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, task: Task) -> None:
        self.task_spec = task
        self.task, self.scale = task.name, task.scale
        self.takes_masks = "mask" in task.controls  # what Restorer.restore and apply read
        self.description = f"baseline:{self.name}"
        for module, package in self.requires:
            if importlib.util.find_spec(module) is None:
                raise BaselineDependencyError(
                    f"baseline '{self.name}' needs the {package} package, which is not "
                    f"installed; run {EXTRA_INSTALL} (or pip install {package})"
                )

    @abstractmethod
    def restore_array(self, pixels: np.ndarray, holes: np.ndarray | None) -> np.ndarray:
        """Restore one image.

        Args:
            pixels: ``(H, W, C)`` float64 in [0, 1], ``C`` = 1 or 3.
            holes: ``(H, W)`` bool, True = hole, for a task that fills holes; else None.

        Returns:
            ``(scale·H, scale·W, C)`` float in about [0, 1] (the caller clips).
        """

    def restore_batch(self, images: Tensor, masks: Tensor | None = None) -> Tensor:
        """``(B, C, H, W)`` [0, 1] (+ ``(B, 1, H, W)`` masks, 1 = hole) -> ``(B, C, sH, sW)``
        in [0, 1], ``s`` = :attr:`scale`; pixels outside the holes are the input's."""
        _check_batch(images, masks, self)
        restored = []
        for index in range(images.shape[0]):
            pixels = images[index].detach().cpu().permute(1, 2, 0).numpy().astype(np.float64)
            holes = None if masks is None else masks[index, 0].cpu().numpy() > 0.5
            if holes is not None and not holes.any():
                restored.append(images[index].float().cpu())
                continue
            output = self._checked_output(self.restore_array(pixels, holes), pixels.shape)
            channels = np.clip(output, 0, 1).astype(np.float32).transpose(2, 0, 1)
            restored.append(torch.from_numpy(np.ascontiguousarray(channels)))
        batch = torch.stack(restored)
        if masks is not None:
            batch = torch.where(masks.cpu() > 0.5, batch, images.float().cpu())
        return batch

    def _checked_output(self, output: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """``output`` as ``(scale·H, scale·W, C)`` float64 (a gray ``(H, W)`` result gets its
        channel back), or an error naming the baseline."""
        height, width, channels = shape
        expected = (height * self.scale, width * self.scale, channels)
        output = np.asarray(output, dtype=np.float64)
        if output.size != np.prod(expected):
            raise GanrestoreError(
                f"{self.description} returned an image of shape {output.shape} for an input "
                f"of {shape}; expected {expected}"
            )
        output = output.reshape(expected)
        if not np.isfinite(output).all():
            raise GanrestoreError(f"{self.description} produced NaN or infinity")
        return output


class DenoiseBaseline(Baseline):
    """A denoising baseline; holds an optional σ hint (0–255 scale) set by :meth:`set_sigma`."""

    def __init__(self, task: Task, sigma: float | None = None) -> None:
        super().__init__(task)
        self.sigma: float | None = None
        self.set_sigma(sigma)

    def set_sigma(self, sigma: float | None) -> None:
        """Tell the baseline the true noise level (0–255 scale), or None to forget it."""
        if sigma is not None and not (np.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"sigma must be a number >= 0 on the 0-255 scale, got {sigma!r}")
        self.sigma = None if sigma is None else float(sigma)


class InpaintBaseline(Baseline):
    """An inpainting baseline: fills the pixels where the mask is 1; keeps the others exactly."""


def estimated_sigma(pixels: np.ndarray) -> float:
    """Noise standard deviation of ``(H, W, C)`` [0, 1] pixels, on [0, 1].

    scikit-image's wavelet estimator (Donoho's median absolute deviation of the finest
    diagonal sub-band), averaged over the channels.
    """
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(pixels, channel_axis=-1, average_sigmas=True))


def _check_batch(images: Tensor, masks: Tensor | None, baseline: Baseline) -> None:
    """Images ``(B, 1 or 3, H, W)``, and masks exactly when the baseline's task fills holes."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise RestoreInputError(f"expected images (B, 1 or 3, H, W), got {tuple(images.shape)}")
    fills_holes = baseline.takes_masks
    if fills_holes and masks is None:
        raise MaskRequiredError(
            f"{baseline.description} fills holes for {baseline.task} and needs masks"
        )
    if masks is not None:
        if not fills_holes:
            raise RestoreInputError(
                f"{baseline.description} restores for {baseline.task}, which takes no masks"
            )
        expected = (images.shape[0], 1, *images.shape[2:])
        if tuple(masks.shape) != expected:
            raise RestoreInputError(f"expected masks {expected}, got {tuple(masks.shape)}")
