"""Feature matching (pix2pixHD): the generator matches the discriminator's inner activations."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganrestore.losses.inputs import LossInputs


def feature_matching_loss(
    fake_features: Sequence[Tensor], real_features: Sequence[Tensor]
) -> Tensor:
    """Mean over layers of the L1 distance between fake and (detached) real activations.

    Args:
        fake_features: D's activations on the generated input, one tensor per layer (with grad).
        real_features: D's activations on the real input, same layers; detached here, so the
            real branch never receives gradient.

    Returns:
        Scalar float32 tensor.

    Shape:
        - the i-th fake and real tensors share one shape, any shape.

    Raises:
        ValueError: the lists are empty or differ in length.
    """
    if not fake_features or len(fake_features) != len(real_features):
        raise ValueError(
            "feature matching needs non-empty fake and real feature lists of equal length, got "
            f"{len(fake_features)} and {len(real_features)}"
        )
    distances = [
        (fake.float() - real.detach().float()).abs().mean()
        for fake, real in zip(fake_features, real_features, strict=True)
    ]
    return torch.stack(distances).mean()


class FeatureMatchingLoss(nn.Module):
    """L1 between ``inputs.fake_features`` and ``inputs.real_features``; see
    :func:`feature_matching_loss`.

    ``needs_features = True`` tells ``GeneratorObjective`` (and the training step) that the
    discriminator's activations must be put into :class:`LossInputs`.
    """

    needs_features = True

    def forward(self, inputs: LossInputs) -> Tensor:
        fake, real = inputs.require_features("feature_matching")
        return feature_matching_loss(fake, real)
