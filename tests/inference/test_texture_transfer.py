"""Copying a photo's own fine detail into a smooth fill."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from ganrestore.evaluation.metrics import detail_ratio
from ganrestore.inference import load_restorer
from ganrestore.tasks.inpaint.texture import (
    TextureSettings,
    gaussian_blur,
    transfer_texture,
)


def _grass_with_a_smooth_fill() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Grass (grey as RGB, 256 x 256), a 96 x 96 hole, and the hole filled with the blurred
    grass: the colours right, the texture gone, as a network trained on L1 fills it."""
    grass = np.repeat(skimage.data.grass()[:256, :256, None], 3, axis=2)
    truth = torch.from_numpy(grass).permute(2, 0, 1).float() / 255
    holes = torch.zeros(256, 256, dtype=torch.bool)
    holes[80:176, 80:176] = True
    smooth = torch.where(holes, gaussian_blur(truth[None], 6.0)[0], truth)
    return truth, holes, smooth


def _as_uint8(image: torch.Tensor) -> np.ndarray:
    return np.rint(image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def test_a_smooth_fill_gets_the_photos_grain_at_every_scale() -> None:
    truth, holes, smooth = _grass_with_a_smooth_fill()
    textured = transfer_texture(smooth, holes)
    before = detail_ratio(_as_uint8(smooth), _as_uint8(truth), holes.numpy())
    after = detail_ratio(_as_uint8(textured), _as_uint8(truth), holes.numpy())
    assert all(ratio < 0.3 for ratio in before)
    assert all(0.6 < ratio < 1.4 for ratio in after)


def test_known_pixels_are_kept_bit_for_bit_and_the_result_is_repeatable() -> None:
    _, holes, smooth = _grass_with_a_smooth_fill()
    textured = transfer_texture(smooth, holes)
    assert torch.equal(textured[:, ~holes], smooth[:, ~holes])
    assert torch.equal(textured, transfer_texture(smooth, holes))
    assert textured.min() >= 0 and textured.max() <= 1


def test_the_fill_keeps_its_colours_only_its_detail_changes() -> None:
    _, holes, smooth = _grass_with_a_smooth_fill()
    textured = transfer_texture(smooth, holes)
    settings = TextureSettings()
    base_before = gaussian_blur(smooth[None], settings.sigma)[0][:, holes]
    base_after = gaussian_blur(textured[None], settings.sigma)[0][:, holes]
    assert (base_after - base_before).abs().mean() < 0.02


def test_nothing_to_copy_or_nothing_to_fill_returns_the_input() -> None:
    _, holes, smooth = _grass_with_a_smooth_fill()
    assert transfer_texture(smooth, torch.zeros_like(holes)) is smooth
    assert transfer_texture(smooth, torch.ones_like(holes)) is smooth
    tiny = smooth[:, :20, :20]
    assert transfer_texture(tiny, holes[:20, :20] | True) is tiny


@pytest.mark.parametrize(
    "params", [{"patch": 7}, {"patch": 6}, {"sigma": 0}, {"candidates": 0}, {"choices": 0}]
)
def test_bad_settings_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        TextureSettings(**params)


def test_the_bundled_inpainter_copies_texture_unless_told_not_to() -> None:
    photo = np.ascontiguousarray(skimage.data.astronaut()[300:428, 0:128])
    holes = np.zeros(photo.shape[:2], bool)
    holes[40:88, 40:88] = True
    restorer = load_restorer("inpaint", device="cpu")
    assert restorer.settings.texture is not None
    restorer.settings.grow = 0
    textured = restorer.restore(photo, mask=holes)
    restorer.settings.texture = None
    smooth = restorer.restore(photo, mask=holes)
    assert np.array_equal(textured[~holes], photo[~holes])
    gained = np.subtract(detail_ratio(textured, photo, holes), detail_ratio(smooth, photo, holes))
    assert (gained > 0.1).all()
