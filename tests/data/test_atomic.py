"""Atomic writes that never replace a file they were told not to, and their leftovers."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.atomic import (
    OutputExistsError,
    machine_id,
    process_running,
    remove_stale_temporaries,
    temporary_path,
    write_atomically,
)
from ganrestore.data.io import IMAGE_SUFFIXES, read_image, write_image

HOUR_AGO = time.time() - 3600


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that ran and is gone (waited for: not even a zombie)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert process_running(process.pid) is False
    return process.pid


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
    def test_a_temporary_names_its_writer(self, tmp_path):
        name = temporary_path(tmp_path / "photo.png").name
        assert name.startswith(f".photo.png.{machine_id()}-{os.getpid()}-")
        assert name.endswith(".tmp") and temporary_path(tmp_path / "photo.png").name != name

    def test_a_dead_writers_temporaries_go_at_once_a_running_writers_stay(self, tmp_path, dead_pid):
        (tmp_path / "sub").mkdir()
        killed = temporary_path(tmp_path / "photo.png", pid=dead_pid)  # a second old
        nested = temporary_path(tmp_path / "sub" / "scan.tif", pid=dead_pid)
        running = temporary_path(tmp_path / "busy.png")  # this process: a write in progress
        parent = temporary_path(tmp_path / "other.png", pid=os.getppid())  # another live one
        for path in (killed, nested, running, parent):
            path.write_bytes(b"x")
        os.utime(running, (HOUR_AGO, HOUR_AGO))  # however old: its writer still runs

        assert remove_stale_temporaries(tmp_path, suffixes=IMAGE_SUFFIXES) == [killed]
        assert nested.exists() and running.exists() and parent.exists()
        assert remove_stale_temporaries(tmp_path, True, suffixes=IMAGE_SUFFIXES) == [nested]
        day_ago = time.time() - 2 * 86400  # its id was given to another process since
        os.utime(parent, (day_ago, day_ago))
        assert remove_stale_temporaries(tmp_path, suffixes=IMAGE_SUFFIXES) == [parent]

    def test_writers_that_cannot_be_asked_are_judged_by_age(self, tmp_path):
        other_machine = f".a.png.{int(machine_id(), 16) ^ 1:08x}-{os.getpid()}-0123abcd.tmp"
        unsigned = ".b.png.0123abcd.tmp"  # as earlier versions named them
        old = [tmp_path / other_machine, tmp_path / unsigned]
        young = [
            tmp_path / other_machine.replace("a.png", "c.png"),
            tmp_path / ".d.png.89abcdef.tmp",
        ]
        for path in old + young:
            path.write_bytes(b"x")
        for path in old:
            os.utime(path, (HOUR_AGO, HOUR_AGO))

        assert sorted(remove_stale_temporaries(tmp_path, suffixes=IMAGE_SUFFIXES)) == sorted(old)
        assert all(path.exists() for path in young)

    def test_only_files_named_exactly_like_ours_are_removed(self, tmp_path, dead_pid):
        ours = temporary_path(tmp_path / "photo.png", pid=dead_pid)
        writer = f"{machine_id()}-{dead_pid}"
        lookalikes = [
            ".photo.png.0123ABCD.tmp",  # upper-case hex
            ".photo.png.0123abc.tmp",  # seven digits
            "photo.png.0123abcd.tmp",  # not hidden
            f"photo.png.{writer}-0123abcd.tmp",
            ".photo.png.tmp",
            ".photo.png.0123abcd.tmp.bak",
            f".photo.png.{writer}-0123abcd.tmp.bak",
            f".photo.png.{writer}.tmp",  # no random part
            ".notes.txt.0123abcd.tmp",  # not an image's temporary
            f".notes.txt.{writer}-0123abcd.tmp",
            "photo.png",
        ]
        for path in [ours, *(tmp_path / name for name in lookalikes)]:
            path.write_bytes(b"x")
            os.utime(path, (HOUR_AGO, HOUR_AGO))

        assert remove_stale_temporaries(tmp_path, suffixes=IMAGE_SUFFIXES) == [ours]
        assert all((tmp_path / name).exists() for name in lookalikes)

    @pytest.mark.parametrize(
        "stem", ["a" * 251, "写真" * 41 + "x", "é" * 125], ids=["ascii", "cjk", "accents"]
    )
    def test_names_up_to_the_file_system_limit_are_written(self, tmp_path, stem, dead_pid):
        target = tmp_path / f"{stem}.png"  # 255 or 254 bytes: the temporary must be shorter
        assert 250 <= len(target.name.encode()) <= 255
        write_atomically(target, b"data", overwrite=False)
        assert target.read_bytes() == b"data" and os.listdir(tmp_path) == [target.name]
        left_behind = temporary_path(target, pid=dead_pid)
        assert len(left_behind.name.encode()) <= 255 and left_behind.name.endswith(".tmp")
        left_behind.write_bytes(b"x")
        assert remove_stale_temporaries(tmp_path, suffixes=IMAGE_SUFFIXES) == [left_behind]

    def test_a_symbolic_link_and_a_missing_folder_are_left_alone(self, tmp_path, dead_pid):
        victim = tmp_path / "precious.png"
        victim.write_bytes(b"keep")
        link = temporary_path(tmp_path / "x.png", pid=dead_pid)
        link.symlink_to(victim)
        os.utime(link, (HOUR_AGO, HOUR_AGO), follow_symlinks=False)

        assert remove_stale_temporaries(tmp_path) == []
        assert link.is_symlink() and victim.read_bytes() == b"keep"
        assert remove_stale_temporaries(tmp_path / "nowhere") == []
