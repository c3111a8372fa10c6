"""Mask rules: threshold, where each image's mask comes from, and the task guessed from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganrestore.inference.masks import (
    MaskFinder,
    guess_route,
    holes_from_array,
    load_mask_file,
    mask_batch,
    mask_from_alpha,
)


def save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def test_white_above_127_is_a_hole_in_files_and_arrays(tmp_path: Path) -> None:
    values = np.array([[0, 127, 128, 255]], np.uint8)
    assert load_mask_file(save(tmp_path / "m.png", values), (1, 4)).holes.tolist() == [[0, 0, 1, 1]]
    assert holes_from_array(values).tolist() == [[0, 0, 1, 1]]
    assert holes_from_array(np.array([[0.2, 0.7]])).tolist() == [[0, 1]]
    assert holes_from_array(np.array([[True, False]])).tolist() == [[1, 0]]
    assert holes_from_array(np.array([[32767, 40000]], np.uint16)).tolist() == [[0, 1]]


def test_the_brightest_channel_of_a_colour_mask_counts(tmp_path: Path) -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0, 1] = 200
    loaded = load_mask_file(save(tmp_path / "m.bmp", rgb), (2, 2))
    assert loaded.holes[0, 0] == 1 and loaded.holes.sum() == 1


def test_a_mask_of_another_size_is_resized_nearest_with_a_warning(tmp_path: Path) -> None:
    small = np.zeros((10, 10), np.uint8)
    small[:5] = 255
    loaded = load_mask_file(save(tmp_path / "m.png", small), (20, 30))
    assert loaded.holes.shape == (20, 30)
    assert set(np.unique(loaded.holes)) == {0.0, 1.0}
    assert loaded.holes[:10].all() and not loaded.holes[10:].any()
    assert loaded.warning is not None and "resized" in loaded.warning and "m.png" in loaded.warning
    assert load_mask_file(tmp_path / "m.png", (10, 10)).warning is None


def test_transparent_pixels_are_holes_and_opaque_images_have_no_mask() -> None:
    alpha = np.array([[0.0, 0.4, 0.6, 1.0]], np.float32)
    loaded = mask_from_alpha(alpha)
    assert loaded is not None and loaded.holes.tolist() == [[1, 1, 0, 0]]
    assert mask_from_alpha(np.ones((3, 3), np.float32)) is None
    assert mask_from_alpha(None) is None


def test_masks_dir_wins_then_sidecar_matched_by_stem_in_any_format(tmp_path: Path) -> None:
    images, masks = tmp_path / "in", tmp_path / "masks"
    pixel = np.zeros((4, 4, 3), np.uint8)
    a, b, c = (
        save(images / "a.jpg", pixel),
        save(images / "b.png", pixel),
        save(images / "c.png", pixel),
    )
    nested = save(images / "sub" / "d.webp", pixel)
    top = save(images / "e.bmp", pixel)
    sidecar_a = save(images / "a_mask.png", pixel[..., 0])
    sidecar_b = save(images / "b_mask.bmp", pixel[..., 0])
    in_dir_a = save(masks / "a.tif", pixel[..., 0])
    in_dir_d = save(masks / "sub" / "d.png", pixel[..., 0])
    flat_e = save(masks / "e_mask.png", pixel[..., 0])
    listed = sorted(p for p in images.rglob("*") if p.is_file())
    finder = MaskFinder(images, masks, listed)
    assert finder.mask_file(a) == in_dir_a  # --masks before the sidecar
    assert finder.mask_file(b) == sidecar_b
    assert finder.mask_file(c) is None
    assert finder.mask_file(nested) == in_dir_d
    assert finder.mask_file(top) == flat_e
    assert finder.sidecar_files == {sidecar_a, sidecar_b}


def test_a_file_named_like_a_sidecar_without_its_image_is_an_image(tmp_path: Path) -> None:
    lonely = save(tmp_path / "x_mask.png", np.zeros((4, 4), np.uint8))
    assert MaskFinder(tmp_path, None, [lonely]).sidecar_files == frozenset()


def test_the_task_is_guessed_from_masks_sidecars_and_transparency(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    save(plain / "a.png", np.zeros((4, 4, 3), np.uint8))
    opaque = np.full((4, 4, 4), 255, np.uint8)
    save(plain / "opaque.png", opaque)
    assert guess_route(plain, False, None) == "unmasked"
    assert guess_route(plain, False, tmp_path) == "masked"
    holes = opaque.copy()
    holes[0, 0, 3] = 0
    save(plain / "sub" / "holes.png", holes)
    assert guess_route(plain, False, None) == "unmasked"
    assert guess_route(plain, True, None) == "masked"
    sidecars = tmp_path / "sidecars"
    save(sidecars / "a.png", np.zeros((4, 4, 3), np.uint8))
    save(sidecars / "a_mask.png", np.zeros((4, 4), np.uint8))
    assert guess_route(sidecars, False, None) == "masked"


def test_any_mask_object_becomes_a_binary_batch() -> None:
    shape = (2, 3, 4, 5)
    as_numpy = np.zeros((4, 5), np.uint8)
    as_numpy[1, 2] = 255
    for mask in (as_numpy, Image.fromarray(as_numpy), torch.from_numpy(as_numpy > 0)):
        batch = mask_batch(mask, shape)
        assert batch.shape == (2, 1, 4, 5) and batch.dtype == torch.float32
        assert batch.sum() == 2 and batch[1, 0, 1, 2] == 1
    with pytest.raises(ValueError, match="4x5"):
        mask_batch(np.zeros((5, 4), np.uint8), shape)
    with pytest.raises(ValueError, match="numpy array, PIL image or tensor"):
        mask_batch([[0, 1]], shape)
