"""Geometric self-ensemble: the mean over the 8 rotated / mirrored views, each undone."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

from ganrestore.inference import load_restorer
from ganrestore.inference.ensemble import SYMMETRIES, symmetric_mean

from .conftest import kept_pixels


def _filter(kernel: torch.Tensor):
    return lambda tiles: F.conv2d(tiles, kernel[None, None], padding=1)


def test_a_linear_filter_becomes_the_same_filter_with_its_kernel_made_symmetric() -> None:
    photo = torch.from_numpy(skimage.data.camera()[:48, :80].astype(np.float32) / 255)[None, None]
    kernel = torch.arange(9, dtype=torch.float32).reshape(3, 3) / 36  # no symmetry at all
    symmetric = torch.stack(
        [(kernel.flip(-1) if mirrored else kernel).rot90(turns) for turns, mirrored in SYMMETRIES]
    ).mean(0)
    assert len({(t, m) for t, m in SYMMETRIES}) == 8
    ensembled = symmetric_mean(_filter(kernel), photo)
    assert ensembled.shape == photo.shape  # (48, 80): quarter turns swap sides and back
    torch.testing.assert_close(ensembled, _filter(symmetric)(photo), atol=1e-6, rtol=0)
    assert not torch.allclose(ensembled, _filter(kernel)(photo), atol=1e-3)


def test_a_filter_that_commutes_with_the_symmetries_is_left_unchanged() -> None:
    photo = torch.from_numpy(skimage.data.astronaut()[:40, :56].astype(np.float32) / 255)
    tiles = photo.permute(2, 0, 1)[None]
    box = torch.full((3, 3), 1 / 9)
    blur = lambda x: F.conv2d(x, box.expand(3, 1, 3, 3), padding=1, groups=3)  # noqa: E731
    torch.testing.assert_close(symmetric_mean(blur, tiles), blur(tiles), atol=1e-6, rtol=0)


def _psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    error = np.mean((restored.astype(np.float64) - clean.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / error))


@pytest.mark.slow
def test_the_bundled_denoiser_restores_a_noisy_photo_better_with_its_self_ensemble() -> None:
    clean = skimage.data.astronaut()[96:192, 160:288]  # (96, 128): not square
    noise = np.random.default_rng(0).normal(0, 25, clean.shape)
    noisy = np.clip(np.rint(clean + noise), 0, 255).astype(np.uint8)
    plain = load_restorer("denoise", device="cpu").restore(noisy)
    ensembled = load_restorer("denoise", device="cpu", self_ensemble=True).restore(noisy)
    assert ensembled.shape == clean.shape and ensembled.dtype == np.uint8
    assert _psnr(ensembled, clean) > _psnr(plain, clean) + 0.05


def test_inpainting_with_the_self_ensemble_keeps_every_known_pixel(coffee: np.ndarray) -> None:
    mask = np.zeros(coffee.shape[:2], bool)
    mask[10:25, 20:40] = True
    restorer = load_restorer("inpaint", device="cpu", self_ensemble=True)
    filled = restorer.restore(coffee, mask=mask)
    assert filled.shape == coffee.shape
    known = kept_pixels(mask)  # all but the holes grown by 2 pixels
    np.testing.assert_array_equal(filled[known], coffee[known])
    plain = load_restorer("inpaint", device="cpu").restore(coffee, mask=mask)
    # the same model seen from 8 sides: close to the plain fill, yet not identical to it
    difference = np.abs(filled[mask].astype(int) - plain[mask].astype(int))
    assert 0 < difference.mean() < 12
