"""PSNR, SSIM, PSNR over holes and LPIPS on integer images."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from skimage.metrics import structural_similarity

from ganrestore.evaluation import metrics

from .conftest import box_holes


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = image.astype(np.float64) + rng.normal(0, sigma, image.shape)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


class TestPSNR:
    def test_is_the_textbook_formula_over_every_pixel_and_channel(self, photos) -> None:
        reference = photos["astronaut"]
        restored = noisy(reference, 10)
        mse = np.mean((restored.astype(np.float64) - reference) ** 2)
        assert metrics.psnr(restored, reference) == pytest.approx(10 * np.log10(255**2 / mse))

    def test_a_known_error_gives_a_known_value(self) -> None:
        reference = np.full((8, 8, 3), 100, np.uint8)
        restored = reference + np.uint8(5)  # MSE 25
        assert metrics.psnr(restored, reference) == pytest.approx(10 * math.log10(255**2 / 25))

    def test_uint16_uses_a_range_of_65535(self) -> None:
        reference = np.full((8, 8), 1000, np.uint16)
        restored = reference + np.uint16(10)  # MSE 100
        assert metrics.psnr(restored, reference) == pytest.approx(10 * math.log10(65535**2 / 100))

    def test_identical_images_are_infinite(self, photos) -> None:
        assert metrics.psnr(photos["coffee"], photos["coffee"].copy()) == math.inf

    def test_over_holes_counts_only_hole_pixels(self, photos) -> None:
        reference = photos["astronaut"]
        holes = box_holes()
        restored = reference.copy()
        restored[holes] = noisy(reference, 20)[holes]
        mse = np.mean((restored[holes].astype(np.float64) - reference[holes]) ** 2)
        expected = 10 * np.log10(255**2 / mse)
        assert metrics.psnr(restored, reference, holes) == pytest.approx(expected)
        assert metrics.psnr(restored, reference) > expected  # the known pixels are exact

    def test_over_no_hole_is_nan(self, photos) -> None:
        empty = np.zeros(photos["coffee"].shape[:2], bool)
        assert math.isnan(metrics.psnr(photos["coffee"], photos["coffee"], empty))

    @pytest.mark.parametrize(
        ("restored", "message"),
        [
            (np.zeros((48, 48, 3), np.uint16), "uint16"),
            (np.zeros((40, 48, 3), np.uint8), "does not match"),
            (np.zeros((48, 48, 3), np.float32), "float32"),
        ],
    )
    def test_refuses_images_that_cannot_be_compared(self, photos, restored, message) -> None:
        with pytest.raises(metrics.MetricInputError, match=message):
            metrics.psnr(restored, photos["astronaut"])


class TestSSIM:
    def test_is_scikit_image_with_channel_axis_and_range_255(self, photos) -> None:
        reference = photos["coffee"]
        restored = noisy(reference, 15)
        expected = structural_similarity(reference, restored, channel_axis=-1, data_range=255)
        assert metrics.ssim(restored, reference) == pytest.approx(expected, abs=1e-12)

    def test_gray_images_in_two_or_three_dimensions_agree(self, photos) -> None:
        reference = photos["camera"]
        restored = noisy(reference, 15)
        assert metrics.ssim(restored, reference) == pytest.approx(
            metrics.ssim(restored[..., None], reference[..., None])
        )

    def test_identical_images_score_one(self, photos) -> None:
        assert metrics.ssim(photos["camera"], photos["camera"]) == pytest.approx(1.0)

    def test_tiny_images_are_refused_with_the_reason(self) -> None:
        with pytest.raises(metrics.MetricInputError, match="at least 7x7"):
            metrics.ssim(np.zeros((5, 5), np.uint8), np.zeros((5, 5), np.uint8))


class TestLpips:
    def test_without_weights_it_is_unavailable_and_says_which_file(
        self, tmp_path, monkeypatch, photos
    ) -> None:
        monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
        scorer = metrics.Lpips.load()
        assert not scorer.available
        assert "alexnet" in scorer.reason and str(tmp_path) in scorer.reason
        assert scorer.score(photos["coffee"], photos["coffee"]) is None

    def test_disabled_says_so(self) -> None:
        scorer = metrics.Lpips.load(enabled=False)
        assert not scorer.available and "--no-lpips" in scorer.reason

    def test_scores_are_distances_on_rgb_and_gray(self, photos) -> None:
        scorer = metrics.Lpips.load(pretrained=False)  # random backbone: checks the plumbing
        assert scorer.available
        for name in ("coffee", "camera"):
            reference = photos[name]
            assert scorer.score(reference, reference) == pytest.approx(0.0, abs=1e-6)
            assert scorer.score(noisy(reference, 30), reference) > 0

    def test_images_smaller_than_the_backbone_accepts_get_none(self) -> None:
        scorer = metrics.Lpips.load(pretrained=False)
        small = np.zeros((20, 20, 3), np.uint8)
        assert scorer.score(small, small) is None


class TestDetailRatio:
    """Mean |Laplacian| of the luma over the eroded holes, output over truth, at 3 levels."""

    @staticmethod
    def photo_and_hole() -> tuple[np.ndarray, np.ndarray]:
        photo = skimage.data.astronaut()[300:428, 0:128]  # grass and fabric: texture everywhere
        holes = np.zeros(photo.shape[:2], bool)
        holes[32:96, 32:96] = True
        return photo, holes

    def test_the_truth_itself_scores_one_at_every_level(self) -> None:
        photo, holes = self.photo_and_hole()
        assert metrics.detail_ratio(photo, photo, holes) == pytest.approx([1.0, 1.0, 1.0])

    def test_a_flat_fill_scores_zero_and_a_blur_scores_low(self) -> None:
        photo, holes = self.photo_and_hole()
        flat = photo.copy()
        flat[holes] = photo[holes].mean(axis=0).astype(np.uint8)
        assert metrics.detail_ratio(flat, photo, holes) == pytest.approx([0, 0, 0], abs=1e-9)
        blurred = cv2.GaussianBlur(photo, (0, 0), 3)
        assert all(r < 0.35 for r in metrics.detail_ratio(blurred, photo, holes))

    def test_pixel_noise_raises_level_0_much_more_than_level_2(self) -> None:
        photo, holes = self.photo_and_hole()
        ratios = metrics.detail_ratio(noisy(photo, 20), photo, holes)
        assert ratios[0] > 1.5 and ratios[0] - 1 > 3 * (ratios[2] - 1)

    def test_the_seam_around_the_hole_does_not_count(self) -> None:
        photo, holes = self.photo_and_hole()
        seam = photo.copy()
        ring = holes & ~cv2.erode(holes.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        seam[ring] = 255  # a bright 2-pixel frame just inside the hole
        assert metrics.detail_ratio(seam, photo, holes) == pytest.approx([1.0, 1.0, 1.0])

    def test_without_holes_it_measures_the_whole_image(self) -> None:
        photo, _ = self.photo_and_hole()
        half = cv2.resize(cv2.resize(photo, (64, 64), interpolation=cv2.INTER_AREA), (128, 128))
        ratios = metrics.detail_ratio(half, photo)
        assert ratios[0] < 0.5 and ratios[0] < ratios[1] < ratios[2]

    def test_holes_too_thin_for_a_level_or_a_flat_truth_give_nan(self) -> None:
        photo, _ = self.photo_and_hole()
        line = np.zeros(photo.shape[:2], bool)
        line[60:76, :] = True  # 16 pixels: 10 after erosion, too thin for level 2
        ratios = metrics.detail_ratio(photo, photo, line)
        assert ratios[:2] == pytest.approx([1.0, 1.0]) and math.isnan(ratios[2])
        flat = np.full((32, 32, 3), 90, np.uint8)
        assert all(math.isnan(r) for r in metrics.detail_ratio(flat, flat))
