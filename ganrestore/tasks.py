"""Restoration tasks: how a batch becomes a network input, and a network output an image.

A task is the only place that knows what the generator sees. Training and inference both go
through it, so a model is always fed the way it was trained. Tasks are plugins too (registry
``TASKS``, entry-point group ``ganrestore.tasks``): a new task registers a factory returning an
object with the attributes and methods of :class:`Task`.
"""

from __future__ import annotations

from typing import Protocol

import torch

from ganrestore.registry import TASKS

Batch = dict[str, torch.Tensor]


def to_network_range(images: torch.Tensor) -> torch.Tensor:
    """``[0, 1]`` -> ``[-1, 1]`` (what networks see)."""
    return images * 2 - 1


def from_network_range(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` -> ``[0, 1]``, clamped."""
    return ((images + 1) / 2).clamp(0, 1)


class Task(Protocol):
    """What the engine and the restorer need to know about a task.

    Attributes:
        name: registry name, e.g. ``"denoise"``.
        in_channels: generator input channels.
        out_channels: generator output channels (3: RGB).
        condition_channels: channels of :meth:`condition` (0: unconditional).
        uses_mask: whether the batch's ``mask`` (1 = hole) is meaningful for this task.
    """

    name: str
    uses_mask: bool
    in_channels: int
    out_channels: int
    condition_channels: int

    def network_input(self, batch: Batch) -> torch.Tensor:
        """``(B, in_channels, H, W)`` in ``[-1, 1]`` (a mask channel stays ``{0, 1}``)."""
        ...

    def restore(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Raw generator output in ``[-1, 1]`` -> restored image ``(B, 3, H, W)`` in [0, 1]."""
        ...

    def condition(self, batch: Batch) -> torch.Tensor:
        """What a conditional discriminator sees beside the image, ``[-1, 1]``."""
        ...


class DenoiseTask:
    """Noisy RGB in, clean RGB out. Batch keys: ``degraded`` (B,3,H,W) in [0, 1]."""

    name = "denoise"
    uses_mask = False
    in_channels = 3
    out_channels = 3
    condition_channels = 3

    def network_input(self, batch: Batch) -> torch.Tensor:
        return to_network_range(batch["degraded"])

    def restore(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        return from_network_range(raw)

    def condition(self, batch: Batch) -> torch.Tensor:
        return to_network_range(batch["degraded"])


class InpaintTask:
    """RGB with holes + mask in, filled RGB out; known pixels are kept exactly.

    Batch keys: ``degraded`` (B,3,H,W) in [0, 1] (its hole pixels are ignored) and ``mask``
    (B,1,H,W) with 1 = hole. The network input zeroes the holes in ``[-1, 1]`` space (mid-grey)
    and appends the mask as a fourth channel.
    """

    name = "inpaint"
    uses_mask = True
    in_channels = 4
    out_channels = 3
    condition_channels = 4

    def network_input(self, batch: Batch) -> torch.Tensor:
        mask = batch["mask"]
        known = to_network_range(batch["degraded"]) * (1 - mask)
        return torch.cat([known, mask], dim=1)

    def restore(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        mask = batch["mask"]
        return from_network_range(raw) * mask + batch["degraded"] * (1 - mask)

    def condition(self, batch: Batch) -> torch.Tensor:
        return self.network_input(batch)


@TASKS.register("denoise")
def denoise() -> DenoiseTask:
    """Blind denoising: noisy RGB -> clean RGB."""
    return DenoiseTask()


@TASKS.register("inpaint")
def inpaint() -> InpaintTask:
    """Inpainting: RGB with holes + mask (1 = hole) -> RGB, known pixels kept exactly."""
    return InpaintTask()


def build_task(name: str) -> Task:
    """The task registered as ``name`` (raises the registry's error listing the known ones)."""
    return TASKS.build(name)


def task_model(task: str) -> str:
    """``"a denoise model"``, ``"an inpaint model"``: a model of ``task``, for messages."""
    article = "an" if task[:1].lower() in "aeiou" else "a"
    return f"{article} {task} model"
