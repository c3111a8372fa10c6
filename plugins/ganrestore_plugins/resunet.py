"""A residual U-Net that works at half resolution: fast on CPUs, faithful to fine detail.

The design follows the restoration networks that beat BM3D (DnCNN's residual learning, FFDNet's
pixel-unshuffled input, DRUNet's residual blocks with additive skips and no normalisation),
scaled down so that it trains and runs on a laptop CPU:

* the image is pixel-unshuffled by 2 (lossless: each 2×2 block becomes 4 channels), so every
  convolution runs on a quarter of the pixels, and pixel-shuffled back at the end;
* each level holds ``blocks`` residual blocks (conv-ReLU-conv + identity); levels are joined by
  2×2 strided convolutions down and 2×2 transposed convolutions up (non-overlapping, so no
  checkerboard), and the decoder *adds* the encoder's features (DRUNet) instead of concatenating;
* no normalisation layers, so colours and noise statistics pass through unchanged;
* with ``residual=True`` the network predicts the correction to its input;
* with ``noise_map=True`` it measures the noise of its input (the wavelet estimator of Donoho &
  Johnstone: the median absolute finest diagonal Haar coefficient / 0.6745) and adds a learned
  function of it to the features of every level, as FFDNet feeds a noise-level map. The model
  stays blind to the user, yet knows how hard to smooth: without it a blind network smooths
  clean and slightly noisy photos as if they were noisy. The learned terms start at zero, so
  weights of a network without the map load unchanged (``--init``);
* with ``refine_width > 0`` a full-resolution stage follows: it reads the input, the
  half-resolution estimate and the last decoder features (pixel-shuffled to full resolution) and
  adds a correction of its own. Half-resolution convolutions see each 2×2 block as one pixel,
  which costs fine, high-contrast texture at low noise; this stage restores it, for about a
  third more compute at width 32. Its last convolution starts at zero, so a network trained
  without it loads unchanged and starts from the same output (``--init`` grows it).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganrestore.models.padding import pad_to_multiple
from ganrestore_plugins._layers import check_positive


class ResidualBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3×3 convolutions of ``channels`` maps.

    With ``identity=True`` the second convolution starts at zero, so the block starts as the
    identity.
    """

    def __init__(self, channels: int, identity: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        if identity:
            nn.init.zeros_(self.body[2].weight)
            nn.init.zeros_(self.body[2].bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


#: Median absolute deviation of a standard normal variable: MAD / 0.6745 estimates σ.
_MAD_TO_SIGMA = 0.6745
#: The noise estimate is given to the network in units of 50 levels of 255 (0-55 -> 0-1.1).
_NOISE_UNIT = 50 / 255


def estimate_noise_level(unshuffled: Tensor, channels: int) -> Tensor:
    """Per-image Gaussian noise σ from the finest diagonal Haar wavelet coefficients.

    Args:
        unshuffled: (B, C*4, H/2, W/2), the pixel-unshuffled image in [-1, 1]; the four channels
            of each input channel are the pixels (0,0), (0,1), (1,0), (1,1) of its 2×2 blocks.
        channels: how many leading input channels are image channels.

    Returns:
        (B,) σ in the image's own units (2/255 per 8-bit level), robust to edges and texture
        because it is a median.
    """
    batch = unshuffled.shape[0]
    blocks = unshuffled[:, : channels * 4].float().reshape(batch, channels, 4, -1)
    diagonal = (blocks[:, :, 0] - blocks[:, :, 1] - blocks[:, :, 2] + blocks[:, :, 3]) / 2
    return diagonal.abs().flatten(1).median(dim=1).values / _MAD_TO_SIGMA


class NoiseEmbedding(nn.Module):
    """Per-level learned offsets ``a * σ + b`` (one per feature map) from the measured noise σ.

    Zero-initialised, so a network gains it without changing what it computes.
    """

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.levels = nn.ModuleList(nn.Linear(1, width) for width in widths)
        for level in self.levels:
            nn.init.zeros_(level.weight)
            nn.init.zeros_(level.bias)

    def forward(self, sigma: Tensor) -> list[Tensor]:
        """(B,) σ in [-1, 1] image units -> one (B, width, 1, 1) offset per level."""
        scaled = (sigma / (2 * _NOISE_UNIT)).unsqueeze(1)
        return [level(scaled)[:, :, None, None] for level in self.levels]


class FullResolutionRefinement(nn.Module):
    """Full-resolution residual stage: ``estimate + tail(blocks(head(inputs)))``.

    Args:
        in_channels: channels of the concatenated inputs.
        out_channels: channels of the estimate it corrects.
        width: feature maps.
        blocks: residual blocks.
        identity: the blocks start as the identity (see :class:`ResidualBlock`).
    """

    def __init__(
        self, in_channels: int, out_channels: int, width: int, blocks: int, identity: bool = False
    ) -> None:
        super().__init__()
        self.head = nn.Conv2d(in_channels, width, 3, padding=1)
        self.body = _blocks(width, blocks, identity)
        self.tail = nn.Conv2d(width, out_channels, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, inputs: Tensor, estimate: Tensor, offset: Tensor | None) -> Tensor:
        """(B, in_channels, H, W) and (B, out_channels, H, W) -> the corrected estimate."""
        features = _shifted(torch.relu(self.head(inputs)), offset)
        return estimate + self.tail(self.body(features))


class ResUNetGenerator(nn.Module):
    """Pixel-unshuffle → residual U-Net → pixel-shuffle (→ refinement); build with :func:`resunet`.

    Attributes:
        size_multiple: H and W are padded to a multiple of this inside :meth:`forward`.
        noise_sigma: with ``noise_map``, the Gaussian noise σ (0-255 scale) the network is told
            its input holds, in place of the one it measures; None (default): measure it per
            image or tile. Lower leaves more of the noise, higher smooths harder.
    """

    noise_sigma: float | None = None

    @property
    def takes_noise_sigma(self) -> bool:
        """Whether :attr:`noise_sigma` means anything (the network has a ``noise_map``)."""
        return self.noise_embedding is not None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        widths: tuple[int, ...],
        blocks: int,
        residual: bool,
        noise_map: bool = False,
        refine_width: int = 0,
        refine_blocks: int = 1,
        identity_init: bool = False,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.residual = residual
        self.size_multiple = 2 * 2 ** (len(widths) - 1)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.head = nn.Conv2d(in_channels * 4, widths[0], 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        for level, width in enumerate(widths[:-1]):
            self.encoders.append(_blocks(width, blocks, identity_init))
            self.downs.append(nn.Conv2d(width, widths[level + 1], 2, stride=2))
        self.bottleneck = _blocks(widths[-1], blocks, identity_init)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(len(widths) - 1)):
            self.ups.append(nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2))
            self.decoders.append(_blocks(widths[level], blocks, identity_init))
        self.tail = nn.Conv2d(widths[0], out_channels * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        # One offset per stage, in order: the encoders, the bottleneck, the decoders.
        stage_widths = [*widths[:-1], widths[-1], *reversed(widths[:-1])]
        self.refine = None
        if refine_width:
            # Inputs: the network's input, the half-resolution estimate, the decoder features.
            refine_in = in_channels + out_channels + widths[0] // 4
            self.refine = FullResolutionRefinement(
                refine_in, out_channels, refine_width, refine_blocks, identity_init
            )
            stage_widths.append(refine_width)  # the refinement's offset comes last
        self.noise_embedding = NoiseEmbedding(stage_widths) if noise_map else None

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        padded, _ = pad_to_multiple(x, self.size_multiple)
        unshuffled = self.unshuffle(padded)
        offsets = iter(self._noise_offsets(unshuffled))
        features = self.head(unshuffled)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            features = encoder(_shifted(features, next(offsets)))
            skips.append(features)
            features = down(features)
        features = self.bottleneck(_shifted(features, next(offsets)))
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            features = decoder(_shifted(up(features) + skip, next(offsets)))
        out = self.shuffle(self.tail(features))
        if self.residual:
            out = out + padded[:, : self.out_channels]
        if self.refine is not None:
            inputs = torch.cat([padded, out, self.shuffle(features)], dim=1)
            out = self.refine(inputs, out, next(offsets))
        return out[..., :height, :width]

    def _noise_offsets(self, unshuffled: Tensor) -> list[Tensor | None]:
        """The per-stage offsets from the measured noise, or ``None`` without ``noise_map``."""
        stages = 2 * len(self.encoders) + 1 + (self.refine is not None)
        if self.noise_embedding is None:
            return [None] * stages
        if self.noise_sigma is not None:  # the image units of the estimator: 2/255 per level
            sigma = torch.full(
                (unshuffled.shape[0],), 2 * self.noise_sigma / 255, device=unshuffled.device
            )
        else:
            with torch.no_grad():
                sigma = estimate_noise_level(unshuffled, self.out_channels)
        return [offset.to(unshuffled.dtype) for offset in self.noise_embedding(sigma)]


def resunet(
    in_channels: int,
    out_channels: int,
    *,
    widths: tuple[int, ...] | list[int] = (32, 64, 128, 256),
    blocks: int = 2,
    residual: bool = True,
    noise_map: bool = False,
    refine_width: int = 0,
    refine_blocks: int = 1,
    identity_init: bool = False,
) -> nn.Module:
    """Residual U-Net at half resolution (pixel-unshuffle), fast on CPUs; no normalisation.

    Args:
        in_channels: given by the task (3 for RGB, 4 for RGB + mask).
        out_channels: given by the task (3 for RGB).
        widths: feature maps per level, from the half-resolution level down to the bottleneck;
            each further level halves the resolution again.
        blocks: residual blocks (two 3×3 convolutions each) per level, in the encoder, the
            bottleneck and the decoder.
        residual: add the input's first ``out_channels`` channels to the output, so the
            network learns the correction (the noise, for denoising).
        noise_map: measure the Gaussian noise σ of the input's first ``out_channels`` channels
            (median absolute finest diagonal Haar coefficient / 0.6745, per image or tile) and
            add learned per-level offsets from it; for denoising. Starts at zero, so weights
            trained without it load as they are.
        refine_width: feature maps of a full-resolution refinement stage after the U-Net
            (0 = none). It restores fine texture that half-resolution convolutions smooth; its
            output starts at zero, so a network trained without it can be grown (``--init``).
            Needs ``widths[0]`` divisible by 4 (its decoder features are pixel-shuffled in).
        refine_blocks: residual blocks of the refinement stage (when ``refine_width > 0``).
        identity_init: every residual block starts as the identity (its second convolution at
            zero). For growing a trained network deeper: with more ``blocks`` or
            ``refine_blocks`` and ``--init`` pointing at it, the added blocks leave its output
            unchanged at the start, as ``noise_map`` and ``refine_width`` do.

    Shape:
        (B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W), any H and W (reflect-padded
        to a multiple of ``2 ** len(widths)`` inside and cropped back).
    """
    widths = tuple(widths)
    check_positive(in_channels=in_channels, out_channels=out_channels, blocks=blocks)
    if not widths:
        raise ValueError("widths must name at least one level, e.g. [32, 64, 128]")
    for index, width in enumerate(widths):
        check_positive(**{f"widths[{index}]": width})
    if residual and in_channels < out_channels:
        raise ValueError(
            f"residual=True adds the input to the output, so in_channels ({in_channels}) must "
            f"be at least out_channels ({out_channels})"
        )
    if refine_width < 0:
        raise ValueError(f"refine_width must be >= 0 (0 = no refinement stage), got {refine_width}")
    if refine_width:
        check_positive(refine_blocks=refine_blocks)
        if widths[0] % 4:
            raise ValueError(
                f"refine_width > 0 pixel-shuffles the first level's features, so widths[0] "
                f"({widths[0]}) must be divisible by 4"
            )
    return ResUNetGenerator(
        in_channels,
        out_channels,
        widths,
        blocks,
        residual,
        noise_map,
        refine_width,
        refine_blocks,
        identity_init,
    )


def _blocks(channels: int, count: int, identity: bool) -> nn.Sequential:
    return nn.Sequential(*(ResidualBlock(channels, identity) for _ in range(count)))


def _shifted(features: Tensor, offset: Tensor | None) -> Tensor:
    """``features + offset``; no work at all without an offset (networks without noise_map)."""
    return features if offset is None else features + offset
