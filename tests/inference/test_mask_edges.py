"""The edge of a hole: growing a tight mask over an object's soft outline, and feathering."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from ganrestore.inference import load_restorer
from ganrestore.tasks.inpaint.edges import feather_weights, grow_holes, halo_holes


def _one_hole(size: int = 9) -> torch.Tensor:
    mask = torch.zeros(1, 1, size, size)
    mask[0, 0, size // 2, size // 2] = 1
    return mask


def test_growing_turns_a_hole_pixel_into_a_disc_of_that_radius() -> None:
    grown = grow_holes(_one_hole(), 2)
    assert grown.shape == (1, 1, 9, 9) and set(grown.unique().tolist()) == {0.0, 1.0}
    assert int(grown.sum()) == 13  # the pixels within 2 of the centre (Euclidean)
    assert grown[0, 0, 4, 2] == 1 and grown[0, 0, 2, 2] == 0  # 2 along an axis, not 2.8 diagonal
    assert torch.equal(grow_holes(_one_hole(), 0), _one_hole())


def test_a_mask_without_holes_stays_without_holes() -> None:
    empty = torch.zeros(2, 1, 6, 7)
    assert torch.equal(grow_holes(empty, 3), empty)
    assert torch.equal(feather_weights(empty, 3), empty)


def test_feathering_fades_the_fill_out_over_that_many_known_pixels() -> None:
    weights = feather_weights(_one_hole(), 3)[0, 0]
    row = weights[4, 4:].tolist()  # from the hole outward along the row
    assert row == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert torch.equal(feather_weights(_one_hole(), 0), _one_hole())


@pytest.mark.parametrize("function", [grow_holes, feather_weights])
def test_negative_widths_are_refused(function) -> None:
    with pytest.raises(ValueError, match=">= 0 pixels"):
        function(_one_hole(), -1)


def _photo_with_a_soft_object() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A real photo, the same photo with a dark disc pasted on it (a soft 3-pixel outline, as a
    lens draws one), and the alpha of the disc."""
    photo = skimage.data.chelsea()[40:168, 120:248].astype(np.float32) / 255
    y, x = np.mgrid[:128, :128]
    radius = np.hypot(y - 64, x - 60)
    alpha = np.clip((20 - radius) / 3 + 0.5, 0, 1).astype(np.float32)  # 1 inside, soft edge
    pasted = alpha[..., None] * np.array([0.05, 0.05, 0.1]) + (1 - alpha[..., None]) * photo
    return photo, pasted.astype(np.float32), alpha


def test_the_default_grow_leaves_no_halo_of_a_removed_object_with_a_tight_mask() -> None:
    photo, pasted, alpha = _photo_with_a_soft_object()
    tight = alpha > 0.5  # what a selection tool gives: the soft outline is left outside
    outline = (alpha > 0.02) & ~tight
    restorer = load_restorer("inpaint", device="cpu")
    assert restorer.settings.grow == 2

    def outline_darkening(grow: int) -> float:  # mean change of the outline against the photo
        restorer.settings.grow = grow
        return float((restorer.restore(pasted, tight) - photo)[outline].mean())

    assert outline_darkening(0) < -0.04  # the dark outline stays: a ring around the fill
    assert abs(outline_darkening(2)) < 0.01  # grown over, it is gone: filled like the rest


def test_feathering_touches_only_the_known_pixels_near_a_hole() -> None:
    photo = skimage.data.chelsea()[40:168, 120:248]
    mask = np.zeros(photo.shape[:2], bool)
    mask[50:80, 40:90] = True
    restorer = load_restorer("inpaint", device="cpu")
    restorer.settings.grow, restorer.settings.feather = 0, 3
    filled = restorer.restore(photo, mask)
    near = feather_weights(torch.from_numpy(mask)[None, None].float(), 3)[0, 0].numpy() > 0
    assert np.array_equal(filled[~near], photo[~near])  # farther than 3 pixels: bit for bit
    ring = near & ~mask
    assert (filled[ring] != photo[ring]).any()  # the fill fades into its border


def test_auto_grows_a_soft_object_outline_but_not_a_mask_that_marks_exactly_the_holes() -> None:
    photo, pasted, alpha = _photo_with_a_soft_object()
    tight = alpha > 0.5
    assert halo_holes(pasted, tight).sum() == tight.sum()  # the disc's outline is a halo
    assert not halo_holes(photo, tight).any()  # the same hole cut cleanly out of the photo
    both = tight.copy()
    both[10:30, 90:120] = True  # a second hole, cut cleanly, above the object
    judged = halo_holes(pasted, both)
    assert np.array_equal(judged, tight)  # judged one hole at a time


def test_the_default_restorer_keeps_the_known_pixels_around_an_exact_hole() -> None:
    photo = skimage.data.chelsea()[40:168, 120:248]
    mask = np.zeros(photo.shape[:2], bool)
    mask[50:80, 40:90] = True
    restorer = load_restorer("inpaint", device="cpu")
    assert (restorer.settings.grow, restorer.settings.grow_where) == (2, "halos")
    filled = restorer.restore(photo, mask)
    assert np.array_equal(filled[~mask], photo[~mask])  # nothing grown: every known pixel kept
    restorer.settings.grow_where = "all"
    grown = restorer.restore(photo, mask)
    assert not np.array_equal(grown[~mask], photo[~mask])  # grown by 2 pixels all round


def test_growing_with_the_image_grows_only_the_haloed_holes() -> None:
    photo, pasted, alpha = _photo_with_a_soft_object()
    masks = torch.from_numpy(alpha > 0.5).float()[None, None]
    images = torch.from_numpy(np.stack([pasted, photo])).permute(0, 3, 1, 2)
    grown = grow_holes(masks.expand(2, -1, -1, -1), 2, images)
    assert torch.equal(grown[1], masks[0])  # the clean cut: as masked
    assert torch.equal(grown[0], grow_holes(masks, 2)[0])  # the soft outline: grown
