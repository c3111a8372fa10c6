"""Exponential moving average of the generator's weights (used for validation and saved)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """A frozen copy of a model whose weights follow ``w_ema = d * w_ema + (1 - d) * w``.

    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` over the first updates, so early
    averages are not dominated by the random initialisation. Buffers (e.g. batch-norm statistics)
    are copied as they are.

    Args:
        model: the trained model (unwrapped, not DDP).
        decay: target decay in [0, 1); 0 makes the EMA a plain copy.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ema_params = list(self.module.parameters())
        params = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buffer, buffer in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_buffer.copy_(buffer)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int) -> None:
        self.module.load_state_dict(state)
        self.updates = updates
