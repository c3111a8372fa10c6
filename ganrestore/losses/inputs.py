"""What every generator loss term reads: one frozen bundle of tensors per training step.

A term takes a :class:`LossInputs` rather than positional tensors so that a new term (ours or a
third party's) can read the mask or the discriminator features without changing any caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor

from ganrestore.errors import GanrestoreError


class LossInputError(GanrestoreError):
    """A loss term needs an input this batch does not carry (a mask, discriminator features)."""


@dataclass(frozen=True, eq=False)
class LossInputs:
    """The tensors a generator loss term may read.

    Attributes:
        output: the generator's composited output, float in [0, 1].
        target: the ground-truth image, float in [0, 1].
        mask: inpainting mask, 1 = hole, 0 = known; ``None`` for tasks without one (denoising).
        fake_features: discriminator activations on the fake (generated) input, one tensor per
            layer; ``None`` unless a term needs them (see ``GeneratorObjective.needs_features``).
        real_features: discriminator activations on the real input, same layers as
            ``fake_features``; terms detach them.

    Shape:
        - output, target: :math:`(B, C, H, W)`, C = 3 inside ganrestore.
        - mask: :math:`(B, 1, H, W)`.
        - features: any shapes, the i-th fake and real tensors alike.

    Raises:
        ValueError: the shapes do not agree (a bug in the caller, not a user error).
    """

    output: Tensor
    target: Tensor
    mask: Tensor | None = None
    fake_features: list[Tensor] | None = None
    real_features: list[Tensor] | None = None

    def __post_init__(self) -> None:
        if self.output.ndim != 4:
            raise ValueError(f"output must be (B, C, H, W), got {tuple(self.output.shape)}")
        if self.target.shape != self.output.shape:
            raise ValueError(
                f"target {tuple(self.target.shape)} and output {tuple(self.output.shape)} "
                "must have the same shape"
            )
        if self.mask is not None:
            batch, _, height, width = self.output.shape
            if self.mask.shape != (batch, 1, height, width):
                raise ValueError(
                    f"mask must be (B, 1, H, W) = {(batch, 1, height, width)}, "
                    f"got {tuple(self.mask.shape)}"
                )
        if (self.fake_features is None) != (self.real_features is None):
            raise ValueError("give both fake_features and real_features, or neither")
        if self.fake_features is not None and self.real_features is not None:
            _check_features(self.fake_features, self.real_features)

    def require_mask(self, term: str) -> Tensor:
        """The mask, or a :class:`LossInputError` naming ``term`` when there is none."""
        if self.mask is None:
            raise LossInputError(
                f"loss '{term}' needs an inpainting mask, but this batch has none. Remove "
                f"'{term}' from the loss weights (or set its weight to 0) for tasks without masks."
            )
        return self.mask

    def require_features(self, term: str) -> tuple[list[Tensor], list[Tensor]]:
        """``(fake_features, real_features)``, or a :class:`LossInputError` naming ``term``."""
        if self.fake_features is None or self.real_features is None:
            raise LossInputError(
                f"loss '{term}' needs discriminator features (fake_features and real_features), "
                "but none were given. The training step must pass them when the objective's "
                f"needs_features is True; or set the weight of '{term}' to 0."
            )
        return self.fake_features, self.real_features


def _check_features(fake: Sequence[Tensor], real: Sequence[Tensor]) -> None:
    if len(fake) != len(real) or not fake:
        raise ValueError(
            f"fake_features and real_features must be non-empty lists of equal length, "
            f"got {len(fake)} and {len(real)}"
        )
    for index, (fake_layer, real_layer) in enumerate(zip(fake, real, strict=True)):
        if fake_layer.shape != real_layer.shape:
            raise ValueError(
                f"feature layer {index}: fake {tuple(fake_layer.shape)} and real "
                f"{tuple(real_layer.shape)} differ in shape"
            )
