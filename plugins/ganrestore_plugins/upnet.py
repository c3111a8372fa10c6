"""An upscaling network that works at the input's resolution: fast on CPUs at any scale.

The design follows the super-resolution networks that made deep upscaling practical (ESPCN's
sub-pixel convolution, EDSR's residual blocks without normalisation and its long skip), scaled
down so that it trains and runs on a laptop CPU:

* every convolution runs on the small input, so the cost per *output* pixel falls with the
  square of the scale (a ×4 output pixel costs a sixteenth of an input pixel);
* ``blocks`` residual blocks (conv-ReLU-conv + identity, no normalisation) follow a head
  convolution, and a long skip adds the head's features back (EDSR);
* one sub-pixel convolution makes ``scale²`` output pixels per input pixel (pixel shuffle:
  no transposed convolution, so no checkerboard);
* the result is added to a bicubic upscale of the input, so the network learns only the detail
  bicubic interpolation misses, and starts as bicubic (its last convolution starts at zero);
* every residual block starts as the identity (its second convolution starts at zero), so a
  network with more ``blocks`` warm-started from a trained one (``ganrestore train --init``)
  starts as that network, and the blocks it adds learn from there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as functional
from torch import Tensor, nn

from ganrestore_plugins._layers import check_positive
from ganrestore_plugins.resunet import ResidualBlock


class UpscaleNet(nn.Module):
    """Head → residual blocks (+ long skip) → sub-pixel convolution, + bicubic; build with
    :func:`upnet`.

    Attributes:
        scale: output side / input side.
        size_multiple: 1; any input size works.
    """

    size_multiple = 1

    def __init__(
        self, in_channels: int, out_channels: int, scale: int, width: int, blocks: int
    ) -> None:
        super().__init__()
        self.scale = scale
        self.out_channels = out_channels
        self.head = nn.Conv2d(in_channels, width, 3, padding=1)
        self.body = nn.Sequential(*(ResidualBlock(width, identity=True) for _ in range(blocks)))
        self.body_tail = nn.Conv2d(width, width, 3, padding=1)
        self.upsample = nn.Sequential(
            nn.Conv2d(width, out_channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale)
        )
        nn.init.zeros_(self.upsample[0].weight)
        nn.init.zeros_(self.upsample[0].bias)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) in [-1, 1] -> (B, out_channels, scale·H, scale·W), about
        [-1, 1] (not clamped: the task clamps)."""
        features = self.head(x)
        features = features + self.body_tail(self.body(features))
        detail = self.upsample(features)
        with torch.autocast(x.device.type, enabled=False):  # the base at full precision
            base = functional.interpolate(
                x[:, : self.out_channels].float(),
                scale_factor=self.scale,
                mode="bicubic",
                align_corners=False,
            )
            return base + detail.float()


def upnet(
    in_channels: int,
    out_channels: int,
    *,
    scale: int = 4,
    width: int = 64,
    blocks: int = 8,
) -> nn.Module:
    """Upscaling network: residual blocks at the input's resolution, sub-pixel output, plus
    bicubic; no normalisation.

    Args:
        in_channels: given by the task (3 for RGB).
        out_channels: given by the task (3 for RGB); at most ``in_channels`` (the bicubic
            upscale of the input's first ``out_channels`` channels is the base).
        scale: output side / input side, 2 to 8; must be the task's (``upscale-x4``: 4).
        width: feature maps of every block.
        blocks: residual blocks (two 3×3 convolutions each).

    Shape:
        (B, in_channels, H, W) in [-1, 1] -> (B, out_channels, scale·H, scale·W), any H and W.

    Cost: about ``width² × 9 × (2 × blocks + 1)`` multiply-adds per input pixel (64 × 8:
    626 k, plus 30 k for the head and the sub-pixel layer: 41 k per output pixel at ×4).
    """
    check_positive(
        in_channels=in_channels, out_channels=out_channels, scale=scale, width=width, blocks=blocks
    )
    if not 2 <= scale <= 8:
        raise ValueError(f"scale must be from 2 to 8, got {scale}")
    if in_channels < out_channels:
        raise ValueError(
            f"the output adds to a bicubic upscale of the input, so in_channels ({in_channels}) "
            f"must be at least out_channels ({out_channels})"
        )
    return UpscaleNet(in_channels, out_channels, scale, width, blocks)
