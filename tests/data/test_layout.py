"""ganrestore.data.layout: what discover() finds in a --data folder, and how it complains."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.datasets import ValDataset
from ganrestore.data.layout import DataError, Sample, discover
from ganrestore.data.pair_folder import PairFolder
from ganrestore.tasks import build_task

DENOISE, INPAINT = build_task("denoise"), build_task("inpaint")


def clean_names(samples: tuple[Sample, ...]) -> list[str]:
    return [sample.clean.name for sample in samples]


class TestCleanOnly:
    def test_split_is_disjoint_covering_and_deterministic(self, make_data_dir):
        root = make_data_dir(count=12)

        layout = discover(root, DENOISE, val_fraction=0.25)

        train, val = clean_names(layout.train), clean_names(layout.val)
        assert sorted(train + val) == [f"img{i:02d}.png" for i in range(12)]
        assert not set(train) & set(val) and train and val
        assert not layout.paired and layout.skipped == ()
        assert all(s.pair is None for s in layout.train + layout.val)
        assert discover(root, DENOISE, val_fraction=0.25) == layout
        assert any("held out for validation" in note for note in layout.notes)

    def test_two_images_give_one_train_and_one_val(self, make_data_dir):
        for fraction, why in ((0.0, "would hold out none"), (0.99, "would hold out all")):
            layout = discover(make_data_dir(count=2, name=f"d{fraction}"), INPAINT, fraction)
            assert len(layout.train) == len(layout.val) == 1
            assert layout.train != layout.val
            assert any(f"data.val_fraction {fraction:g} {why}" in note for note in layout.notes)

    def test_single_image_is_used_for_both_and_said_so(self, make_data_dir):
        layout = discover(make_data_dir(count=1), DENOISE)

        assert layout.train == layout.val and len(layout.train) == 1
        assert any("only one usable image" in note for note in layout.notes)

    def test_val_folder_is_used_as_is(self, make_data_dir):
        layout = discover(make_data_dir(count=4, val=2), DENOISE)

        assert clean_names(layout.train) == ["img00.png", "img01.png", "img02.png", "img03.png"]
        assert clean_names(layout.val) == ["img04.png", "img05.png"]
        assert all(sample.clean.parent.parent.name == "val" for sample in layout.val)

    def test_an_empty_val_folder_is_named_as_the_validation_folder(self, make_data_dir):
        root = make_data_dir(count=4)
        (root / "val").mkdir()

        with pytest.raises(DataError, match=r"the validation folder .*val holds no images") as e:
            discover(root, DENOISE)
        assert "remove the empty folder to hold some training photos out" in str(e.value)
        assert "put the training photos there" not in str(e.value)

    def test_images_smaller_than_the_crop_are_said_to_be_padded(self, make_data_dir):
        root = make_data_dir(count=4, val=1)
        Image.fromarray(np.zeros((20, 90, 3), np.uint8)).save(root / "clean" / "strip.png")

        layout = discover(root, DENOISE, crop=32)

        padded = [note for note in layout.notes if "smaller than the crop" in note]
        assert padded == [
            "1 of 5 training image(s) are smaller than the crop of 32 px on a side and are "
            "reflect-padded up to it: strip.png"
        ]
        assert not any("smaller than the crop" in n for n in discover(root, DENOISE).notes)

    def test_one_validation_image_is_counted_in_the_singular(self, make_data_dir):
        root = make_data_dir(count=4, val=1)

        layout = discover(root, DENOISE)

        assert f"validation: 1 clean image in {root / 'val' / 'clean'};" in layout.summary

    def test_other_task_folder_is_ignored_with_a_note(self, make_data_dir):
        layout = discover(make_data_dir(count=3, pairs="degraded"), INPAINT)

        assert not layout.paired
        assert any("degraded (" in ignored for ignored in layout.ignored)


class TestPairs:
    def test_denoise_pairs_match_by_stem_across_suffixes(self, make_data_dir):
        layout = discover(make_data_dir(count=5, pairs="degraded", val=2), DENOISE)

        assert layout.paired
        for sample in layout.train + layout.val:
            assert sample.pair.stem == sample.clean.stem
            assert sample.pair.suffix == ".jpg"

    def test_inpaint_pairs_use_masks(self, make_data_dir):
        layout = discover(make_data_dir(count=4, pairs="masks"), INPAINT)

        assert layout.paired
        assert all(s.pair.parent.name == "masks" for s in layout.train + layout.val)

    def test_clean_images_without_pair_are_listed(self, make_data_dir):
        root = make_data_dir(count=4, pairs="degraded")
        (root / "degraded" / "img01.jpg").unlink()
        (root / "degraded" / "img03.jpg").unlink()

        with pytest.raises(DataError, match=r"2 clean image\(s\) have no degraded image") as caught:
            discover(root, DENOISE)
        assert "img01.png" in str(caught.value) and "img03.png" in str(caught.value)

    def test_no_name_matches_shows_examples_of_both_sides(self, make_data_dir):
        root = make_data_dir(count=3, pairs="masks")
        for path in (root / "masks").iterdir():
            path.rename(path.with_name("mask_" + path.name))

        with pytest.raises(DataError, match=r"no file in .*masks has the name") as caught:
            discover(root, INPAINT)
        assert "img00" in str(caught.value) and "mask_img00" in str(caught.value)

    def test_pair_of_different_sizes_names_both_files_and_sizes(self, make_data_dir):
        root = make_data_dir(count=3, pairs="degraded")
        Image.new("RGB", (30, 20)).save(root / "degraded" / "img02.jpg")

        with pytest.raises(DataError, match="a pair differs in size") as caught:
            discover(root, DENOISE)
        message = str(caught.value)
        assert re.search(r"clean/img02\.png is 48x40 but .*degraded/img02\.jpg is 30x20", message)

    def test_empty_pair_folder(self, make_data_dir):
        root = make_data_dir(count=3)
        (root / "masks").mkdir()

        with pytest.raises(DataError, match=r"masks contains no images; remove the empty folder"):
            discover(root, INPAINT)

    def test_two_files_with_one_name_are_ambiguous(self, make_data_dir):
        root = make_data_dir(count=3, pairs="degraded")
        Image.new("RGB", (48, 40)).save(root / "degraded" / "img00.png")

        with pytest.raises(DataError, match=r"img00\.(jpg|png) and .*img00\.(jpg|png)"):
            discover(root, DENOISE)


class TestFolders:
    def test_missing_data_folder(self, tmp_path):
        with pytest.raises(DataError, match=r"data folder .*nothing does not exist"):
            discover(tmp_path / "nothing", DENOISE)

    def test_a_folder_with_only_sub_folders_names_them(self, tmp_path, camera):
        (tmp_path / "2019").mkdir()
        Image.fromarray(camera).save(tmp_path / "2019" / "a.png")

        with pytest.raises(DataError, match=r"no images directly in .*2019/ \(1 image\)"):
            discover(tmp_path, DENOISE)

    def test_empty_clean_folder(self, tmp_path):
        (tmp_path / "clean").mkdir()
        (tmp_path / "clean" / "readme.txt").write_text("images go here")

        with pytest.raises(DataError, match=r"clean contains no images"):
            discover(tmp_path, DENOISE)


class TestUnreadableFiles:
    def test_a_few_are_skipped_and_recorded(self, make_data_dir):
        root = make_data_dir(count=12)
        (root / "clean" / "img05.png").write_bytes(b"not an image")

        layout = discover(root, DENOISE, max_bad_fraction=0.1)

        assert [(path.name, "not a PNG" in reason) for path, reason in layout.skipped] == [
            ("img05.png", True)
        ]
        assert "img05.png" not in clean_names(layout.train + layout.val)
        assert len(layout.train + layout.val) == 11

    def test_too_many_is_an_error_listing_them(self, make_data_dir):
        root = make_data_dir(count=6, pairs="masks")
        for i in (1, 4):
            path = root / "clean" / f"img{i:02d}.png"
            path.write_bytes(path.read_bytes()[:20])

        with pytest.raises(DataError, match=r"2 of 12 image files .* cannot be read") as caught:
            discover(root, INPAINT, max_bad_fraction=0.1)
        assert "img01.png" in str(caught.value) and "img04.png" in str(caught.value)

    def test_bad_pair_file_drops_its_sample(self, make_data_dir):
        root = make_data_dir(count=10, pairs="degraded")
        (root / "degraded" / "img03.jpg").write_bytes(np.zeros(50, np.uint8).tobytes())

        layout = discover(root, DENOISE, max_bad_fraction=0.1)

        assert [path.name for path, _ in layout.skipped] == ["img03.jpg"]
        assert "img03.png" not in clean_names(layout.train + layout.val)


def save_all(folder, images, names=None):
    """Writes ``images`` as PNGs into ``folder`` (created), named img00.png, ... or ``names``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{names[i] if names else f'img{i:02d}'}.png")
    return folder


def side_by_side(sample_images, count):
    """``count`` (40, 80, 3) A|B images: A = the photo inverted, B = the photo."""
    rgb = [image for image in sample_images if image.ndim == 3][:count]
    return [np.concatenate([255 - image[:, :40], image[:, :40]], axis=1) for image in rgb]


class TestLayouts:
    def test_a_plain_folder_is_clean_photos_and_its_sub_folders_are_named(
        self, tmp_path, sample_images
    ):
        photos = save_all(tmp_path / "photos", sample_images[:6])
        save_all(photos / "thumbs", sample_images[6:8])

        layout = discover(photos, INPAINT)

        assert sorted(clean_names(layout.train + layout.val)) == [
            f"img{i:02d}.png" for i in range(6)
        ]
        assert all(sample.clean.parent == photos for sample in layout.train + layout.val)
        assert not layout.paired
        assert layout.summary.startswith(f"6 clean photos in {photos} (plain folder)")
        assert f"validation: {len(layout.val)} of them held out" in layout.summary
        assert layout.ignored == (f"{photos / 'thumbs'} (2 images)",)
        assert layout.summary.endswith(f"ignored: {photos / 'thumbs'} (2 images)")

    def test_loose_images_beside_clean_are_named_as_ignored(self, make_data_dir, sample_images):
        root = make_data_dir(count=4)
        Image.fromarray(sample_images[5]).save(root / "stray.png")

        layout = discover(root, DENOISE)

        assert len(layout.train + layout.val) == 4
        assert layout.ignored == (f"1 image directly in {root}",)

    def test_a_noisy_folder_beside_clean_is_used_as_pairs(self, make_data_dir):
        root = make_data_dir(count=4, pairs="degraded")
        (root / "degraded").rename(root / "noisy")

        layout = discover(root, DENOISE)

        assert layout.paired and layout.ignored == ()
        assert all(s.pair.parent.name == "noisy" for s in layout.train + layout.val)
        assert f"each with its degraded image in {root / 'noisy'}" in layout.summary

    def test_pair_dir_names_any_pair_folder_and_without_it_the_folder_is_named(self, make_data_dir):
        root = make_data_dir(count=4, pairs="degraded")
        (root / "degraded").rename(root / "camera")

        unnamed = discover(root, DENOISE)
        named = discover(root, DENOISE, pair_dir="camera")

        assert not unnamed.paired and unnamed.ignored == (f"{root / 'camera'} (4 images)",)
        assert "noise is added on the fly" in unnamed.summary
        assert named.paired and named.ignored == ()
        assert all(s.pair.parent.name == "camera" for s in named.train + named.val)
        with pytest.raises(DataError, match=r"pair_dir .* is 'raw' but .*raw is not a folder"):
            discover(root, DENOISE, pair_dir="raw")

    def test_degraded_and_noisy_together_are_ambiguous(self, make_data_dir):
        root = make_data_dir(count=3, pairs="degraded")
        (root / "noisy").mkdir()

        with pytest.raises(DataError, match=r"both degraded/ and noisy/.*--pair-dir"):
            discover(root, DENOISE)

    @pytest.mark.parametrize(("direction", "clean_side"), [("AtoB", "B"), ("BtoA", "A")])
    def test_pix2pix_folder_pairs_follow_the_direction(
        self, tmp_path, sample_images, direction, clean_side
    ):
        root = tmp_path / "pairs"
        for split, first in (("train", 0), ("val", 4)):
            save_all(root / f"{split}A", sample_images[first : first + 4])
            save_all(root / f"{split}B", sample_images[first : first + 4])
        save_all(root / "testA", sample_images[8:10])

        layout = discover(root, DENOISE, direction=direction)

        degraded_side = "A" if clean_side == "B" else "B"
        assert layout.paired and len(layout.train) == len(layout.val) == 4
        assert {s.clean.parent.name for s in layout.train} == {f"train{clean_side}"}
        assert {s.pair.parent.name for s in layout.val} == {f"val{degraded_side}"}
        assert f"direction {direction}" in layout.summary
        assert layout.ignored == (f"{root / 'testA'} (2 images)",)

    def test_side_by_side_images_are_split_into_degraded_and_clean_halves(
        self, tmp_path, sample_images
    ):
        root = tmp_path / "facades"
        pictures = side_by_side(sample_images, 4)
        save_all(root / "train", pictures[:3])
        save_all(root / "val", pictures[3:])

        layout = discover(root, DENOISE)
        flipped = discover(root, DENOISE, direction="BtoA")

        assert layout.paired and len(layout.train) == 3 and len(layout.val) == 1
        assert {s.clean_half for s in layout.train + layout.val} == {"right"}
        assert {s.clean_half for s in flipped.train + flipped.val} == {"left"}
        assert "side-by-side A|B images" in layout.summary
        item = ValDataset(layout.val, DENOISE, size=40)[0]  # the 40x40 halves, uncropped
        photo = pictures[3][:, 40:].astype(np.float32) / 255
        inverted = pictures[3][:, :40].astype(np.float32) / 255
        assert np.allclose(item["clean"].permute(1, 2, 0).numpy(), photo, atol=1e-6)
        assert np.allclose(item["degraded"].permute(1, 2, 0).numpy(), inverted, atol=1e-6)

    def test_plain_layout_keeps_wide_photos_whole(self, tmp_path, sample_images):
        root = save_all(tmp_path / "panoramas", side_by_side(sample_images, 3))

        layout = discover(root, INPAINT, layout="plain")

        assert not layout.paired and layout.train[0].clean_half is None

    def test_inpaint_refuses_pix2pix_pairs_and_says_what_to_do(self, tmp_path, sample_images):
        folders = tmp_path / "folders"
        save_all(folders / "A", sample_images[:3])
        save_all(folders / "B", sample_images[:3])
        aligned = save_all(tmp_path / "aligned", side_by_side(sample_images, 3))

        with pytest.raises(DataError, match="cannot learn from pix2pix A/B pairs") as caught:
            discover(folders, INPAINT)
        assert f"--data {folders / 'B'}" in str(caught.value) and "masks/" in str(caught.value)
        with pytest.raises(DataError, match=r"twice as wide as tall.*data\.layout=plain"):
            discover(aligned, INPAINT)


def test_a_pair_folder_finds_its_recognised_folders_in_order_and_lists_their_names(
    tmp_path: Path,
) -> None:
    pair = PairFolder(names=("degraded", "noisy"), word="degraded image")
    assert pair.folders_in(tmp_path) == []
    (tmp_path / "noisy").mkdir()
    (tmp_path / "other").mkdir()
    assert pair.folders_in(tmp_path) == [tmp_path / "noisy"]
    (tmp_path / "degraded").mkdir()
    assert pair.folders_in(tmp_path) == [tmp_path / "degraded", tmp_path / "noisy"]
    assert pair.folder_names == "degraded/ or noisy/"
