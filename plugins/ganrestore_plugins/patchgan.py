"""The pix2pix N-layer PatchGAN discriminator, with its features exposed for feature matching.

With its defaults, :func:`patchgan` is pix2pix's ``basic`` discriminator (``NLayerDiscriminator``
with 3 layers): each output logit judges one 70x70 patch of the input.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as with_spectral_norm

from ganrestore_plugins._layers import check_norm, check_positive, conv_bias, norm_layers


class PatchDiscriminator(nn.Module):
    """Stack of 4x4 convolutions ending in one logit per patch; build it with :func:`patchgan`.

    ``blocks[i]`` is convolution, optional norm and LeakyReLU; ``head`` is the last convolution,
    whose raw output (no sigmoid) is the logits map.
    """

    def __init__(
        self, in_channels: int, *, width: int, n_layers: int, norm: str, spectral_norm: bool
    ) -> None:
        super().__init__()
        check_positive(in_channels=in_channels, width=width, n_layers=n_layers)
        check_norm(norm)
        self.in_channels = in_channels
        self.min_size = 3 * 2**n_layers
        bias = conv_bias(norm)
        wrap = with_spectral_norm if spectral_norm else _unchanged

        blocks = [nn.Sequential(wrap(_conv(in_channels, width, 2, True)), nn.LeakyReLU(0.2))]
        widths = [width * min(2**n, 8) for n in range(n_layers + 1)]
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            blocks.append(
                nn.Sequential(
                    wrap(_conv(widths[n - 1], widths[n], stride, bias)),
                    *norm_layers(norm, widths[n]),
                    nn.LeakyReLU(0.2),
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.head = wrap(_conv(widths[-1], 1, 1, True))

    def features(self, x: Tensor) -> list[Tensor]:
        """The output of every LeakyReLU, then the logits last; for a feature-matching loss."""
        self._check_input(x)
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        outputs.append(self.head(x))
        return outputs

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(B, 1, h, w)``, one per overlapping patch of ``x``."""
        self._check_input(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"patchgan expects a (B, {self.in_channels}, H, W) tensor, got {tuple(x.shape)}"
            )
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"patchgan needs H and W of at least {self.min_size} with its n_layers, got "
                f"{tuple(x.shape[-2:])}; use larger crops or fewer layers"
            )


def patchgan(
    in_channels: int,
    *,
    width: int = 64,
    n_layers: int = 3,
    norm: str = "batch",
    spectral_norm: bool = False,
) -> nn.Module:
    """PatchGAN discriminator of pix2pix; the defaults are its ``basic`` (70x70 patches) model.

    ``n_layers`` stride-2 4x4 convolutions (widths ``width * min(2**n, 8)``), then two stride-1
    ones, the last giving one logit per patch. For a conditional GAN, ``in_channels`` counts the
    condition and the image together (6 for an RGB input paired with an RGB output); 256x256
    gives a 30x30 map with the defaults (2,768,705 parameters for 6 channels).

    Args:
        in_channels: channels of the input, e.g. 6 for a condition and an image, both RGB.
        width: feature maps of the first convolution; later ones have up to ``8 * width``.
        n_layers: number of stride-2 convolutions (at least 1); each one doubles the patch size
            (3 gives 70x70 patches).
        norm: ``"batch"``, ``"instance"`` (no affine parameters, as pix2pix) or ``"none"``.
            Convolutions before a batch norm have no bias.
        spectral_norm: if true, wrap every convolution in spectral normalisation (usually with
            ``norm="none"``): it bounds each layer's Lipschitz constant and steadies training.

    Returns:
        An ``nn.Module`` (:class:`PatchDiscriminator`) whose ``forward(x)`` gives the logits and
        whose ``features(x)`` gives the list of intermediate activations plus the logits last.

    Shape:
        - Input: ``(B, in_channels, H, W)`` float in [-1, 1], with H, W >= ``3 * 2**n_layers``.
        - Output: ``(B, 1, h, w)`` raw logits (no sigmoid), ``h = H // 2**n_layers - 2`` and
          likewise for ``w``.

    Raises:
        ValueError: an argument is out of range or not one of the listed choices.
    """
    return PatchDiscriminator(
        in_channels, width=width, n_layers=n_layers, norm=norm, spectral_norm=spectral_norm
    )


def _conv(in_channels: int, out_channels: int, stride: int, bias: bool) -> nn.Conv2d:
    """4x4 convolution with padding 1: halves the resolution at stride 2, trims 1 at stride 1."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=stride, padding=1, bias=bias)


def _unchanged(module: nn.Module) -> nn.Module:
    return module
