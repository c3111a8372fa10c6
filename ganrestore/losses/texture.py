"""A texture loss that needs no pretrained weights: statistics of fixed random filters.

Ustyuzhaninov et al. ("What does it take to generate natural textures?", ICLR 2017) showed that
the Gram matrices of a single layer of *random* multi-scale convolution filters describe natural
textures about as well as those of a trained VGG. Here the statistics are taken inside the holes
only, at several scales, and compared between the output and the truth. The loss asks the fill to
have the truth's kind and amount of texture, not the truth's exact pixels, so unlike L1 it does
not reward the blur that averages every plausible texture away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganrestore.data.colour import LUMA_WEIGHTS
from ganrestore.losses.inputs import LossInputs

#: Luma and the two colour differences of a (B, 3, H, W) image; filters see these, so colour
#: texture is weighed less than brightness texture, as the eye does.
_OPPONENT = (LUMA_WEIGHTS, (0.5, -0.5, 0.0), (0.25, 0.25, -0.5))


def random_filter_bank(filters: int, size: int, channels: int = 3, seed: int = 0) -> Tensor:
    """Fixed random filters, each with zero mean per input channel and unit L2 norm: they see
    texture, not flat colour.

    Returns:
        ``(filters, channels, size, size)`` float32, the same for the same arguments on every
        machine (drawn with a seeded CPU generator).
    """
    generator = torch.Generator().manual_seed(seed)
    bank = torch.randn(filters, channels, size, size, generator=generator)
    bank = bank - bank.mean(dim=(2, 3), keepdim=True)  # zero mean per channel
    return bank / bank.flatten(1).norm(dim=1).clamp_min(1e-8)[:, None, None, None]


def masked_gram(features: Tensor, weight: Tensor) -> Tensor:
    """Gram matrix of ``features`` averaged over the pixels, each counted by ``weight``.

    Args:
        features: :math:`(B, C, H, W)`.
        weight: :math:`(B, 1, H, W)` in [0, 1] (1 = the pixel counts fully).

    Returns:
        :math:`(B, C, C)`: ``sum(w * f_i * f_j) / sum(w)`` per image (0 where ``sum(w)`` is 0).
    """
    flat = features.flatten(2)
    weighted = flat * weight.flatten(2)
    total = weight.flatten(1).sum(dim=1).clamp_min(1.0)
    return torch.bmm(weighted, flat.transpose(1, 2)) / total[:, None, None]


class RandomTextureLoss(nn.Module):
    """Relative distance between the hole-region Gram matrices of output and truth.

    At each of ``scales`` scales (the image halved by area each time) the output and the truth,
    in luma and colour differences, go through one layer of ``filters`` fixed random
    ``size``×``size`` filters and a ReLU. The Gram matrices of those responses over the hole
    pixels (:func:`masked_gram`) are compared, each image against its own truth:
    ``mean|G_out - G_true| / (mean|G_true| + floor * the batch's mean of mean|G_true|)``, averaged
    over the images and scales. 0 for a fill with the truth's exact texture statistics; about 1
    for a flat fill of a textured truth; more for a textured fill of a smooth truth. Gray
    (1-channel) images are read as RGB.

    Args:
        filters: filters per scale, >= 1 (default 32).
        size: filter side in pixels, odd, >= 3 (default 5).
        scales: number of scales, >= 1 (default 3: 1, 1/2 and 1/4 of the image).
        seed: seed of the filter bank (default 0).
        floor: share of the batch's mean Gram size added to each image's, >= 0 (default 0.1).

    Raises:
        ValueError: an argument is out of range.
        LossInputError: (at call time) the inputs carry no mask.
    """

    needs_mask = True

    def __init__(
        self, filters: int = 32, size: int = 5, scales: int = 3, seed: int = 0, floor: float = 0.1
    ) -> None:
        super().__init__()
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not floor >= 0:
            raise ValueError(f"floor must be a number >= 0, got {floor!r}")
        self.floor = float(floor)
        for name, value, low in (("filters", filters, 1), ("size", size, 3), ("scales", scales, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if size % 2 == 0:
            raise ValueError(f"size must be odd, got {size}")
        self.scales = scales
        banks = [random_filter_bank(filters, size, seed=seed * 1000 + s) for s in range(scales)]
        self.register_buffer("banks", torch.stack(banks), persistent=False)
        self.register_buffer("opponent", torch.tensor(_OPPONENT), persistent=False)

    def forward(self, inputs: LossInputs) -> Tensor:
        weight = inputs.require_mask("texture").float()
        with torch.autocast(device_type=inputs.output.device.type, enabled=False):
            both = torch.cat([inputs.output.float(), inputs.target.float()])
            if both.shape[1] == 1:
                both = both.expand(-1, 3, -1, -1)
            both = torch.einsum("oc,bchw->bohw", self.opponent, both)
            distances = []
            for scale in range(self.scales):
                if scale:
                    both = F.avg_pool2d(both, 2)
                    weight = F.avg_pool2d(weight, 2)
                bank = self.banks[scale]
                responses = F.relu(F.conv2d(both, bank, padding=bank.shape[-1] // 2))
                fake, real = masked_gram(responses, torch.cat([weight, weight])).chunk(2)
                real = real.detach()
                # Each image against its own truth, so that a smooth photo (sky, bokeh) asks
                # for a smooth fill; the floor (a share of the batch's mean) keeps a flat truth
                # from dividing by zero.
                truth_size = real.abs().mean(dim=(1, 2))
                floor = self.floor * truth_size.mean() + 1e-12
                error = (fake - real).abs().mean(dim=(1, 2))
                distances.append((error / (truth_size + floor)).mean())
            return torch.stack(distances).mean()

    def extra_repr(self) -> str:
        filters, _, size, _ = self.banks.shape[1:]
        return f"filters={filters}, size={size}, scales={self.scales}"
