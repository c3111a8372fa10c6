"""Validation metrics: the SSIM a run prints is the SSIM ``ganrestore eval`` reports."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from skimage.metrics import structural_similarity

from ganrestore.engine.metrics import psnr, ssim
from ganrestore.evaluation import metrics as eval_metrics


def _photo(name: str) -> np.ndarray:
    """A 96×128 crop of a scikit-image sample photo, uint8 ``(H, W, C)``."""
    image = np.asarray(getattr(skimage.data, name)())
    image = image[..., None] if image.ndim == 2 else image
    return np.ascontiguousarray(image[100:196, 120:248])


def _noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).round().astype(np.uint8)


def _tensor(*images: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W, C)`` images -> ``(B, C, H, W)`` float32 in [0, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
@pytest.mark.parametrize("sigma", [5.0, 25.0, 50.0])
def test_ssim_is_the_ssim_eval_reports(name: str, sigma: float) -> None:
    reference = _photo(name)
    restored = _noisy(reference, sigma)
    ours = float(ssim(_tensor(restored), _tensor(reference))[0])
    assert ours == pytest.approx(eval_metrics.ssim(restored, reference), abs=1e-5)


def test_ssim_is_scikit_images_on_float_images_too() -> None:
    reference = _photo("chelsea").astype(np.float64) / 255
    restored = np.clip(reference + np.random.default_rng(1).normal(0, 0.05, reference.shape), 0, 1)
    expected = structural_similarity(reference, restored, channel_axis=-1, data_range=1.0)
    ours = ssim(
        torch.from_numpy(restored).permute(2, 0, 1)[None],
        torch.from_numpy(reference).permute(2, 0, 1)[None],
    )
    assert float(ours[0]) == pytest.approx(expected, abs=1e-5)


def test_ssim_scores_each_image_of_a_batch_alone() -> None:
    references = [_photo("astronaut"), _photo("coffee")]
    restored = [_noisy(references[0], 10), _noisy(references[1], 40)]
    together = ssim(_tensor(*restored), _tensor(*references))
    assert together.shape == (2,) and together.dtype == torch.float32
    for index in range(2):
        alone = ssim(_tensor(restored[index]), _tensor(references[index]))
        assert float(together[index]) == pytest.approx(float(alone[0]), abs=1e-6)
    assert together[0] > together[1]  # more noise, less similar


def test_identical_images_score_one_and_psnr_100() -> None:
    image = _tensor(_photo("astronaut"))
    assert float(ssim(image, image)[0]) == pytest.approx(1.0, abs=1e-6)
    assert float(psnr(image, image)[0]) == 100.0


def test_ssim_under_bf16_autocast_is_computed_in_float32() -> None:
    reference = _photo("coffee")
    restored = _noisy(reference, 15)
    expected = float(ssim(_tensor(restored), _tensor(reference))[0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = ssim(_tensor(restored), _tensor(reference))
    assert inside.dtype == torch.float32 and float(inside[0]) == pytest.approx(expected, abs=1e-7)


def test_images_smaller_than_the_window_or_of_two_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(torch.rand(1, 3, 6, 20), torch.rand(1, 3, 6, 20))
    with pytest.raises(ValueError, match="one shape"):
        ssim(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17))
