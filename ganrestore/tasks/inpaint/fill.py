"""How the inpainting task fills the holes of whole images: its own inference strategy.

:meth:`InpaintTask.restore_images <ganrestore.tasks.inpaint.InpaintTask.restore_images>` hands
the restorer's network run here, with the restorer's :class:`~.settings.HoleSettings`. Holes
whose outline shows a removed object's soft edge are grown first (:mod:`.edges`), the fill is
made coarse to fine around the holes only (:mod:`.scales`, the default) or tile by tile, the
photo's own fine detail is copied into it (:mod:`.texture`), and every known pixel beyond the
feather is the input's, bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganrestore.cpu_memory import give_back_freed_memory
from ganrestore.tasks import NetworkRun, Task
from ganrestore.tasks.inpaint.edges import feather_weights, grow_holes
from ganrestore.tasks.inpaint.scales import fill_holes
from ganrestore.tasks.inpaint.settings import HoleSettings
from ganrestore.tasks.inpaint.texture import transfer_texture

#: Above this many pixels the memory the network's pass freed is given back before the texture
#: step allocates its own (a 12 MP fill under ``apply``: 3.2-3.4 GB at its peak without, 2.9 GB
#: with).
TRIM_BEFORE_TEXTURE_PIXELS = 4_000_000


def fill_images(task: Task, images: Tensor, masks: Tensor, run: NetworkRun) -> Tensor:
    """``images`` ``(B, C, H, W)`` in [0, 1] (``C`` 1 or 3) with the holes of ``masks``
    ``(B, 1, H, W)`` (1 = hole) filled, as ``run.settings`` (a
    :class:`~ganrestore.tasks.inpaint.settings.HoleSettings`; None: the defaults) says. Known
    pixels beyond the grown, feathered holes are the input's, bit for bit. A fill holding NaN or
    infinity is returned as it is (the restorer refuses it).

    Raises:
        ValueError: settings that cannot work (:meth:`HoleSettings.check`), named.
    """
    settings = run.settings if run.settings is not None else HoleSettings()
    settings.check()  # a field set after it was made
    rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
    judged = rgb if settings.grow_where == "halos" else None
    masks = grow_holes(masks.float(), settings.grow, judged)
    weights = feather_weights(masks, settings.feather)  # the fill's share of each pixel
    if settings.strategy == "scales":
        restored = fill_holes(
            rgb,
            masks,
            run.forward,
            settings=settings.scales,
            tiling=run.tiling,
            device=run.device,
            multiple=run.multiple,
            weights=weights,
        )
    else:  # tile by tile, as a task without a strategy of its own is restored
        restored = Task.restore_images(task, rgb, masks, run)
        restored = torch.lerp(rgb, restored, weights)
    if not bool(torch.isfinite(restored).all()):
        return restored
    if settings.texture is not None:
        if restored.shape[-2] * restored.shape[-1] > TRIM_BEFORE_TEXTURE_PIXELS:
            give_back_freed_memory()  # the network's kept buffers, before the texture's
        for image, mask in zip(restored, masks, strict=True):  # in place: no second batch
            image.copy_(transfer_texture(image, mask[0] > 0.5, settings.texture))
    restored = restored.clamp_(0, 1)
    if images.shape[1] == 1 and restored.shape[1] == 3:
        restored = restored.mean(dim=1, keepdim=True)
    return torch.where(weights > 0, restored, images)  # known pixels: the input's, bit for bit
