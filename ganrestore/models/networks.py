"""Build generator and discriminator networks from ``{name, params}`` specs.

The spec is what a model file stores, together with the plugin's distribution and version
(:class:`ganrestore.modelfile.NetworkRecord`), so that a checkpoint rebuilds its own networks
with nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganrestore.registry import DISCRIMINATORS, GENERATORS, PluginError

if TYPE_CHECKING:
    from torch import nn


def _checked_module(kind: str, name: str, built: object) -> nn.Module:
    from torch import nn

    if not isinstance(built, nn.Module):
        raise PluginError(
            f"{kind} '{name}' returned {type(built).__name__}, not a torch.nn.Module; "
            "a network plugin's factory must return a module."
        )
    return built


def build_generator(name: str, in_channels: int, out_channels: int, **params: Any) -> nn.Module:
    """Build the generator plugin ``name``.

    Args:
        name: registry name, e.g. ``"unet"`` (see ``ganrestore plugins list``).
        in_channels: channels of the network input (3 for RGB, 4 for RGB + mask).
        out_channels: channels of the output (3 for RGB).
        **params: the plugin's own parameters (see ``ganrestore plugins show NAME``).

    Returns:
        A module mapping ``(B, in_channels, H, W)`` to ``(B, out_channels, H, W)``.

    Raises:
        PluginError: unknown name, conflicting or broken plugin, or parameters it rejects.
    """
    built = GENERATORS.build(name, in_channels, out_channels, **params)
    return _checked_module("generator", name, built)


def build_discriminator(name: str, in_channels: int, **params: Any) -> nn.Module:
    """Build the discriminator plugin ``name``.

    Args:
        name: registry name, e.g. ``"patchgan"``.
        in_channels: channels of the images it judges (6 for a conditional RGB pair).
        **params: the plugin's own parameters.

    Returns:
        A module mapping ``(B, in_channels, H, W)`` to raw logits ``(B, 1, h, w)``.

    Raises:
        PluginError: unknown name, conflicting or broken plugin, or parameters it rejects.
    """
    built = DISCRIMINATORS.build(name, in_channels, **params)
    return _checked_module("discriminator", name, built)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
