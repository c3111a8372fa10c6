"""A residual generator of fast Fourier convolutions: every block sees the whole image.

After LaMa (Suvorov et al., "Resolution-robust Large Mask Inpainting with Fourier Convolutions",
WACV 2022), sized for a CPU:

* the image is pixel-unshuffled by 2 (each 2×2 block becomes 4 channels), then halved
  ``downsamples`` more times by 2×2 strided convolutions, doubling the width each time;
* at the bottleneck, ``blocks`` residual blocks of two fast Fourier convolutions (FFC) each. An
  FFC splits its maps into a local part (3×3 convolutions) and a global part, whose spectral
  transform multiplies the image's 2-D Fourier transform by a learned 1×1 convolution: one
  layer reaches every pixel, so the middle of a hole half the image wide still sees the rest of
  the photo, and a periodic texture (bricks, grass, waves) is one peak in the spectrum to copy;
* 2×2 transposed convolutions back up (non-overlapping: no checkerboard), with the encoder's
  features added (as in ``resunet``), and a pixel shuffle to full resolution;
* no normalisation layers, like ``resunet``: colours pass through unchanged, and the output of
  a tile does not depend on the batch it ran in.

The Fourier transforms run in float32 whatever the autocast precision (bf16 FFTs do not exist
on CPUs and lose too much on GPUs).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganrestore.models.padding import pad_to_multiple
from ganrestore_plugins._layers import check_positive


class FourierUnit(nn.Module):
    """``irfft2(relu(conv1x1([re, im] of rfft2(x))))``: a global layer over the spectrum."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, 2 * channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        with torch.autocast(device_type=x.device.type, enabled=False):
            spectrum = torch.fft.rfft2(x.float(), norm="ortho")
            mixed = torch.relu(self.conv(torch.cat([spectrum.real, spectrum.imag], dim=1)))
            real, imag = mixed.chunk(2, dim=1)
            spatial = torch.fft.irfft2(torch.complex(real, imag), s=(height, width), norm="ortho")
        return spatial.to(x.dtype)


class SpectralTransform(nn.Module):
    """The global-to-global path of an FFC: 1×1 down to half, Fourier unit, 1×1 back up."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = max(channels // 2, 1)
        self.reduce = nn.Sequential(nn.Conv2d(channels, half, 1), nn.ReLU(inplace=True))
        self.fourier = FourierUnit(half)
        self.expand = nn.Conv2d(half, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        reduced = self.reduce(x)
        return self.expand(reduced + self.fourier(reduced))


class FastFourierConv(nn.Module):
    """One FFC on maps stacked as ``[local, global]``: ``local`` + ``global`` = ``channels``.

    ``local' = relu(conv(local) + conv(global))`` and
    ``global' = relu(conv(local) + spectral(global))`` (3×3 convolutions).
    """

    def __init__(self, channels: int, global_channels: int) -> None:
        super().__init__()
        local = channels - global_channels
        self.split = (local, global_channels)
        self.local_to_local = nn.Conv2d(local, local, 3, padding=1, padding_mode="reflect")
        self.global_to_local = nn.Conv2d(
            global_channels, local, 3, padding=1, padding_mode="reflect"
        )
        self.local_to_global = nn.Conv2d(
            local, global_channels, 3, padding=1, padding_mode="reflect"
        )
        self.global_to_global = SpectralTransform(global_channels)

    def forward(self, x: Tensor) -> Tensor:
        local, global_ = torch.split(x, self.split, dim=1)
        new_local = self.local_to_local(local) + self.global_to_local(global_)
        new_global = self.local_to_global(local) + self.global_to_global(global_)
        return torch.relu(torch.cat([new_local, new_global], dim=1))


class FFCBlock(nn.Module):
    """``x + ffc(ffc(x))``."""

    def __init__(self, channels: int, global_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            FastFourierConv(channels, global_channels), FastFourierConv(channels, global_channels)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class FFCResNet(nn.Module):
    """See :func:`ffc`.

    Attributes:
        size_multiple: H and W are padded to a multiple of this inside :meth:`forward`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int,
        downsamples: int,
        blocks: int,
        global_ratio: float,
    ) -> None:
        super().__init__()
        self.size_multiple = 2 ** (downsamples + 1)
        self.unshuffle, self.shuffle = nn.PixelUnshuffle(2), nn.PixelShuffle(2)
        self.stem = nn.Sequential(
            nn.Conv2d(4 * in_channels, width, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(inplace=True),
        )
        widths = [width * 2**level for level in range(downsamples + 1)]
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 2, stride=2), nn.ReLU(inplace=True))
            for i in range(downsamples)
        )
        bottleneck = widths[-1]
        global_channels = min(max(round(bottleneck * global_ratio), 1), bottleneck - 1)
        self.blocks = nn.Sequential(*(FFCBlock(bottleneck, global_channels) for _ in range(blocks)))
        self.up = nn.ModuleList(
            nn.Sequential(
                nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2), nn.ReLU(inplace=True)
            )
            for i in reversed(range(downsamples))
        )
        self.head = nn.Conv2d(width, 4 * out_channels, 3, padding=1, padding_mode="reflect")

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        x, _ = pad_to_multiple(x, self.size_multiple)
        features = self.stem(self.unshuffle(x))
        skips = []
        for down in self.down:
            skips.append(features)
            features = down(features)
        features = self.blocks(features)
        for up, skip in zip(self.up, reversed(skips), strict=True):
            features = up(features) + skip
        return self.shuffle(self.head(features))[..., :height, :width]


def ffc(
    in_channels: int,
    out_channels: int,
    *,
    width: int = 32,
    downsamples: int = 2,
    blocks: int = 4,
    global_ratio: float = 0.5,
) -> nn.Module:
    """Residual network of fast Fourier convolutions (LaMa-style), at half resolution.

    Args:
        in_channels: given by the task (4 for RGB with holes + mask).
        out_channels: given by the task (3 for RGB).
        width: feature maps at half resolution; each of the ``downsamples`` levels doubles it.
        downsamples: halvings after the half-resolution stem (the FFC blocks run at
            ``1 / 2 ** (downsamples + 1)`` of the image with ``width * 2 ** downsamples`` maps).
        blocks: FFC residual blocks (two FFCs each) at the bottleneck.
        global_ratio: share of the bottleneck maps in the global (spectral) part, in (0, 1).

    Shape:
        (B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W), any H and W (reflect-padded
        to a multiple of ``2 ** (downsamples + 1)`` inside and cropped back).
    """
    check_positive(in_channels=in_channels, out_channels=out_channels, width=width, blocks=blocks)
    if isinstance(downsamples, bool) or not isinstance(downsamples, int) or downsamples < 0:
        raise ValueError(f"downsamples must be an integer >= 0, got {downsamples!r}")
    if isinstance(global_ratio, bool) or not 0 < global_ratio < 1:
        raise ValueError(f"global_ratio must be a number in (0, 1), got {global_ratio!r}")
    if width * 2**downsamples < 2:
        raise ValueError("the bottleneck needs at least 2 maps: raise width or downsamples")
    return FFCResNet(in_channels, out_channels, width, downsamples, blocks, float(global_ratio))
