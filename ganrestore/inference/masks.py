"""Where an image's mask comes from, and how any mask becomes ``{0, 1}`` with 1 = hole.

The convention, written once (``docs/apply.md`` and ``ganrestore apply --help`` repeat it):

* A mask is white / non-zero where the image has a hole: 8-bit values above 127 are holes
  (uint16 above 32767, floats above 0.5, ``True``). The brightest channel counts; alpha is
  ignored. ``--invert-mask`` turns mask files around (black = hole); alpha is never inverted.
* For an image, the first of these that exists is its mask:

  1. ``--masks DIR``: a file with the image's stem (any image format), in the same sub-folder
     as the image, else at the top of ``DIR``; ``STEM_mask.*`` is accepted too;
  2. a sidecar ``STEM_mask.*`` beside the image;
  3. the image's own alpha channel: transparent pixels (alpha below 128 of 255) are holes.

* A mask of another size than its image is resized with nearest neighbour, with a warning.
  Mask files are held to the same pixel limit as images (``max_pixels``), before decoding.
* A mask without any hole, or with holes over more than 90 % of its image (an inverted mask?),
  is used as it is, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ganrestore.data.io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    list_images,
    read_image,
    read_mask,
)
from ganrestore.data.pixel_limit import opening_unchecked

SIDECAR_SUFFIX = "_mask"
#: File suffixes whose formats can carry alpha (transparency).
ALPHA_SUFFIXES = frozenset({".png", ".webp", ".tif", ".tiff"})
#: File suffixes whose formats keep 16 bits per channel (the others get 8).
SIXTEEN_BIT_SUFFIXES = frozenset({".png", ".tif", ".tiff"})
#: Alpha below this (on [0, 1]) is transparent, hence a hole: 127 of 255 and below.
ALPHA_HOLE_BELOW = 127.5 / 255.0
#: Holes covering more than this share of an image get a warning: the mask may be inverted.
MOSTLY_HOLES = 0.9


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is named like a sidecar mask (``NAME_mask.png``)."""
    return path.stem.endswith(SIDECAR_SUFFIX) and len(path.stem) > len(SIDECAR_SUFFIX)


@dataclass(frozen=True)
class LoadedMask:
    """A mask ready for an image.

    Attributes:
        holes: ``(H, W)`` float32 in {0, 1}, 1 = hole.
        source: what it came from, e.g. ``"masks/a.png"`` or ``"alpha"``.
        warning: a message to show (e.g. the mask was resized), or None.
    """

    holes: np.ndarray
    source: str
    warning: str | None = None


class MaskFinder:
    """Finds the mask file of each image of a folder (``--masks DIR``, then a sidecar).

    Args:
        input_dir: the folder of the images.
        masks_dir: ``--masks DIR`` or None.
        images: every image file under ``input_dir`` (sidecars among them are found here).
    """

    def __init__(self, input_dir: Path, masks_dir: Path | None, images: list[Path]) -> None:
        self.input_dir = input_dir
        self.masks_dir = masks_dir
        self._by_stem: dict[tuple[str, str], Path] = {}
        if masks_dir is not None:
            for path in list_images(masks_dir, recursive=True):
                relative = path.relative_to(masks_dir)
                for stem in {path.stem, _strip_sidecar(path.stem)}:
                    self._by_stem.setdefault((relative.parent.as_posix(), stem), path)
        stems = {(path.parent, path.stem) for path in images}
        self._sidecars: dict[tuple[Path, str], Path] = {}
        for path in images:
            key = (path.parent, _strip_sidecar(path.stem))
            if is_sidecar(path) and key in stems:
                self._sidecars.setdefault(key, path)
        #: Sidecar masks that have their image beside them: not images to restore.
        self.sidecar_files = frozenset(self._sidecars.values())

    def mask_file(self, image: Path) -> Path | None:
        """The mask file for ``image`` by the rules above, or None (alpha may still apply)."""
        if self.masks_dir is not None:
            folder = image.parent.relative_to(self.input_dir).as_posix()
            for key in ((folder, image.stem), (".", image.stem)):
                if key in self._by_stem:
                    return self._by_stem[key]
        return self._sidecars.get((image.parent, image.stem))


def _strip_sidecar(stem: str) -> str:
    return stem[: -len(SIDECAR_SUFFIX)] if stem.endswith(SIDECAR_SUFFIX) else stem


def guess_route(
    input_dir: Path,
    recursive: bool,
    masks_dir: Path | None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> str:
    """``"masked"`` when masks are given or found (sidecars, transparency), else
    ``"unmasked"``: which bundled task ``apply`` sends the folder to (``Task.route``).

    ``input_dir`` may be a single image file. Images with alpha are decoded to look for
    transparent pixels, those above ``max_pixels`` (``--max-pixels``; 0: no limit) are not.
    """
    if masks_dir is not None:
        return "masked"
    if input_dir.is_file():  # one image: its own sidecar counts, not its neighbours'
        finder = MaskFinder(input_dir.parent, None, list_images(input_dir.parent))
        if finder.mask_file(input_dir) is not None:
            return "masked"
        images = [input_dir]
    else:
        images = list_images(input_dir, recursive)
        if MaskFinder(input_dir, None, images).sidecar_files:
            return "masked"
    for path in images:
        if path.suffix.lower() in ALPHA_SUFFIXES and header_has_alpha(path):
            try:
                if mask_from_alpha(read_image(path, max_pixels).alpha) is not None:
                    return "masked"
            except ImageReadError:
                continue
    return "unmasked"


def header_has_alpha(path: Path) -> bool:
    """Whether the file says it has alpha, from its header (no pixel is decoded)."""
    try:
        with opening_unchecked():  # nothing is decoded: Pillow's pixel limit has no say here
            opened = Image.open(path)
        with opened as image:
            return "A" in image.mode or "transparency" in image.info
    except Exception:  # unreadable files are reported later, by the run itself
        return False


def load_mask_file(
    path: Path, size: tuple[int, int], invert: bool = False, max_pixels: int | None = None
) -> LoadedMask:
    """Read a mask file for an image of ``size`` ``(H, W)``, resizing it if needed.

    Args:
        path: the mask file (white = hole).
        size: ``(H, W)`` of its image.
        invert: black = hole instead (``--invert-mask``).
        max_pixels: refuse a mask file with more pixels, before decoding it (0: no limit;
            None: Pillow's own limit).

    The warning names a resize, a mask without any hole (the image comes out unchanged) and
    one whose holes cover more than :data:`MOSTLY_HOLES` of the image (inverted masks?).

    Raises:
        ImageTooLargeError: the mask file has more than ``max_pixels`` pixels.
        ImageReadError: the mask file cannot be read.
    """
    holes = read_mask(path, max_pixels=max_pixels)
    if invert:
        holes = 1.0 - holes
    warnings = []
    if holes.shape != tuple(size):
        warnings.append(
            f"mask {path} is {holes.shape[1]}x{holes.shape[0]} but its image is "
            f"{size[1]}x{size[0]}; resized with nearest neighbour"
        )
        holes = cv2.resize(holes, (size[1], size[0]), interpolation=cv2.INTER_NEAREST_EXACT)
    hole, flag = ("black", "drop --invert-mask") if invert else ("white", "use --invert-mask")
    if not holes.any():
        warnings.append(
            f"mask {path} marks no hole (no {hole} pixel): its image is written unchanged"
        )
    elif holes.mean() > MOSTLY_HOLES:
        warnings.append(
            f"mask {path} covers {holes.mean() * 100:.0f} % of its image ({hole} = hole); "
            f"if your masks are inverted, {flag}"
        )
    return LoadedMask(holes.astype(np.float32), str(path), "; ".join(warnings) or None)


def mask_from_alpha(alpha: np.ndarray | None, image: Path | None = None) -> LoadedMask | None:
    """Holes where ``alpha`` ``(H, W)`` in [0, 1] is transparent; None without any hole.

    Transparency over more than :data:`MOSTLY_HOLES` of ``image`` (named in the message) is
    warned about: an image on a transparent background would be filled whole.
    """
    if alpha is None:
        return None
    holes = (alpha < ALPHA_HOLE_BELOW).astype(np.float32)
    if not holes.any():
        return None
    warning = None
    if holes.mean() > MOSTLY_HOLES:
        warning = (
            f"{image or 'the image'}: transparent pixels cover {holes.mean() * 100:.0f} % of it, "
            "and transparent = hole: they are filled"
        )
    return LoadedMask(holes, "alpha", warning)


def holes_from_array(mask: np.ndarray) -> np.ndarray:
    """``(H, W)`` or ``(H, W, C)`` bool / uint8 / uint16 / float -> ``(H, W)`` float32 {0, 1}.

    The brightest channel counts: uint8 above 127, uint16 above 32767, floats above 0.5.

    Raises:
        ValueError: another dtype or shape.
    """
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be (H, W) or (H, W, C), got shape {mask.shape}")
    if mask.dtype == np.bool_:
        return mask.astype(np.float32)
    if mask.dtype == np.uint8:
        return (mask > 127).astype(np.float32)
    if mask.dtype == np.uint16:
        return (mask > 32767).astype(np.float32)
    if np.issubdtype(mask.dtype, np.floating):
        _check_finite_mask(bool(np.isfinite(mask).all()))
        return (mask > 0.5).astype(np.float32)
    raise ValueError(f"a mask must be bool, uint8, uint16 or float, got {mask.dtype}")


def _check_finite_mask(finite: bool) -> None:
    if not finite:
        raise ValueError(
            "the mask contains NaN or infinity, so its holes are unknown: use 1 / True / white "
            "for holes and 0 elsewhere"
        )


def mask_batch(mask: object, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """Any mask (numpy, PIL, tensor) -> ``(B, 1, H, W)`` float32 {0, 1} for images ``shape``.

    Args:
        mask: numpy or PIL ``(H, W)`` (one mask for every image of the batch), or a tensor
            ``(H, W)``, ``(1, H, W)`` or ``(B, 1, H, W)`` (bool, uint8 or float).
        shape: ``(B, C, H, W)`` of the images.

    Raises:
        ValueError: an unsupported type, or a size other than the images'.
    """
    batch, _, height, width = shape
    if isinstance(mask, Image.Image):  # a float (mode F) mask keeps its values, NaN included
        mask = np.asarray(mask if mask.mode == "F" else mask.convert("L"))
    if isinstance(mask, np.ndarray):
        holes = torch.from_numpy(holes_from_array(mask))
    elif isinstance(mask, torch.Tensor):
        values = mask.detach().cpu()
        if values.dtype == torch.bool:
            holes = values.float()
        elif values.dtype == torch.uint8:
            holes = (values > 127).float()
        elif values.is_floating_point():
            _check_finite_mask(bool(torch.isfinite(values).all()))
            holes = (values > 0.5).float()
        else:
            raise ValueError(f"a mask tensor must be bool, uint8 or float, got {values.dtype}")
    else:
        raise ValueError(f"a mask must be a numpy array, PIL image or tensor, not {type(mask)}")
    while holes.ndim < 4:
        holes = holes.unsqueeze(0)
    if holes.shape[1] != 1 or holes.shape[-2:] != (height, width):
        raise ValueError(
            f"the mask must be {height}x{width} (one channel) like the image, "
            f"got shape {tuple(holes.shape)}"
        )
    if holes.shape[0] not in (1, batch):
        raise ValueError(f"{holes.shape[0]} masks for {batch} images")
    return holes.expand(batch, 1, height, width).contiguous()
