"""Atomic writes that never replace a file they were told not to, and their leftovers."""

from __future__ import annotations

import errno
import os
import threading
import time

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.atomic import (
    OutputExistsError,
    remove_stale_temporaries,
    temporary_path,
    write_atomically,
)
from ganrestore.data.io import IMAGE_SUFFIXES, read_image, write_image

HOUR_AGO = time.time() - 3600


class TestNoClobber:
    def test_an_existing_file_is_left_alone_and_no_temporary_remains(self, tmp_path, coffee):
        target = tmp_path / "out.png"
        target.write_bytes(b"mine")

        with pytest.raises(OutputExistsError):
            write_image(target, coffee / 255.0, overwrite=False)
        assert target.read_bytes() == b"mine"
        assert [p.name for p in tmp_path.iterdir()] == ["out.png"]

    def test_a_new_file_is_written_whole(self, tmp_path, coffee):
        write_image(tmp_path / "new.png", coffee / 255.0, overwrite=False)

        assert np.array_equal(np.asarray(Image.open(tmp_path / "new.png")), coffee)
        assert [p.name for p in tmp_path.iterdir()] == ["new.png"]

    def test_overwrite_still_replaces(self, tmp_path, coffee):
        (tmp_path / "out.png").write_bytes(b"old")

        write_image(tmp_path / "out.png", coffee / 255.0, overwrite=True)
        assert read_image(tmp_path / "out.png").pixels.shape == coffee.shape

    def test_of_many_threads_racing_for_one_name_exactly_one_wins(self, tmp_path):
        target, outcomes = tmp_path / "contested.bin", []
        start = threading.Barrier(8)

        def write(index: int) -> None:
            start.wait()
            try:
                write_atomically(target, bytes([index]) * 1000, overwrite=False)
                outcomes.append(index)
            except OutputExistsError:
                outcomes.append(None)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [index for index in outcomes if index is not None]
        assert len(winners) == 1 and len(outcomes) == 8
        assert target.read_bytes() == bytes(winners) * 1000
        assert [p.name for p in tmp_path.iterdir()] == ["contested.bin"]

    def test_without_hard_links_the_name_is_claimed_exclusively(
        self, tmp_path, monkeypatch: pytest.MonkeyPatch
    ):
        def no_links(source, destination):  # FAT / exFAT / some network shares
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_links)
        write_atomically(tmp_path / "a.bin", b"first", overwrite=False)
        with pytest.raises(OutputExistsError):
            write_atomically(tmp_path / "a.bin", b"second", overwrite=False)
        assert (tmp_path / "a.bin").read_bytes() == b"first"
        assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


class TestStaleTemporaries:
    def test_only_old_files_named_exactly_like_ours_are_removed(self, tmp_path):
        (tmp_path / "sub").mkdir()
        ours = temporary_path(tmp_path / "photo.png")
        nested = temporary_path(tmp_path / "sub" / "scan.tif")
        lookalikes = [
            ".photo.png.0123ABCD.tmp",  # upper-case hex
            ".photo.png.0123abc.tmp",  # seven digits
            "photo.png.0123abcd.tmp",  # not hidden
            ".photo.png.tmp",
            ".photo.png.0123abcd.tmp.bak",
            ".notes.txt.0123abcd.tmp",  # not an image's temporary
            "photo.png",
        ]
        for path in [ours, nested, *(tmp_path / name for name in lookalikes)]:
            path.write_bytes(b"x")
            os.utime(path, (HOUR_AGO, HOUR_AGO))
        fresh = temporary_path(tmp_path / "busy.png")  # a write in progress elsewhere
        fresh.write_bytes(b"x")

        removed = remove_stale_temporaries(tmp_path, suffixes=IMAGE_SUFFIXES)
        assert removed == [ours]
        assert nested.exists() and fresh.exists()
        assert all((tmp_path / name).exists() for name in lookalikes)
        assert remove_stale_temporaries(tmp_path, True, suffixes=IMAGE_SUFFIXES) == [nested]

    @pytest.mark.parametrize(
        "stem", ["a" * 251, "写真" * 41 + "x", "é" * 125], ids=["ascii", "cjk", "accents"]
    )
    def test_names_up_to_the_file_system_limit_are_written(self, tmp_path, stem):
        target = tmp_path / f"{stem}.png"  # 255 or 254 bytes: the temporary must be shorter
        assert 250 <= len(target.name.encode()) <= 255
        write_atomically(target, b"data", overwrite=False)
        assert target.read_bytes() == b"data" and os.listdir(tmp_path) == [target.name]
        left_behind = temporary_path(target)
        assert len(left_behind.name.encode()) <= 255 and left_behind.name.endswith(".tmp")
        left_behind.write_bytes(b"x")
        os.utime(left_behind, (HOUR_AGO, HOUR_AGO))
        assert remove_stale_temporaries(tmp_path, suffixes=IMAGE_SUFFIXES) == [left_behind]

    def test_a_symbolic_link_and_a_missing_folder_are_left_alone(self, tmp_path):
        victim = tmp_path / "precious.png"
        victim.write_bytes(b"keep")
        link = temporary_path(tmp_path / "x.png")
        link.symlink_to(victim)
        os.utime(link, (HOUR_AGO, HOUR_AGO), follow_symlinks=False)

        assert remove_stale_temporaries(tmp_path) == []
        assert link.is_symlink() and victim.read_bytes() == b"keep"
        assert remove_stale_temporaries(tmp_path / "nowhere") == []
