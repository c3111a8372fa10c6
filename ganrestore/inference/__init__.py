"""Inference: a trained model applied to images, arrays and whole folders.

* :func:`load_restorer` -> a :class:`Restorer` with ``restore(image, mask=None)`` for numpy
  arrays, PIL images and tensors (``ganrestore.load_restorer`` is the same function);
* :func:`run_folder` restores a folder the way ``ganrestore apply`` does;
* :func:`tiled_forward` runs any network over large images in blended tiles.

Data flows data -> models -> engine -> inference -> cli: nothing here imports the CLI, and
nothing here imports the training engine or the baselines either: model files are read
through :mod:`ganrestore.modelfile`, baselines are built through their plugin registry.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganrestore.devices import resolve_device
from ganrestore.errors import GanrestoreError
from ganrestore.inference.bundled import (
    BUNDLED_MODELS,
    ModelNotFoundError,
    resolve_model,
    set_precision,
)
from ganrestore.inference.folder import (
    ApplyOptions,
    ApplySummary,
    UnsafeFoldersError,
    plan_folder,
    run_folder,
    run_plan,
)
from ganrestore.inference.masks import guess_route
from ganrestore.inference.restorer import (
    MaskRequiredError,
    NetworkRestorer,
    RestoreInputError,
    Restorer,
)
from ganrestore.inference.tiling import TileSettings, tiled_forward


def load_restorer(
    model: str | Path,
    device: str | torch.device = "auto",
    tiling: TileSettings | None = None,
    self_ensemble: bool = False,
    *,
    tile: int | None = None,
    overlap: int | None = None,
    batch_size: int | None = None,
    trust_torchscript: bool = False,
    task: str | None = None,
    precision: str = "auto",
) -> Restorer:
    """The restorer for ``model``: a run directory, checkpoint folder, ``.safetensors`` file
    saved by ``ganrestore train``, a bundled name (``denoise``, ``inpaint``),
    ``baseline:NAME``, or a file of ``ganrestore export`` (``.onnx``, run by onnxruntime;
    ``.pt`` / ``.ts``, TorchScript, with ``trust_torchscript=True`` only), which restores as
    the model it was exported from.

    Example::

        restorer = ganrestore.load_restorer("runs/inpaint-20250101-120000", tile=256)
        filled = restorer.restore(numpy_rgb_uint8, mask=numpy_mask)  # white / True = hole

    Args:
        model: what to load (a ``str`` or ``pathlib.Path``).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda[:N]"`` or ``"mps"``.
        tiling: tile side, overlap and batch size at once; or give them one by one:
        tile: largest tile side in pixels (default 1024; 0 never tiles), as
            ``ganrestore apply --tile``.
        overlap: pixels shared by neighbouring tiles (default 32), as ``--overlap``.
        batch_size: images or tiles per forward pass (default 4), as ``--batch-size``.
        self_ensemble: average the network over the 8 rotated / mirrored views of each
            image: 8x the time, +0.05 to +0.25 dB PSNR for the bundled models.
        trust_torchscript: open a TorchScript file (``.pt``, ``.ts``). Opening one runs code
            it holds, which can read or overwrite your files: pass True only for files you
            trust. Without it such a file is refused; ``.onnx`` and ``.safetensors`` files hold
            data only and need no such trust.
        task: the task the model must restore (e.g. ``"upscale-x4"``): a trained model of
            another task is refused, and a baseline is built for it (``baseline:bicubic``
            serves ``upscale-x2`` and ``upscale-x4``); None: the model's own task.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"``: the number format a
            network runs in (:func:`ganrestore.devices.choose_precision`); a classical
            baseline takes ``"auto"`` only.

    Raises:
        GanrestoreError: unknown or damaged model, bad tile settings, ``model`` of another
            type than text or a path, an ``.onnx`` file without onnxruntime installed, or a
            TorchScript file without ``trust_torchscript=True``.
    """
    given = {
        key: value
        for key, value in (("tile", tile), ("overlap", overlap), ("batch_size", batch_size))
        if value is not None
    }
    if given:
        if tiling is not None:
            raise GanrestoreError(f"pass tiling= or {', '.join(given)}=, not both")
        try:
            tiling = TileSettings(**given)
        except (TypeError, ValueError) as exc:
            raise GanrestoreError(f"load_restorer: {exc}") from None
    restorer = resolve_model(
        model,
        task=task,
        device=device,
        tiling=tiling,
        self_ensemble=self_ensemble,
        trust_torchscript=trust_torchscript,
    )
    set_precision(restorer, precision)
    return restorer


__all__ = [
    "BUNDLED_MODELS",
    "ApplyOptions",
    "ApplySummary",
    "MaskRequiredError",
    "ModelNotFoundError",
    "NetworkRestorer",
    "RestoreInputError",
    "Restorer",
    "TileSettings",
    "UnsafeFoldersError",
    "guess_route",
    "load_restorer",
    "plan_folder",
    "resolve_device",
    "resolve_model",
    "run_folder",
    "run_plan",
    "tiled_forward",
]
