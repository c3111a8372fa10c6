"""Regularisers of the discriminator step (added to the D loss, never to G's)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def r1_penalty(real_logits: Tensor | Sequence[Tensor], real_inputs: Tensor) -> Tensor:
    """R1 gradient penalty (Mescheder et al. 2018): ``mean_b ||d D(x_b) / d x_b||^2`` on reals.

    The caller marks the real batch before running D on it, and weighs the result (the paper's
    ``gamma / 2``)::

        real_inputs = real_inputs.detach().requires_grad_()
        loss_d = adversarial.discriminator_loss(D(real_inputs), ...) + gamma / 2 * r1_penalty(...)

    The gradient of the summed logits of each sample is taken with ``create_graph=True``, so the
    penalty itself can be back-propagated into D. For a multi-scale discriminator (a list of
    logits maps), the penalty is computed per scale and averaged over scales.

    Args:
        real_logits: D's raw logits on ``real_inputs``; a tensor or one tensor per scale.
        real_inputs: the exact tensor D was run on, with ``requires_grad=True`` (for a
            conditional D, the concatenated condition and image).

    Returns:
        Scalar float32 tensor, the squared gradient norm per sample, averaged over the batch.

    Shape:
        - real_logits: :math:`(B, 1, h, w)` or a list of such maps.
        - real_inputs: :math:`(B, C, H, W)`.

    Raises:
        ValueError: ``real_inputs`` does not require gradients, or ``real_logits`` is empty.
    """
    if not real_inputs.requires_grad:
        raise ValueError(
            "r1_penalty needs real_inputs.requires_grad_() set before D is run on real_inputs"
        )
    scales = [real_logits] if isinstance(real_logits, Tensor) else list(real_logits)
    if not scales:
        raise ValueError("real_logits is an empty list")
    penalties = []
    for logits in scales:
        # create_graph also retains the graph, which the next scale and the D loss still need.
        (gradient,) = torch.autograd.grad(logits.float().sum(), real_inputs, create_graph=True)
        penalties.append(gradient.float().square().flatten(1).sum(1).mean())
    return torch.stack(penalties).mean()
