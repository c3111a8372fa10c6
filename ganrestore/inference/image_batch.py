"""Images as a restorer takes them: numpy arrays, PIL images and tensors to a batch and back.

:func:`to_batch` turns what :meth:`~ganrestore.inference.restorer.Restorer.restore` is given
into ``(B, C, H, W)`` float32 pixels in [0, 1] (C = 1 or 3) plus alpha, checking its type, shape
and range; :func:`from_batch` gives the restored pixels back in the caller's own form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ganrestore.data.io import eight_bit_mode
from ganrestore.errors import GanrestoreError

ImageLike = Union[np.ndarray, Image.Image, Tensor]  # noqa: UP007 (a runtime alias)


class RestoreInputError(GanrestoreError, ValueError):
    """An image or mask passed to a restorer has the wrong type, shape or value range."""


@dataclass(frozen=True)
class ImageBatch:
    """An image given to :meth:`Restorer.restore` as a batch, and how to give it back."""

    pixels: Tensor  # (B, C, H, W) float32 on the CPU in [0, 1], C = 1 or 3
    alpha: Tensor | None  # (B, 1, H, W) float32 in [0, 1]
    original: Any  # the object passed in
    array: np.ndarray | None = None  # numpy / PIL: the array it was read from


_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def to_batch(image: ImageLike) -> ImageBatch:
    original = image
    if isinstance(image, Image.Image):
        image = _pil_array(image)
    if isinstance(image, np.ndarray):
        values = image[..., None] if image.ndim == 2 else image
        if values.ndim != 3 or values.shape[2] not in (1, 2, 3, 4):
            raise RestoreInputError(f"expected an (H, W) or (H, W, C) image, got {image.shape}")
        if values.dtype in _SCALES:
            values = values.astype(np.float32) / _SCALES[values.dtype]
        elif np.issubdtype(values.dtype, np.floating):
            values = _checked_range(torch.from_numpy(values.astype(np.float32))).numpy()
        else:
            raise RestoreInputError(f"images must be uint8, uint16 or float, not {values.dtype}")
        _check_not_empty(values.shape[0], values.shape[1])
        channels = torch.from_numpy(np.ascontiguousarray(values.transpose(2, 0, 1)))[None]
        if values.shape[2] in (2, 4):
            return ImageBatch(channels[:, :-1], channels[:, -1:], original, image)
        return ImageBatch(channels, None, original, image)
    if isinstance(image, Tensor):
        if not image.is_floating_point() or image.ndim not in (3, 4):
            raise RestoreInputError(
                f"a tensor image must be float (C, H, W) or (B, C, H, W), got {image.dtype} "
                f"{tuple(image.shape)}"
            )
        pixels = image.detach().to("cpu", torch.float32)
        pixels = pixels[None] if pixels.ndim == 3 else pixels
        if pixels.shape[1] not in (1, 3):
            raise RestoreInputError(f"a tensor image needs 1 or 3 channels, got {image.shape}")
        _check_not_empty(pixels.shape[2], pixels.shape[3], pixels.shape[0])
        return ImageBatch(_checked_range(pixels), None, original)
    raise RestoreInputError(
        f"cannot restore a {type(image).__name__}: pass a numpy array, PIL image or tensor"
    )


def _check_not_empty(height: int, width: int, batch: int = 1) -> None:
    if not (height and width and batch):
        what = "an empty batch" if not batch else f"an empty image ({width}x{height} pixels)"
        raise RestoreInputError(f"got {what}: there is nothing to restore")


def _pil_array(image: Image.Image) -> np.ndarray:
    """A PIL image as uint8 / uint16 / float32 ``(H, W[, C])`` (gray, gray+alpha, RGB, RGBA).

    Mode ``F`` (32-bit float gray) is read as float in [0, 1], like a float numpy array.
    """
    mode = image.mode
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image)
        if values.min(initial=0) < 0 or values.max(initial=0) > 65535:
            raise RestoreInputError(f"PIL mode {mode} with values outside 16 bits")
        return values.astype(np.uint16)
    try:
        return np.asarray(image.convert(eight_bit_mode(image)))
    except ValueError as exc:  # e.g. HSV, which Pillow cannot convert to RGB
        raise RestoreInputError(
            f"a PIL image of mode {image.mode} cannot be read ({exc}); convert it to RGB first"
        ) from None


def _checked_range(values: Tensor) -> Tensor:
    if not bool(torch.isfinite(values).all()):
        raise RestoreInputError("the image contains NaN or infinity")
    if values.numel() and (values.min() < -1e-3 or values.max() > 1 + 1e-3):
        raise RestoreInputError(
            "float images must be in [0, 1] (divide 8-bit values by 255, 16-bit by 65535)"
        )
    return values.clamp(0, 1)


def alpha_at(alpha: np.ndarray | None, height: int, width: int) -> np.ndarray | None:
    """``alpha`` ``(h, w)`` float32 in [0, 1] at the result's size ``(height, width)``, as it is
    or, for a task that changes the size, enlarged by :func:`enlarged_alpha`."""
    if alpha is None or alpha.shape == (height, width):
        return alpha
    as_tensor = torch.from_numpy(np.ascontiguousarray(alpha, dtype=np.float32))[None, None]
    return enlarged_alpha(as_tensor, height, width)[0, 0].numpy()


def enlarged_alpha(alpha: Tensor, height: int, width: int) -> Tensor:
    """``alpha`` ``(B, 1, h, w)`` in [0, 1] at ``(height, width)``, bilinearly on the pixels'
    centres (as the image is resampled): edges stay as smooth as they were, without the
    overshoot of a cubic kernel, and fully opaque or transparent areas stay exactly so."""
    return torch.nn.functional.interpolate(
        alpha.float(), size=(height, width), mode="bilinear", align_corners=False
    )


def from_batch(batch: ImageBatch, restored: Tensor, alpha: Tensor | None) -> Any:
    """``restored`` ``(B, C, sH, sW)`` in the form ``batch`` came in; a task that changes the
    size (``s`` > 1) gives an image ``s`` times as large, its alpha enlarged alike."""
    original = batch.original
    height, width = restored.shape[-2:]
    if batch.array is None:  # a tensor
        shape = (*original.shape[:-2], height, width)
        return restored.reshape(shape).to(original.device, original.dtype)
    if alpha is not None and alpha.shape[-2:] != restored.shape[-2:]:
        alpha = enlarged_alpha(alpha, height, width)
    channels = restored if alpha is None else torch.cat([restored, alpha], dim=1)
    values = channels[0].permute(1, 2, 0).numpy()
    dtype = batch.array.dtype
    if dtype in _SCALES:
        values = np.rint(np.clip(values, 0, 1) * _SCALES[dtype])
    values = values.astype(dtype).reshape((height, width, *batch.array.shape[2:]))
    return Image.fromarray(values) if isinstance(original, Image.Image) else values
