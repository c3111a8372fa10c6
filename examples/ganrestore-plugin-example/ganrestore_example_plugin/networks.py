"""A small fully-convolutional generator, as a third party would ship one."""

from __future__ import annotations

import torch
from torch import nn


class ExampleCNN(nn.Module):
    """A plain stack of 3×3 convolutions that predicts a residual (DnCNN-like)."""

    def __init__(self, in_channels: int, out_channels: int, width: int, blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(blocks):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, out_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, : self.out_channels] + self.body(x)


def example_cnn(
    in_channels: int, out_channels: int, *, width: int = 32, blocks: int = 4
) -> nn.Module:
    """A small residual CNN generator (any H×W, no down-sampling).

    Args:
        in_channels: input channels, given by the task (3 for RGB, 4 for RGB + mask).
        out_channels: output channels, given by the task.
        width: feature channels of every hidden layer.
        blocks: number of hidden 3×3 convolution layers.

    Shape:
        (B, in_channels, H, W) in [-1, 1] -> (B, out_channels, H, W).
    """
    if width < 1 or blocks < 0:
        raise ValueError(f"width must be >= 1 and blocks >= 0, got width={width}, blocks={blocks}")
    return ExampleCNN(in_channels, out_channels, width, blocks)
