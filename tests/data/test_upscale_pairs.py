"""Upscaling from real pairs: ``clean/NAME.png`` beside ``small/NAME.png``, ``scale`` times
smaller, found, size-checked and cropped over the same area.

The small images here are the ``scale x scale`` block means of their clean photos, rounded to
8 bits. A block mean commutes with flips, quarter turns, crops on block boundaries and padding
by whole mirrored blocks, so an aligned item's input is the block mean of its target (within
half a grey level), and a window shifted by a single pixel is not.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from ganrestore.data.datasets import BadImageWarning, TrainDataset, ValDataset
from ganrestore.data.layout import DataError, Sample, discover
from ganrestore.data.pair_folder import PairFolder
from ganrestore.tasks import build_task
from ganrestore.tasks.upscale import UpscaleTask

HALF_LEVEL = 0.5 / 255 + 1e-6


def block_mean(image: np.ndarray, scale: int) -> np.ndarray:
    """``(H, W, C)`` -> ``(H // scale, W // scale, C)``: the mean of each ``scale²`` block."""
    height, width = image.shape[0] // scale, image.shape[1] // scale
    blocks = image[: height * scale, : width * scale].astype(np.float64)
    return blocks.reshape(height, scale, width, scale, -1).mean(axis=(1, 3))


def small_of(photo: np.ndarray, scale: int) -> np.ndarray:
    """The small uint8 image of a uint8 ``photo``: its block means, rounded."""
    return np.rint(block_mean(photo, scale)).astype(np.uint8)


def save(path: Path, values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values).save(path)
    return path


def as_image(tensor: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` item tensor -> ``(H, W, 3)`` float64."""
    return tensor.permute(1, 2, 0).double().numpy()


def as_levels(tensor: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` item tensor of an 8-bit file -> its ``(H, W, 3)`` uint8 levels, exactly."""
    levels = tensor.permute(1, 2, 0).double().numpy() * 255
    assert np.abs(levels - np.rint(levels)).max() < 1e-3
    return np.rint(levels).astype(np.uint8)


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    """Three uint8 RGB crops of scikit-image photos; their sides are not all multiples of 4."""
    return {
        "astronaut": np.ascontiguousarray(skimage.data.astronaut()[60:126, 170:269]),
        "coffee": np.ascontiguousarray(skimage.data.coffee()[140:204, 190:286]),
        "chelsea": np.ascontiguousarray(skimage.data.chelsea()[60:121, 100:190]),
    }


def pair_folder(root: Path, photos: dict[str, np.ndarray], scale: int) -> Path:
    """``root/clean/NAME.png`` with ``root/small/NAME.png`` ``scale`` times smaller."""
    for name, photo in photos.items():
        save(root / "clean" / f"{name}.png", photo)
        save(root / "small" / f"{name}.png", small_of(photo, scale))
    return root


def samples_of(root: Path, names: list[str]) -> list[Sample]:
    return [Sample(root / "clean" / f"{n}.png", pair=root / "small" / f"{n}.png") for n in names]


def placements(image: np.ndarray, window: np.ndarray) -> list[tuple[int, int, bool, int]]:
    """Every ``(top, left, flip, turns)`` at which ``window`` is ``image``'s window there,
    flipped left-right when ``flip``, then turned ``turns`` quarter turns (as the datasets do).
    """
    side = window.shape[0]
    corners = image[: image.shape[0] - side + 1, : image.shape[1] - side + 1]
    found = []
    for flip in (False, True):
        for turns in range(4):
            undone = np.rot90(window, k=-turns)
            undone = undone[:, ::-1] if flip else undone
            for top, left in np.argwhere((corners == undone[0, 0]).all(axis=2)):
                if np.array_equal(image[top : top + side, left : left + side], undone):
                    found.append((int(top), int(left), flip, turns))
    return found


class TestPairFolderScale:
    def test_each_upscale_task_reads_small_images_of_its_own_scale(self):
        assert build_task("upscale-x2").pair.scale == 2
        assert build_task("upscale-x4").pair.scale == 4
        assert UpscaleTask.pair.scale == 1 and UpscaleTask.pair.folder == "small"
        assert build_task("denoise").pair.scale == build_task("inpaint").pair.scale == 1

    @pytest.mark.parametrize("scale", [0, -2, 1.5, True])
    def test_a_scale_that_is_not_a_whole_number_from_1_is_refused(self, scale):
        with pytest.raises(ValueError, match="pair scale must be an integer >= 1"):
            PairFolder(names=("small",), word="small image", scale=scale)

    def test_the_size_of_a_pair_is_the_clean_size_divided_and_rounded_down(self):
        folder = PairFolder(names=("small",), word="small image", scale=4)

        assert folder.expected_size((801, 1203)) == (200, 300)


class TestDiscovery:
    @pytest.mark.parametrize("scale", [2, 4])
    def test_clean_and_small_folders_are_real_pairs(self, tmp_path, photos, scale):
        root = pair_folder(tmp_path / "data", photos, scale)

        layout = discover(root, build_task(f"upscale-x{scale}"), val_fraction=0.3)

        assert layout.paired
        assert len(layout.train + layout.val) == 3
        assert all(s.pair == root / "small" / s.clean.name for s in layout.train + layout.val)
        assert f"each with its small image in {root / 'small'}" in layout.summary

    def test_a_small_image_of_another_size_is_named_with_the_size_expected(self, tmp_path, photos):
        root = pair_folder(tmp_path / "data", photos, 2)
        save(root / "small" / "coffee.png", small_of(photos["coffee"], 4))

        with pytest.raises(DataError, match="a pair differs in size") as caught:
            discover(root, build_task("upscale-x2"))

        message = str(caught.value)
        assert re.search(
            r"clean/coffee\.png is 96x64 but \S*small/coffee\.png is 24x16 \(expected 48x32\)",
            message,
        )
        assert "astronaut" not in message and "chelsea" not in message
        assert "must have its clean image's size divided by 2 (rounded down)" in message

    def test_a_same_size_pair_is_refused_for_upscaling(self, tmp_path, photos):
        root = tmp_path / "data"
        for name, photo in photos.items():
            save(root / "clean" / f"{name}.png", photo)
            save(root / "small" / f"{name}.png", photo)

        with pytest.raises(DataError, match=r"3 pairs differ in size"):
            discover(root, build_task("upscale-x4"))


class TestTrainingItems:
    @pytest.mark.parametrize("scale", [2, 4])
    def test_the_input_is_the_aligned_window_of_the_real_small_image(self, tmp_path, photos, scale):
        root = pair_folder(tmp_path, photos, scale)
        names = list(photos)
        dataset = TrainDataset(samples_of(root, names), build_task(f"upscale-x{scale}"), crop=32)
        seen = set()

        for seed in range(16):
            index = seed % 3
            item = dataset[(index, seed)]
            clean, small = as_image(item["clean"]), as_image(item["degraded"])
            photo, stored = photos[names[index]], small_of(photos[names[index]], scale)

            assert clean.shape == (32, 32, 3) and small.shape == (32 // scale, 32 // scale, 3)
            assert np.abs(small - block_mean(clean, scale)).max() <= HALF_LEVEL
            ((top, left, flip, turns),) = placements(photo, as_levels(item["clean"]))
            assert top % scale == 0 and left % scale == 0
            window = stored[top // scale :, left // scale :][: 32 // scale, : 32 // scale]
            window = np.rot90(window[:, ::-1] if flip else window, k=turns)
            np.testing.assert_array_equal(as_levels(item["degraded"]), window)
            seen.add((flip, turns))
        assert len(seen) >= 5  # flips and turns were drawn, and followed by the small image

    def test_the_same_key_gives_the_same_item_and_the_options_do_not_apply(self, tmp_path, photos):
        root = pair_folder(tmp_path, photos, 2)
        samples, task = samples_of(root, list(photos)), build_task("upscale-x2")
        noisy = {"noise_share": 1.0, "jpeg_share": 1.0, "blur_share": 1.0}

        plain = TrainDataset(samples, task, crop=24)[(1, 7)]
        again = TrainDataset(samples, task, crop=24, **noisy)[(1, 7)]

        assert all(torch.equal(plain[key], again[key]) for key in plain)
        assert plain["sigma"].item() == 0.0 and not plain["mask"].any()

    def test_a_crop_the_scale_does_not_divide_is_cut_to_a_multiple(self, tmp_path, photos):
        root = pair_folder(tmp_path, photos, 4)

        item = TrainDataset(samples_of(root, ["coffee"]), build_task("upscale-x4"), crop=30)[(0, 3)]

        assert item["clean"].shape == (3, 28, 28) and item["degraded"].shape == (3, 7, 7)

    def test_a_pair_smaller_than_the_crop_is_padded_and_stays_aligned(self, tmp_path, photos):
        photo = photos["astronaut"][:22, :30]  # 11x15 small image, padded to 20x20
        clean_path = save(tmp_path / "clean" / "a.png", photo)
        small_path = save(tmp_path / "small" / "a.png", small_of(photo, 2))
        samples, task = [Sample(clean_path, pair=small_path)], build_task("upscale-x2")
        dataset = TrainDataset(samples, task, crop=40)

        for seed in range(4):
            item = dataset[(0, seed)]
            clean, small = as_image(item["clean"]), as_image(item["degraded"])

            assert clean.shape == (40, 40, 3) and small.shape == (20, 20, 3)
            assert np.abs(small - block_mean(clean, 2)).max() <= HALF_LEVEL
        unturned = as_levels(TrainDataset(samples, task, 40, augment=False)[(0, 0)]["clean"])
        np.testing.assert_array_equal(unturned[8:30, 4:34], photo)  # padded by 8 + 10, 4 + 6
        np.testing.assert_array_equal(unturned[7], unturned[8])  # mirrored about the border

    def test_a_wrongly_sized_small_image_is_named_and_the_next_pair_is_used(self, tmp_path, photos):
        root = pair_folder(tmp_path / "data", photos, 4)
        layout = discover(root, build_task("upscale-x4"), val_fraction=0.0)
        samples = list(layout.train)
        bad = samples[0].pair
        save(bad, small_of(photos[bad.stem], 2))  # replaced after the folder was scanned
        dataset = TrainDataset(samples, build_task("upscale-x4"), crop=32)
        clean_size = "x".join(map(str, photos[bad.stem].shape[1::-1]))

        with pytest.warns(BadImageWarning) as caught:
            substitute = dataset[(0, 5)]

        (message,) = [str(warning.message) for warning in caught]
        height, width = photos[bad.stem].shape[:2]
        assert (
            f"cannot read image {bad}: a pair differs in size (width x height): "
            f"{samples[0].clean} is {clean_size} but {bad} is {width // 2}x{height // 2} "
            f"(expected {width // 4}x{height // 4}); each small image must have its clean "
            "image's size divided by 4 (rounded down)"
        ) in message
        assert message.endswith("Using the next image instead")
        expected = TrainDataset(samples, build_task("upscale-x4"), crop=32)[(1, 5)]
        assert all(torch.equal(substitute[key], expected[key]) for key in expected)

    def test_a_same_size_pair_is_named_in_the_words_of_discovery(self, tmp_path, photos):
        clean = save(tmp_path / "clean" / "a.png", photos["coffee"])
        noisy = save(tmp_path / "degraded" / "a.png", photos["coffee"][:40])
        other = save(tmp_path / "clean" / "b.png", photos["chelsea"])
        samples = [Sample(clean, pair=noisy), Sample(other, pair=other)]

        expected = (
            r"clean/a\.png is 96x64 but \S*degraded/a\.png is 96x40; each degraded image must "
            "have the size of its clean image"
        )
        with pytest.warns(BadImageWarning, match=expected):
            TrainDataset(samples, build_task("denoise"), crop=16)[(0, 0)]

    def test_the_task_refuses_a_small_image_of_another_shape(self):
        clean = np.zeros((32, 32, 3), np.float32)

        with pytest.raises(ValueError, match=r"must be 8x8, got 16x16"):
            build_task("upscale-x4").training_item(
                clean, np.zeros((16, 16, 3), np.float32), np.random.default_rng(0), None
            )

    def test_a_crop_smaller_than_the_scale_is_refused(self, tmp_path, photos):
        root = pair_folder(tmp_path, photos, 4)

        with pytest.raises(ValueError, match="crop must be >= 4, got 3"):
            TrainDataset(samples_of(root, ["coffee"]), build_task("upscale-x4"), crop=3)


class TestValidationItems:
    @pytest.mark.parametrize("scale", [2, 4])
    def test_the_centre_window_of_the_small_image_is_the_input(self, tmp_path, photos, scale):
        root = pair_folder(tmp_path, photos, scale)
        dataset = ValDataset(samples_of(root, ["coffee"]), build_task(f"upscale-x{scale}"), 32)

        item = dataset[0]

        photo, stored = photos["coffee"], small_of(photos["coffee"], scale)
        side = 32 // scale
        top, left = (64 // scale - side) // 2, (96 // scale - side) // 2
        np.testing.assert_array_equal(
            as_levels(item["degraded"]), stored[top : top + side, left : left + side]
        )
        large = photo[top * scale : (top + side) * scale, left * scale : (left + side) * scale]
        np.testing.assert_array_equal(as_levels(item["clean"]), large)
        assert torch.equal(dataset[0]["degraded"], item["degraded"])


@pytest.mark.slow  # a real training process
def test_train_upscale_x2_on_real_pairs_through_the_cli(tmp_path, photos, run_cli, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = pair_folder(tmp_path / "data", photos, 2)
    run = tmp_path / "run"

    trained = run_cli(
        "train", "upscale-x2", "--data", str(root), "--out", str(run), "--steps", "2",
        "--crop", "32", "--batch-size", "2", "--set", "data.workers=0",
        "--set", "data.val_size=32", "--set", "validate_every=1",
        "--set", "generator.params.width=8", "--set", "generator.params.blocks=1",
    )  # fmt: skip

    assert trained.returncode == 0, trained.stderr
    output = " ".join((trained.stdout + trained.stderr).split())  # lines as wrapped or not
    assert "Traceback" not in output
    assert "3 clean images in" in output and "each with its small image in" in output
    assert "validation at step 2: PSNR" in output
    assert any(run.rglob("*.safetensors"))
