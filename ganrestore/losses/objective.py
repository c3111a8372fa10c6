"""The generator's objective: a weighted sum of loss terms built by name from ``LOSSES``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ganrestore.errors import GanrestoreError
from ganrestore.losses.inputs import LossInputs
from ganrestore.registry import LOSSES, PluginLoadError


class LossConfigError(GanrestoreError):
    """The loss weights or per-term params of a config cannot be used."""


class GeneratorObjective(nn.Module):
    """Weighted sum of generator loss terms, each built through ``LOSSES.build(name, **params)``.

    A term with weight 0 is not built at all (its name is still checked), so a perceptual loss
    whose weights file is missing does not matter while its weight is 0. The adversarial term is
    not part of this objective: the training step adds it (see ``build_adversarial``).

    Args:
        weights: term name -> weight >= 0, e.g. ``{"l1": 1.0, "lpips": 0.1}``.
        params: term name -> keyword params of that term's factory, e.g.
            ``{"lpips": {"net": "vgg"}}``; every key must also be in ``weights``.

    Attributes:
        weights: the weight of every built term (non-zero weights only), in config order.
        needs_features: a built term reads discriminator features (``feature_matching``), so the
            training step must fill ``LossInputs.fake_features`` and ``real_features``.
        needs_mask: a built term reads ``LossInputs.mask`` (``hole_l1``).

    Raises:
        UnknownPluginError: a name is not a registered loss (the message lists those there are).
        PluginParamsError: a term does not accept its params or rejects their values.
        LossConfigError: a weight is not a finite number >= 0, or params name a term that has
            no weight.
        PerceptualWeightsError: a perceptual term with non-zero weight lacks its weights file.

    Example::

        objective = GeneratorObjective({"l1": 1.0, "ssim": 0.5})
        total, logs = objective(LossInputs(output, target))  # logs: {"l1": ..., "ssim": ...}
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        params: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        params = params or {}
        stray = sorted(set(params) - set(weights))
        if stray:
            raise LossConfigError(
                f"loss params are given for {', '.join(map(repr, stray))}, which have no weight "
                f"(weights are given for {', '.join(map(repr, weights)) or 'no term'}); add a "
                "weight or remove those params"
            )
        built: dict[str, float] = {}
        terms: list[nn.Module] = []
        for name, weight in weights.items():
            LOSSES.source(name)  # an unknown name is an error even with weight 0
            weight = _checked_weight(name, weight)
            if weight == 0:
                continue
            terms.append(_build_term(name, params.get(name, {})))
            built[name] = weight
        self.terms = nn.ModuleList(terms)
        self.weights = built
        self.needs_features = any(getattr(term, "needs_features", False) for term in terms)
        self.needs_mask = any(getattr(term, "needs_mask", False) for term in terms)

    def forward(self, inputs: LossInputs) -> tuple[Tensor, dict[str, float]]:
        """Weighted total and every term's unweighted value.

        Args:
            inputs: output, target, and the mask and features the terms need.

        Returns:
            ``(total, logs)``: ``total`` is a float32 scalar tensor to back-propagate (0 with no
            terms); ``logs`` maps each built term's name to its unweighted value as a float.
        """
        if not self.terms:
            return inputs.output.new_zeros((), dtype=torch.float32), {}
        values = []
        for name, term in zip(self.weights, self.terms, strict=True):
            value = term(inputs)
            if not isinstance(value, Tensor) or value.ndim != 0:
                shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
                raise ValueError(
                    f"loss '{name}' ({LOSSES.source(name).describe()}) returned {shape}, "
                    "not a scalar tensor"
                )
            values.append(value.float())
        weighted = zip(self.weights.values(), values, strict=True)
        total = sum(weight * value for weight, value in weighted)
        unweighted = torch.stack(values).detach().tolist()  # one device sync for all terms
        logs = dict(zip(self.weights, unweighted, strict=True))
        return total, logs

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={weight:g}" for name, weight in self.weights.items())


def _checked_weight(name: str, weight: object) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise LossConfigError(f"the weight of loss '{name}' must be a number, got {weight!r}")
    if not math.isfinite(weight) or weight < 0:
        raise LossConfigError(f"the weight of loss '{name}' must be finite and >= 0, got {weight}")
    return float(weight)


def _build_term(name: str, params: Mapping[str, Any]) -> nn.Module:
    if not isinstance(params, Mapping):
        raise LossConfigError(
            f"the params of loss '{name}' must be a mapping of keyword arguments, got {params!r}"
        )
    term = LOSSES.build(name, **params)
    if not isinstance(term, nn.Module):
        raise PluginLoadError(
            f"loss '{name}' ({LOSSES.source(name).describe()}) built a {type(term).__name__}, "
            "not a torch.nn.Module; its factory must return a module whose forward takes "
            "LossInputs and returns a scalar tensor"
        )
    return term
