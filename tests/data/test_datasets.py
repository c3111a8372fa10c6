"""ganrestore.data.datasets: item shapes, ranges, determinism, pairs and bad files."""

from __future__ import annotations

import warnings
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ganrestore.data.datasets import BadImageWarning, TrainDataset, ValDataset
from ganrestore.data.io import write_image
from ganrestore.data.layout import DataError, Sample, discover
from ganrestore.data.sampler import StepSampler
from ganrestore.tasks import build_task

KEYS = {"clean", "degraded", "mask", "sigma"}

DENOISE, INPAINT = build_task("denoise"), build_task("inpaint")


def save(path: Path, values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values).save(path)
    return path


def check_item(item: dict, size: int) -> None:
    assert set(item) == KEYS
    assert all(value.dtype == torch.float32 for value in item.values())
    assert item["clean"].shape == item["degraded"].shape == (3, size, size)
    assert item["mask"].shape == (1, size, size) and item["sigma"].shape == ()
    for name in ("clean", "degraded", "mask"):
        assert item[name].min() >= 0 and item[name].max() <= 1


@pytest.fixture
def clean_samples(tmp_path, astronaut, coffee, camera) -> list[Sample]:
    return [
        Sample(save(tmp_path / "clean" / f"{name}.png", image))
        for name, image in (("astronaut", astronaut), ("coffee", coffee), ("camera", camera))
    ]


class TestTrainDenoise:
    def test_shapes_ranges_and_sigma_in_range(self, clean_samples):
        dataset = TrainDataset(clean_samples, DENOISE, crop=32, sigma_range=(5.0, 50.0))

        for index in range(3):
            item = dataset[(index, 1000 + index)]
            check_item(item, 32)
            assert 5.0 <= item["sigma"].item() <= 50.0
            assert not item["mask"].any()

    def test_same_key_same_item_other_seed_other_item(self, clean_samples):
        first = TrainDataset(clean_samples, DENOISE, crop=24)[(0, 42)]
        again = TrainDataset(clean_samples, DENOISE, crop=24)[(0, 42)]
        other = TrainDataset(clean_samples, DENOISE, crop=24)[(0, 43)]

        assert all(torch.equal(first[key], again[key]) for key in KEYS)
        assert not torch.equal(first["degraded"], other["degraded"])

    def test_noise_level_matches_sigma(self, clean_samples):
        dataset = TrainDataset(clean_samples[1:2], DENOISE, crop=40, sigma_range=(20.0, 20.0))

        item = dataset[(0, 5)]

        residual = item["degraded"] - item["clean"]
        assert residual.std().item() == pytest.approx(20 / 255, rel=0.1)
        assert item["sigma"].item() == 20.0

    def test_gray_crops_carry_the_same_noise_in_every_channel_as_a_gray_photo_does(
        self, clean_samples
    ):
        options = {"crop": 40, "sigma_range": (25.0, 25.0)}
        always = TrainDataset(clean_samples[:1], DENOISE, gray_share=1.0, **options)
        colour = TrainDataset(clean_samples[:1], DENOISE, **options)

        gray = always[(0, 7)]
        for name in ("clean", "degraded"):
            assert torch.equal(gray[name][0], gray[name][1])
            assert torch.equal(gray[name][0], gray[name][2])
        residual = gray["degraded"][0] - gray["clean"][0]
        assert residual.std().item() == pytest.approx(25 / 255, rel=0.1)
        # the astronaut in colour: channels differ, and so does the noise in each
        item = colour[(0, 7)]
        assert not torch.equal(item["clean"][0], item["clean"][1])
        noise = item["degraded"] - item["clean"]
        assert abs(np.corrcoef(noise[0].flatten(), noise[1].flatten())[0, 1]) < 0.2

    @pytest.mark.parametrize(("share", "low", "high"), [(0.25, 30, 70), (0.0, 0, 0)])
    def test_gray_share_is_the_rate_of_gray_crops(self, clean_samples, share, low, high):
        dataset = TrainDataset(clean_samples[:2], DENOISE, crop=24, gray_share=share)
        noisy = [dataset[(0, seed)]["degraded"] for seed in range(200)]
        assert low <= sum(torch.equal(image[0], image[1]) for image in noisy) <= high

    def test_gray_share_is_checked(self, clean_samples):
        with pytest.raises(ValueError, match="gray_share must be in"):
            TrainDataset(clean_samples, DENOISE, crop=24, gray_share=1.5)

    def test_poisson_adds_more_noise_than_gaussian_alone(self, clean_samples):
        options = {"crop": 32, "sigma_range": (5.0, 5.0), "augment": False}
        gaussian = TrainDataset(clean_samples, DENOISE, **options)[(1, 9)]
        poisson = TrainDataset(
            clean_samples, DENOISE, poisson=True, peak_range=(20.0, 20.0), **options
        )[(1, 9)]

        assert torch.equal(gaussian["clean"], poisson["clean"])
        noise = (poisson["degraded"] - poisson["clean"]).std()
        assert noise > 2 * (gaussian["degraded"] - gaussian["clean"]).std()

    def test_clean_share_leaves_crops_untouched(self, clean_samples):
        dataset = TrainDataset(clean_samples, DENOISE, crop=32, clean_share=1.0)
        for seed in range(4):
            item = dataset[(seed % 3, seed)]
            assert torch.equal(item["degraded"], item["clean"]) and item["sigma"].item() == 0.0

    def test_clean_share_draws_about_its_share(self, clean_samples):
        dataset = TrainDataset(clean_samples, DENOISE, crop=16, clean_share=0.25)
        items = [dataset[(0, seed)] for seed in range(200)]
        assert 30 <= sum(torch.equal(item["degraded"], item["clean"]) for item in items) <= 70

    def test_jpeg_share_quantises_noisy_crops_to_eight_bits(self, clean_samples):
        options = {"crop": 32, "sigma_range": (25.0, 25.0), "jpeg_quality": (75, 75)}
        item = TrainDataset(clean_samples, DENOISE, jpeg_share=1.0, **options)[(0, 3)]
        levels = item["degraded"] * 255
        torch.testing.assert_close(levels, levels.round(), atol=1e-4, rtol=0)
        assert item["sigma"].item() == 25.0
        assert (item["degraded"] - item["clean"]).abs().mean() > 0.02  # still noisy

    def test_sigma_power_two_draws_half_the_crops_from_the_lowest_quarter(self, clean_samples):
        dataset = TrainDataset(clean_samples, DENOISE, crop=16, sigma_power=2.0)
        sigmas = [dataset[(0, seed)]["sigma"].item() for seed in range(400)]
        assert 0.42 <= np.mean(np.array(sigmas) < 55.0 / 4) <= 0.58

    @pytest.mark.parametrize(
        ("option", "value"),
        [("clean_share", 1.5), ("jpeg_share", -0.1), ("poisson", 2.0), ("sigma_power", 0.0)],
    )
    def test_noise_options_are_checked(self, clean_samples, option, value):
        with pytest.raises(ValueError, match=option):
            TrainDataset(clean_samples, DENOISE, crop=24, **{option: value})

    def test_real_pair_cropped_flipped_and_rotated_together(self, tmp_path, astronaut):
        clean = save(tmp_path / "clean" / "a.png", astronaut)
        inverted = save(tmp_path / "degraded" / "a.png", 255 - astronaut)
        dataset = TrainDataset([Sample(clean, pair=inverted)], DENOISE, crop=20)

        for seed in range(8):
            item = dataset[(0, seed)]
            check_item(item, 20)
            torch.testing.assert_close(item["degraded"], 1 - item["clean"], atol=1e-6, rtol=0)
            assert item["sigma"].item() == 0.0


class TestTrainInpaint:
    def test_synthetic_masks_zero_the_holes(self, clean_samples):
        dataset = TrainDataset(clean_samples, INPAINT, crop=32, hole_ratio=(0.1, 0.3))

        for seed in range(6):
            item = dataset[(seed % 3, seed)]
            check_item(item, 32)
            mask = item["mask"]
            assert 0.1 <= mask.mean().item() <= 0.3 and set(mask.unique().tolist()) <= {0, 1}
            assert torch.equal(item["degraded"], item["clean"] * (1 - mask))
            assert item["sigma"].item() == 0.0

    def test_real_mask_follows_the_crop(self, tmp_path, camera):
        clean = save(tmp_path / "clean" / "c.png", camera)
        mask = save(tmp_path / "masks" / "c.png", np.where(camera > 128, 255, 0).astype(np.uint8))
        dataset = TrainDataset([Sample(clean, pair=mask)], INPAINT, crop=16)

        for seed in range(8):
            item = dataset[(0, seed)]
            bright = (torch.round(item["clean"][:1] * 255) > 128).float()
            assert torch.equal(item["mask"], bright)
            assert torch.equal(item["degraded"], item["clean"] * (1 - item["mask"]))

    def test_a_mask_without_a_hole_is_said_once_and_still_used(self, tmp_path, camera):
        clean = save(tmp_path / "clean" / "c.png", camera)
        mask = save(tmp_path / "masks" / "c.png", np.zeros_like(camera))
        dataset = TrainDataset([Sample(clean, pair=mask)], INPAINT, crop=16)

        with pytest.warns(BadImageWarning, match=r"c\.png: this mask has no hole"):
            item = dataset[(0, 1)]
        assert not item["mask"].any()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dataset[(0, 2)]  # said once


class TestTrainInputs:
    def test_small_image_is_reflect_padded(self, clean_samples, coffee):
        dataset = TrainDataset(clean_samples[1:2], DENOISE, crop=64, augment=False)

        item = dataset[(0, 0)]

        check_item(item, 64)
        expected = torch.from_numpy(coffee).permute(2, 0, 1) / 255  # 40x56 padded by 12 and 4
        torch.testing.assert_close(item["clean"][:, 12:52, 4:60], expected)
        torch.testing.assert_close(item["clean"][:, 11], item["clean"][:, 13])  # reflected

    def test_gray_rgba_and_16_bit_become_rgb_floats(self, tmp_path, camera, astronaut16):
        gray = save(tmp_path / "gray.png", camera)
        rgba = tmp_path / "rgba.png"
        write_image(rgba, astronaut16 / 65535.0, alpha=np.zeros((48, 64)), bit_depth=16)
        dataset = TrainDataset([Sample(gray), Sample(rgba)], DENOISE, crop=32, augment=False)

        gray_item, rgba_item = dataset[(0, 1)], dataset[(1, 1)]

        assert torch.equal(gray_item["clean"][0], gray_item["clean"][2])
        levels = rgba_item["clean"] * 65535
        torch.testing.assert_close(levels, levels.round(), atol=2e-3, rtol=0)
        assert (levels.round() % 257 != 0).any()  # finer than 8 bits: precision kept

    def test_unreadable_file_is_reported_once_and_the_next_index_used(self, clean_samples):
        clean_samples[0].clean.write_bytes(b"broken")
        dataset = TrainDataset(clean_samples, DENOISE, crop=16)

        with pytest.warns(BadImageWarning, match=r"astronaut\.png"):
            substitute = dataset[(0, 77)]
        expected = TrainDataset(clean_samples, DENOISE, crop=16)[(1, 77)]
        assert all(torch.equal(substitute[key], expected[key]) for key in KEYS)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dataset[(0, 78)]  # known bad: skipped without a second report

    def test_nothing_readable_is_a_data_error(self, clean_samples):
        for sample in clean_samples:
            sample.clean.write_bytes(b"")
        dataset = TrainDataset(clean_samples, DENOISE, crop=16)

        with pytest.warns(BadImageWarning), pytest.raises(DataError, match="none of the 3"):
            dataset[(0, 0)]

    def test_batches_do_not_depend_on_worker_count(self, make_data_dir):
        layout = discover(make_data_dir(count=6), INPAINT, val_fraction=0.2)
        dataset = TrainDataset(layout.train, INPAINT, crop=24)

        def batches(workers: int) -> list[dict]:
            sampler = StepSampler(len(dataset), 4, seed=3, start_step=5)
            loader = DataLoader(dataset, batch_size=4, sampler=sampler, num_workers=workers)
            return list(islice(loader, 2))

        for serial, parallel in zip(batches(0), batches(2), strict=True):
            assert all(torch.equal(serial[key], parallel[key]) for key in KEYS)
            assert serial["clean"].shape == (4, 3, 24, 24)


class TestValDataset:
    def test_deterministic_center_crops_and_cycling_sigma(self, clean_samples, astronaut):
        dataset = ValDataset(clean_samples, DENOISE, size=32)
        again = ValDataset(clean_samples, DENOISE, size=32)

        items = [dataset[i] for i in range(3)]
        for item in items:
            check_item(item, 32)
        assert [item["sigma"].item() for item in items] == [15.0, 25.0, 50.0]
        assert all(torch.equal(items[i][k], again[i][k]) for i in range(3) for k in KEYS)
        center = torch.from_numpy(astronaut[8:40, 16:48]).permute(2, 0, 1) / 255
        torch.testing.assert_close(items[0]["clean"], center)

    def test_inpaint_masks_and_padding(self, clean_samples):
        dataset = ValDataset(clean_samples, INPAINT, size=64, hole_ratio=(0.1, 0.2))

        item = dataset[2]

        check_item(item, 64)
        assert 0.1 <= item["mask"].mean().item() <= 0.2
        assert torch.equal(item["degraded"], item["clean"] * (1 - item["mask"]))
        again = ValDataset(clean_samples, INPAINT, 64, hole_ratio=(0.1, 0.2))[2]
        assert torch.equal(item["mask"], again["mask"])

    def test_a_gray_share_makes_evenly_spread_items_gray_for_every_sigma(self, clean_samples):
        samples = clean_samples[:2] * 6  # 12 items: σ 15, 25, 50 in turn
        dataset = ValDataset(samples, DENOISE, size=32, gray_share=0.25)
        gray = [i for i in range(12) if torch.equal(dataset[i]["clean"][0], dataset[i]["clean"][2])]
        assert gray == [3, 7, 11]
        assert {dataset[i]["sigma"].item() for i in gray} == {15.0, 25.0, 50.0}
        for index in gray:
            noisy = dataset[index]["degraded"]
            assert torch.equal(noisy[0], noisy[1]) and torch.equal(noisy[0], noisy[2])

    def test_out_of_range_index(self, clean_samples):
        with pytest.raises(IndexError):
            ValDataset(clean_samples, DENOISE)[3]


def test_options_are_checked(clean_samples):
    with pytest.raises(ValueError, match="mask_kind must be box, free or mixed"):
        TrainDataset(clean_samples, INPAINT, crop=16, mask_kind="dots")
    with pytest.raises(ValueError, match="unexpected keyword argument 'sigma_range'"):
        ValDataset(clean_samples, INPAINT, sigma_range=(5.0, 10.0))
    with pytest.raises(TypeError, match=r"\(index, sample_seed\)"):
        TrainDataset(clean_samples, DENOISE, crop=16)[0]
