"""Small helpers shared by the built-in networks: argument checks and the norm-layer choice.

Kept apart from the networks so that importing one network never imports another.
"""

from __future__ import annotations

from torch import nn

#: Norm layers a built-in network accepts, by the name used in configs.
NORMS = ("batch", "instance", "none")


def check_norm(norm: str) -> None:
    """Raise ``ValueError`` unless ``norm`` is one of :data:`NORMS`."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(map(repr, NORMS))}, got {norm!r}")


def check_positive(**values: int) -> None:
    """Raise ``ValueError`` naming the first argument that is not a positive integer."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def conv_bias(norm: str) -> bool:
    """Whether a conv followed by ``norm`` needs its own bias.

    Batch norm subtracts the mean, so a bias before it is wasted; pix2pix keeps the bias for every
    other choice (instance norm without affine parameters, or no norm at all).
    """
    return norm != "batch"


def norm_layers(norm: str, channels: int) -> list[nn.Module]:
    """The norm layer for ``channels`` feature maps, as a list to splice into ``nn.Sequential``.

    ``"instance"`` follows pix2pix: no affine parameters and no running statistics. ``"none"``
    gives an empty list, so the network holds no placeholder modules.
    """
    check_norm(norm)
    if norm == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "instance":
        return [nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)]
    return []
