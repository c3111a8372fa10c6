"""Learning-rate schedules as multipliers of the base rate, by step."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def lr_multiplier(kind: str, total_steps: int, decay_start: float) -> Callable[[int], float]:
    """Multiplier of the base learning rate at a step.

    Args:
        kind: ``"constant"``; ``"linear"`` (1 until ``decay_start * total_steps``, then linearly
            down to 0 at ``total_steps``, as pix2pix); ``"cosine"`` (from 1 to 0).
        total_steps: steps of the whole run.
        decay_start: share of the run trained at the full rate (``"linear"`` only).
    """
    if kind == "constant":
        return lambda step: 1.0
    if kind == "linear":
        start = int(total_steps * decay_start)
        span = max(total_steps - start, 1)
        return lambda step: 1.0 if step < start else max(0.0, 1.0 - (step - start) / span)
    if kind == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    raise ValueError(f"unknown schedule '{kind}'; choose constant, linear or cosine")


def build_scheduler(
    optimizer: torch.optim.Optimizer, kind: str, total_steps: int, decay_start: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_multiplier` (its state dict holds only numbers)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_multiplier(kind, total_steps, decay_start)
    )
