"""Losses: adversarial formulations, generator loss terms, and the discriminator's R1 penalty.

The built-in losses are declared in ganrestore's ``pyproject.toml`` like any plugin's:
``vanilla``, ``lsgan`` and ``hinge`` in the entry-point group ``ganrestore.adversarial_losses``
(``ADVERSARIAL_LOSSES``); ``l1``, ``hole_l1``, ``ssim``, ``lpips``, ``vgg`` and
``feature_matching`` in ``ganrestore.losses`` (``LOSSES``). Third parties add theirs the same
way: a loss term is a factory
``(**params) -> nn.Module`` whose ``forward(inputs: LossInputs)`` returns a scalar tensor, and it
may set ``needs_features``/``needs_mask`` class attributes to ask for those inputs.
"""

from ganrestore.losses.adversarial import (
    AdversarialLoss,
    HingeGANLoss,
    LeastSquaresGANLoss,
    VanillaGANLoss,
    build_adversarial,
)
from ganrestore.losses.discriminator_terms import r1_penalty
from ganrestore.losses.feature_matching import FeatureMatchingLoss, feature_matching_loss
from ganrestore.losses.inputs import LossInputError, LossInputs
from ganrestore.losses.objective import GeneratorObjective, LossConfigError
from ganrestore.losses.perceptual import (
    VGG19_LAYERS,
    LPIPSLoss,
    PerceptualWeightsError,
    VGGPerceptualLoss,
)
from ganrestore.losses.pixel import HoleL1Loss, L1Loss, hole_l1_loss, l1_loss
from ganrestore.losses.structural import SSIMLoss, ssim_loss

__all__ = [
    "VGG19_LAYERS",
    "AdversarialLoss",
    "FeatureMatchingLoss",
    "GeneratorObjective",
    "HingeGANLoss",
    "HoleL1Loss",
    "L1Loss",
    "LPIPSLoss",
    "LeastSquaresGANLoss",
    "LossConfigError",
    "LossInputError",
    "LossInputs",
    "PerceptualWeightsError",
    "SSIMLoss",
    "VGGPerceptualLoss",
    "VanillaGANLoss",
    "build_adversarial",
    "feature_matching_loss",
    "hole_l1_loss",
    "l1_loss",
    "r1_penalty",
    "ssim_loss",
]
