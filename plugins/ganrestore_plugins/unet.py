"""The pix2pix U-Net generator, written as two flat lists of stages instead of nested blocks.

With its defaults, :func:`unet` is pix2pix's ``unet_256`` (Isola et al., 2017) layer for layer and
parameter for parameter. It adds what a restoration toolkit needs on top: any image size (the
input is padded to a multiple of ``2**depth`` and the output cropped back), any channel count,
resize-convolution upsampling, and an optional residual output.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganrestore.models.padding import pad_to_multiple
from ganrestore_plugins._layers import check_norm, check_positive, conv_bias, norm_layers

UPSAMPLINGS = ("transpose", "resize")


class UNetGenerator(nn.Module):
    """U-Net encoder/decoder with skip connections; build it with :func:`unet`.

    ``encoder[k]`` halves the resolution to ``channels[k]`` feature maps; every stage but the
    innermost ends with its LeakyReLU, so the skip it hands to the decoder is activated, exactly
    what pix2pix concatenates (its in-place LeakyReLU activates the tensor it also keeps as the
    skip). ``decoder[0]`` is the innermost stage; ``decoder[i]`` for ``i >= 1`` takes the
    concatenation ``[skip, features]`` of level ``depth - 1 - i`` and doubles the resolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        depth: int,
        base_channels: int,
        max_channels: int,
        norm: str,
        dropout: float,
        upsampling: str,
        residual: bool,
    ) -> None:
        super().__init__()
        _check_args(
            in_channels,
            out_channels,
            depth,
            base_channels,
            max_channels,
            norm,
            dropout,
            upsampling,
            residual,
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.depth = depth
        self.residual = residual
        self.size_multiple = 2**depth  # H and W are padded to this inside forward()
        widths = [min(base_channels * 2**level, max_channels) for level in range(depth)]
        bias = conv_bias(norm)

        encoder = [nn.Sequential(_down(in_channels, widths[0], bias), nn.LeakyReLU(0.2))]
        for level in range(1, depth - 1):
            encoder.append(
                nn.Sequential(
                    _down(widths[level - 1], widths[level], bias),
                    *norm_layers(norm, widths[level]),
                    nn.LeakyReLU(0.2),
                )
            )
        encoder.append(_down(widths[depth - 2], widths[depth - 1], bias))
        self.encoder = nn.ModuleList(encoder)

        decoder = []
        for level in range(depth - 1, 0, -1):
            inner, outer = widths[level], widths[level - 1]
            wide = inner == outer == max_channels and level < depth - 1
            decoder.append(
                nn.Sequential(
                    nn.ReLU(),
                    _up(inner if level == depth - 1 else 2 * inner, outer, upsampling, bias),
                    *norm_layers(norm, outer),
                    *([nn.Dropout(dropout)] if wide and dropout > 0 else []),
                )
            )
        decoder.append(
            nn.Sequential(
                nn.ReLU(), _up(2 * widths[0], out_channels, upsampling, bias=True), nn.Tanh()
            )
        )
        self.decoder = nn.ModuleList(decoder)

    def forward(self, x: Tensor) -> Tensor:
        """Restore ``x``: ``(B, in_channels, H, W)`` in [-1, 1] -> ``(B, out_channels, H, W)``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"unet expects a (B, {self.in_channels}, H, W) tensor, got {tuple(x.shape)}"
            )
        height, width = x.shape[-2:]
        features, (top, left) = pad_to_multiple(x, 2**self.depth, centre=True)
        skips = []
        for stage in self.encoder:
            features = stage(features)
            skips.append(features)
        features = self.decoder[0](skips.pop())
        for stage, skip in zip(self.decoder[1:], reversed(skips), strict=True):
            features = stage(torch.cat([skip, features], dim=1))
        out = features[..., top : top + height, left : left + width]
        if self.residual:
            out = x[:, : self.out_channels] + out
        return out


def unet(
    in_channels: int,
    out_channels: int,
    *,
    depth: int = 8,
    base_channels: int = 64,
    max_channels: int = 512,
    norm: str = "batch",
    dropout: float = 0.5,
    upsampling: str = "transpose",
    residual: bool = False,
) -> nn.Module:
    """U-Net generator of pix2pix; the defaults are ``unet_256`` (54,413,955 parameters for RGB).

    Each of the ``depth`` levels halves the resolution with a 4x4 stride-2 convolution, and the
    decoder mirrors it, concatenating the encoder's features at each level. Any image size works:
    the input is padded (reflect, or replicate where the image is too small to reflect) to a
    multiple of ``2**depth`` and the output is cropped back.

    Args:
        in_channels: channels of the input, e.g. 3 for RGB, 4 for RGB plus an inpainting mask.
        out_channels: channels of the output, e.g. 3 for RGB.
        depth: number of stride-2 levels (at least 2); 8 brings 256x256 down to 1x1.
        base_channels: feature maps of the outermost level; level ``k`` has
            ``min(base_channels * 2**k, max_channels)``.
        max_channels: cap on the feature maps of any level.
        norm: ``"batch"``, ``"instance"`` (no affine parameters, as pix2pix) or ``"none"``.
            Convolutions before a batch norm have no bias.
        dropout: dropout probability in [0, 1) of the decoder levels whose input and output
            both have ``max_channels`` maps, except the innermost (3 levels in ``unet_256``);
            pix2pix's only source of noise. 0 disables it.
        upsampling: ``"transpose"`` (4x4 stride-2 transposed convolution, as pix2pix) or
            ``"resize"`` (bilinear x2 then a 3x3 convolution, which avoids checkerboard
            artefacts).
        residual: if true, return ``x[:, :out_channels]`` plus the network's output, so the
            network learns a correction; needs ``in_channels >= out_channels``. The sum is not
            clamped: the caller clamps.

    Returns:
        An ``nn.Module`` (:class:`UNetGenerator`).

    Shape:
        - Input: ``(B, in_channels, H, W)`` float in [-1, 1] (a mask channel stays in {0, 1}).
        - Output: ``(B, out_channels, H, W)`` float in [-1, 1] (outside it only when
          ``residual`` adds the input).

    Raises:
        ValueError: an argument is out of range or not one of the listed choices.
    """
    return UNetGenerator(
        in_channels,
        out_channels,
        depth=depth,
        base_channels=base_channels,
        max_channels=max_channels,
        norm=norm,
        dropout=dropout,
        upsampling=upsampling,
        residual=residual,
    )


def _check_args(
    in_channels: int,
    out_channels: int,
    depth: int,
    base_channels: int,
    max_channels: int,
    norm: str,
    dropout: float,
    upsampling: str,
    residual: bool,
) -> None:
    check_positive(
        in_channels=in_channels,
        out_channels=out_channels,
        base_channels=base_channels,
        max_channels=max_channels,
    )
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    check_norm(norm)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if upsampling not in UPSAMPLINGS:
        choices = ", ".join(map(repr, UPSAMPLINGS))
        raise ValueError(f"upsampling must be one of {choices}, got {upsampling!r}")
    if residual and in_channels < out_channels:
        raise ValueError(
            f"residual=True adds the input to the output, so in_channels ({in_channels}) must be "
            f">= out_channels ({out_channels})"
        )


def _down(in_channels: int, out_channels: int, bias: bool) -> nn.Conv2d:
    """4x4 stride-2 convolution: halves the resolution."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=bias)


def _up(in_channels: int, out_channels: int, upsampling: str, bias: bool) -> nn.Module:
    """Doubles the resolution, by transposed convolution or by bilinear resize + convolution."""
    if upsampling == "transpose":
        return nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(in_channels, out_channels, 3, padding=1, padding_mode="reflect", bias=bias),
    )
