"""Adversarial losses: how discriminator logits become a loss for D and for G.

Three formulations are registered in ``ADVERSARIAL_LOSSES``: ``vanilla`` (binary cross-entropy
on logits, non-saturating for G), ``lsgan`` (least squares) and ``hinge``. Logits are raw
(no sigmoid), one map ``(B, 1, h, w)`` per discriminator scale; a multi-scale discriminator
gives a list of maps and the loss is the mean over scales. Every loss is computed in float32
with autocast off, so mixed-precision training never evaluates it in half precision.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ganrestore.registry import ADVERSARIAL_LOSSES

Logits = Tensor | Sequence[Tensor]


class AdversarialLoss(ABC):
    """One GAN formulation; subclasses define the loss on a single scale.

    The public methods accept one logits map or a list of them (one per discriminator scale)
    and return the mean of the per-scale losses, as a float32 scalar.
    """

    def discriminator_loss(self, real_logits: Logits, fake_logits: Logits) -> Tensor:
        """Loss D minimises: real judged real, fake judged fake.

        Args:
            real_logits: D's raw logits on real images; a tensor or a list, one per scale.
            fake_logits: D's raw logits on generated images (detached from G by the caller).

        Returns:
            Scalar float32 tensor, the mean over scales of the real term plus the fake term.

        Shape:
            - real_logits, fake_logits: :math:`(B, 1, h, w)` each (h, w may differ by scale).
        """
        reals = _as_scales(real_logits, "real_logits")
        fakes = _as_scales(fake_logits, "fake_logits")
        if len(reals) != len(fakes):
            raise ValueError(
                f"real_logits has {len(reals)} scales but fake_logits has {len(fakes)}"
            )
        with _float32(reals[0]):
            pairs = zip(reals, fakes, strict=True)
            losses = [self._discriminator(real.float(), fake.float()) for real, fake in pairs]
            return torch.stack(losses).mean()

    def generator_loss(self, fake_logits: Logits) -> Tensor:
        """Loss G minimises: its outputs judged real.

        Args:
            fake_logits: D's raw logits on generated images (not detached).

        Returns:
            Scalar float32 tensor, the mean over scales.

        Shape:
            - fake_logits: :math:`(B, 1, h, w)` or a list of such maps.
        """
        fakes = _as_scales(fake_logits, "fake_logits")
        with _float32(fakes[0]):
            return torch.stack([self._generator(f.float()) for f in fakes]).mean()

    @abstractmethod
    def _discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        """D loss on one scale, float32 logits in, scalar out."""

    @abstractmethod
    def _generator(self, fake: Tensor) -> Tensor:
        """G loss on one scale, float32 logits in, scalar out."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class VanillaGANLoss(AdversarialLoss):
    """The original GAN loss on logits, with the non-saturating generator loss.

    D: ``BCE(real, 1) + BCE(fake, 0)`` (``2 ln 2`` when every logit is 0).
    G: ``BCE(fake, 1) = mean(softplus(-fake))``, whose gradient does not vanish when D is sure.
    """

    def _discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        real_term = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        fake_term = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return real_term + fake_term

    def _generator(self, fake: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


class LeastSquaresGANLoss(AdversarialLoss):
    """Least-squares GAN (targets 1 for real, 0 for fake), as in pix2pix/CycleGAN's ``lsgan``.

    D: ``mean((real - 1)^2) + mean(fake^2)``. G: ``mean((fake - 1)^2)``.
    """

    def _discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return (real - 1).square().mean() + fake.square().mean()

    def _generator(self, fake: Tensor) -> Tensor:
        return (fake - 1).square().mean()


class HingeGANLoss(AdversarialLoss):
    """Hinge loss (SAGAN, BigGAN).

    D: ``mean(relu(1 - real)) + mean(relu(1 + fake))``. G: ``-mean(fake)``.
    """

    def _discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def _generator(self, fake: Tensor) -> Tensor:
        return -fake.mean()


def build_adversarial(name: str, **params: object) -> AdversarialLoss:
    """The adversarial loss registered as ``name`` (``vanilla``, ``lsgan``, ``hinge``, plugins).

    Raises:
        UnknownPluginError: no adversarial loss has that name (the message lists those there are).
        PluginParamsError: ``params`` are not accepted by that loss.
    """
    return ADVERSARIAL_LOSSES.build(name, **params)


def _as_scales(logits: Logits, what: str) -> list[Tensor]:
    scales = [logits] if isinstance(logits, Tensor) else list(logits)
    if not scales:
        raise ValueError(f"{what} is an empty list; expected a tensor or one tensor per scale")
    for scale in scales:
        if not isinstance(scale, Tensor):
            raise TypeError(f"{what} must hold tensors, got {type(scale).__name__}")
    return scales


def _float32(like: Tensor) -> torch.autocast:
    """Autocast off on ``like``'s device, so the loss never runs in half precision."""
    return torch.autocast(device_type=like.device.type, enabled=False)
