"""Padding an image to the size multiple a strided network needs: one rule for every caller.

A network that halves the resolution ``k`` times needs H and W divisible by ``2**k``. The
networks pad their input inside ``forward`` and crop their output back; the tiler and the
inpainting windows pad their tiles before the network sees them. All of them pad here, the same
way, so a tile and a whole image meet the same border.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def pad_to_multiple(
    x: Tensor, multiple: int, *, centre: bool = False
) -> tuple[Tensor, tuple[int, int]]:
    """Pad ``x`` so that its height and width are multiples of ``multiple``.

    The image is reflected across its border (no repeated edge row, so no flat band), or its
    edge is replicated on every side when a reflection would not fit: some side needs at least
    as many pixels as the image has along that axis.

    Args:
        x: ``(B, C, H, W)`` or ``(C, H, W)`` float, any range (images, masks, features).
        multiple: the size multiple, >= 1.
        centre: split each axis' padding between both sides (the extra pixel at the bottom and
            right); by default all of it goes to the bottom and the right.

    Returns:
        ``(padded, (top, left))``: ``padded`` is ``(..., H + pad_h, W + pad_w)`` with the
        smallest ``pad_h, pad_w`` >= 0 that make both sides multiples; ``x`` itself when no
        padding is needed. ``(top, left)`` is where ``x`` starts inside it, so
        ``padded[..., top : top + H, left : left + W]`` is ``x`` (``(0, 0)`` unless ``centre``).
    """
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not pad_h and not pad_w:
        return x, (0, 0)
    top, left = (pad_h // 2, pad_w // 2) if centre else (0, 0)
    bottom, right = pad_h - top, pad_w - left
    fits = max(top, bottom) < height and max(left, right) < width
    padded = F.pad(x, (left, right, top, bottom), mode="reflect" if fits else "replicate")
    return padded, (top, left)
