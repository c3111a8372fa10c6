"""ganrestore.data.layout: what discover() finds in a --data folder, and how it complains."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.layout import DataError, Sample, discover
from ganrestore.errors import GanrestoreError


def clean_names(samples: tuple[Sample, ...]) -> list[str]:
    return [sample.clean.name for sample in samples]


class TestCleanOnly:
    def test_split_is_disjoint_covering_and_deterministic(self, make_data_dir):
        root = make_data_dir(count=12)

        layout = discover(root, "denoise", val_fraction=0.25)

        train, val = clean_names(layout.train), clean_names(layout.val)
        assert sorted(train + val) == [f"img{i:02d}.png" for i in range(12)]
        assert not set(train) & set(val) and train and val
        assert not layout.paired and layout.skipped == ()
        assert all(s.degraded is None and s.mask is None for s in layout.train + layout.val)
        assert discover(root, "denoise", val_fraction=0.25) == layout
        assert any("held out for validation" in note for note in layout.notes)

    def test_two_images_give_one_train_and_one_val(self, make_data_dir):
        for fraction in (0.0, 0.99):
            layout = discover(make_data_dir(count=2, name=f"d{fraction}"), "inpaint", fraction)
            assert len(layout.train) == len(layout.val) == 1
            assert layout.train != layout.val

    def test_single_image_is_used_for_both_and_said_so(self, make_data_dir):
        layout = discover(make_data_dir(count=1), "denoise")

        assert layout.train == layout.val and len(layout.train) == 1
        assert any("only one usable image" in note for note in layout.notes)

    def test_val_folder_is_used_as_is(self, make_data_dir):
        layout = discover(make_data_dir(count=4, val=2), "denoise")

        assert clean_names(layout.train) == ["img00.png", "img01.png", "img02.png", "img03.png"]
        assert clean_names(layout.val) == ["img04.png", "img05.png"]
        assert all(sample.clean.parent.parent.name == "val" for sample in layout.val)

    def test_other_task_folder_is_ignored_with_a_note(self, make_data_dir):
        layout = discover(make_data_dir(count=3, pairs="degraded"), "inpaint")

        assert not layout.paired
        assert any("degraded is ignored" in note for note in layout.notes)


class TestPairs:
    def test_denoise_pairs_match_by_stem_across_suffixes(self, make_data_dir):
        layout = discover(make_data_dir(count=5, pairs="degraded", val=2), "denoise")

        assert layout.paired
        for sample in layout.train + layout.val:
            assert sample.degraded.stem == sample.clean.stem
            assert sample.degraded.suffix == ".jpg" and sample.mask is None

    def test_inpaint_pairs_use_masks(self, make_data_dir):
        layout = discover(make_data_dir(count=4, pairs="masks"), "inpaint")

        assert layout.paired
        assert all(s.mask.parent.name == "masks" for s in layout.train + layout.val)

    def test_clean_images_without_pair_are_listed(self, make_data_dir):
        root = make_data_dir(count=4, pairs="degraded")
        (root / "degraded" / "img01.jpg").unlink()
        (root / "degraded" / "img03.jpg").unlink()

        with pytest.raises(DataError, match=r"2 clean image\(s\) have no degraded image") as caught:
            discover(root, "denoise")
        assert "img01.png" in str(caught.value) and "img03.png" in str(caught.value)

    def test_no_name_matches_shows_examples_of_both_sides(self, make_data_dir):
        root = make_data_dir(count=3, pairs="masks")
        for path in (root / "masks").iterdir():
            path.rename(path.with_name("mask_" + path.name))

        with pytest.raises(DataError, match=r"no file in .*masks has the name") as caught:
            discover(root, "inpaint")
        assert "img00" in str(caught.value) and "mask_img00" in str(caught.value)

    def test_pair_of_different_sizes_names_both_files_and_sizes(self, make_data_dir):
        root = make_data_dir(count=3, pairs="degraded")
        Image.new("RGB", (30, 20)).save(root / "degraded" / "img02.jpg")

        with pytest.raises(DataError, match="differ in size") as caught:
            discover(root, "denoise")
        message = str(caught.value)
        assert re.search(r"clean/img02\.png is 48x40 but .*degraded/img02\.jpg is 30x20", message)

    def test_empty_pair_folder(self, make_data_dir):
        root = make_data_dir(count=3)
        (root / "masks").mkdir()

        with pytest.raises(DataError, match=r"masks contains no images; remove the empty folder"):
            discover(root, "inpaint")

    def test_two_files_with_one_name_are_ambiguous(self, make_data_dir):
        root = make_data_dir(count=3, pairs="degraded")
        Image.new("RGB", (48, 40)).save(root / "degraded" / "img00.png")

        with pytest.raises(DataError, match=r"img00\.(jpg|png) and .*img00\.(jpg|png)"):
            discover(root, "denoise")


class TestFolders:
    def test_missing_data_folder(self, tmp_path):
        with pytest.raises(DataError, match=r"data folder .*nothing does not exist"):
            discover(tmp_path / "nothing", "denoise")

    def test_missing_clean_folder_points_at_loose_images(self, tmp_path, camera):
        Image.fromarray(camera).save(tmp_path / "a.png")

        with pytest.raises(DataError, match=r"no clean/ folder .*1 image\(s\) directly in"):
            discover(tmp_path, "denoise")

    def test_empty_clean_folder(self, tmp_path):
        (tmp_path / "clean").mkdir()
        (tmp_path / "clean" / "readme.txt").write_text("images go here")

        with pytest.raises(DataError, match=r"clean contains no images"):
            discover(tmp_path, "denoise")

    def test_unknown_task(self, make_data_dir):
        with pytest.raises(GanrestoreError, match="unknown task 'deblur'"):
            discover(make_data_dir(), "deblur")


class TestUnreadableFiles:
    def test_a_few_are_skipped_and_recorded(self, make_data_dir):
        root = make_data_dir(count=12)
        (root / "clean" / "img05.png").write_bytes(b"not an image")

        layout = discover(root, "denoise", max_bad_fraction=0.1)

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
            discover(root, "inpaint", max_bad_fraction=0.1)
        assert "img01.png" in str(caught.value) and "img04.png" in str(caught.value)

    def test_bad_pair_file_drops_its_sample(self, make_data_dir):
        root = make_data_dir(count=10, pairs="degraded")
        (root / "degraded" / "img03.jpg").write_bytes(np.zeros(50, np.uint8).tobytes())

        layout = discover(root, "denoise", max_bad_fraction=0.1)

        assert [path.name for path, _ in layout.skipped] == ["img03.jpg"]
        assert "img03.png" not in clean_names(layout.train + layout.val)
