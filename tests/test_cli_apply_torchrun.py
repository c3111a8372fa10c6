"""``torchrun --nproc_per_node=2 -m ganrestore apply``: two real CPU processes (gloo).

Each file is restored exactly once, by one of the processes, into the very bytes a single
process writes; rank 0 alone prints, once: the first line, every failure, the progress of the
whole run (every process's files, as the summary counts them) and the summary.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app

USER_FILE = b"the user's own file, never replaced"


def torchrun_apply(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", "-m", "ganrestore", "apply", *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def exit_codes(result: subprocess.CompletedProcess[str]) -> set[int]:
    """The exit codes of the failed processes, from torchrun's report (-15: stopped by it)."""
    return {int(code) for code in re.findall(r"exitcode\s*:\s*(-?\d+)", result.stderr)}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Five real images of five sizes (PNG, JPEG, gray) and a corrupt one."""
    folder = tmp_path / "photos"
    folder.mkdir()
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut[:64, :96]).save(folder / "a.png")
    Image.fromarray(astronaut[100:180, 100:160]).save(folder / "b.jpg", quality=95)
    Image.fromarray(skimage.data.camera()[:48, :80]).save(folder / "c.png")
    Image.fromarray(skimage.data.coffee()[:70, :50]).save(folder / "d.png")
    Image.fromarray(skimage.data.chelsea()[:40, :40]).save(folder / "e.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a PNG")
    return folder


def output_folder(path: Path) -> Path:
    """An output folder holding the user's own ``c.png``."""
    path.mkdir()
    (path / "c.png").write_bytes(USER_FILE)
    return path


@pytest.mark.slow  # two torchrun processes load the bundled model
def test_two_processes_restore_each_file_once_as_one_process_does(
    photos: Path, tmp_path: Path
) -> None:
    alone = output_folder(tmp_path / "alone")
    single = CliRunner().invoke(
        app, ["apply", "--in", str(photos), "--out", str(alone), "--model", "denoise"]
    )
    assert single.exit_code == 1, single.output
    shared = output_folder(tmp_path / "shared")
    stale = shared / ".a.png.0123abcd.tmp"  # left by a killed run
    stale.write_bytes(b"half an image")
    os.utime(stale, (time.time() - 300, time.time() - 300))

    result = torchrun_apply(
        "--in", photos, "--out", shared, "--model", "denoise", "--device", "cpu", cwd=tmp_path
    )

    assert result.returncode != 0, result.stderr[-3000:]  # exit code 1 on both ranks
    assert 1 in exit_codes(result) and exit_codes(result) <= {1, -15}
    log = result.stdout + result.stderr
    assert log.count("restored 4, skipped 1, failed 1 in ") == 1, log[-3000:]
    progress = re.findall(r"^progress: (\d+)/(\d+) image\(s\) done", log, re.MULTILINE)
    assert progress and {total for _, total in progress} == {"6"}, log[-3000:]  # all 6 files
    assert progress[-1] == ("6", "6")  # the last line counts both processes' files
    assert log.count("images/s") == 1 and "megapixels/s" in result.stdout
    assert log.count("skipped 1: output exists (use --overwrite)") == 1
    assert log.count("image(s) in ") == 1 and "on 2 processes" in result.stderr
    assert log.count("corrupt.png") == 1
    assert log.count("removed 1 temporary file(s)") == 1 and not stale.exists()
    assert "appeared during the run" not in log  # no file was written by both processes
    assert not re.search(r"^Error:", log, re.MULTILINE)
    assert (shared / "c.png").read_bytes() == USER_FILE
    names = sorted(path.name for path in shared.iterdir())
    assert names == sorted(path.name for path in alone.iterdir())
    assert names == ["a.png", "b.jpg", "c.png", "d.png", "e.png"]
    for name in names:
        assert (shared / name).read_bytes() == (alone / name).read_bytes(), name


@pytest.mark.slow  # two torchrun processes
def test_a_usage_error_is_said_once_and_stops_both_processes(tmp_path: Path) -> None:
    result = torchrun_apply(
        "--in", tmp_path / "missing", "--out", tmp_path / "out", "--device", "cpu", cwd=tmp_path
    )
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert log.count("Error: --in") == 1, log[-3000:]
    assert "no such image file or folder" in log
    assert 2 in exit_codes(result) and exit_codes(result) <= {2, -15}
    assert not (tmp_path / "out").exists()
