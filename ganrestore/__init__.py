"""ganrestore: plugin-based image restoration (inpainting, denoising) with conditional GANs.

Importing this package is cheap: it runs no plugin code and does not import torch. Networks are
built by plugin name::

    import ganrestore
    generator = ganrestore.build_generator("unet", 3, 3, depth=6)
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

from ganrestore.errors import GanrestoreError
from ganrestore.models.networks import build_discriminator, build_generator
from ganrestore.registry import (
    DISCRIMINATORS,
    GENERATORS,
    REGISTRIES,
    PluginError,
    PluginInfo,
)

if TYPE_CHECKING:
    from os import PathLike

    from ganrestore.inference import Restorer, TileSettings

F = TypeVar("F", bound=Callable[..., Any])

try:
    __version__ = metadata.version("ganrestore")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"


def register_generator(name: str) -> Callable[[F], F]:
    """Decorator registering a generator factory ``(in_channels, out_channels, **params)``."""
    return GENERATORS.register(name)


def register_discriminator(name: str) -> Callable[[F], F]:
    """Decorator registering a discriminator factory ``(in_channels, **params)``."""
    return DISCRIMINATORS.register(name)


def list_plugins(load: bool = True) -> list[PluginInfo]:
    """Every plugin of every kind: name, kind, distribution, version, target, status.

    Args:
        load: import each plugin to tell ``"ok"`` from ``"broken"``; ``False`` reads only
            package metadata and reports ``"not loaded"``.
    """
    return [row for registry in REGISTRIES.values() for row in registry.info(load=load)]


def load_restorer(
    model: str | PathLike[str],
    device: str = "auto",
    *,
    tile: int | None = None,
    overlap: int | None = None,
    batch_size: int | None = None,
    self_ensemble: bool = False,
    tiling: TileSettings | None = None,
    trust_torchscript: bool = False,
    task: str | None = None,
    precision: str = "auto",
) -> Restorer:
    """A restorer for ``model`` (run dir, checkpoint, model or exported file, or bundled name).

    Its ``restore(image, mask=None)`` takes numpy arrays, PIL images and tensors; see
    :mod:`ganrestore.inference` and ``docs/apply.md``. Imports torch on first use only.

    Args:
        model: a run directory, checkpoint folder, ``.safetensors`` file, a file of
            ``ganrestore export`` (``.onnx``; ``.pt`` / ``.ts`` with ``trust_torchscript``),
            a bundled name (``"denoise"``, ``"inpaint"``, ``"upscale-x2"``, ``"upscale-x4"``)
            or ``"baseline:NAME"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda[:N]"`` or ``"mps"``.
        tile: largest tile side (default 1024, 0 never tiles), as ``apply --tile``.
        overlap: pixels shared by neighbouring tiles (default 32), as ``apply --overlap``.
        batch_size: images or tiles per forward pass (default 4), as ``apply --batch-size``.
        self_ensemble: average over the 8 rotated / mirrored views (8x slower, a bit better).
        tiling: a :class:`ganrestore.inference.TileSettings` instead of the three above.
        trust_torchscript: open a TorchScript file (``.pt``, ``.ts``), which runs code it holds
            when opened: only for files you trust. Without it one is refused (a
            ``GanrestoreError`` saying so); use the ``.onnx`` or ``.safetensors`` file instead.
        task: the task the model must restore; a baseline is built for it
            (``load_restorer("baseline:bicubic", task="upscale-x4")``). None: the model's own.
        precision: the number format a network runs in: ``"auto"`` (float16 on CUDA,
            bfloat16 on a CPU that computes it natively, else float32), ``"fp32"``, ``"bf16"``
            or ``"fp16"``, as ``apply --precision``; ``restorer.precision`` says which.
    """
    from ganrestore.inference import load_restorer as load

    return load(
        model,
        device=device,
        tiling=tiling,
        self_ensemble=self_ensemble,
        tile=tile,
        overlap=overlap,
        batch_size=batch_size,
        trust_torchscript=trust_torchscript,
        task=task,
        precision=precision,
    )


__all__ = [
    "GanrestoreError",
    "PluginError",
    "PluginInfo",
    "__version__",
    "build_discriminator",
    "build_generator",
    "list_plugins",
    "load_restorer",
    "register_discriminator",
    "register_generator",
]
