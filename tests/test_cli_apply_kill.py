"""A real ``ganrestore apply`` killed mid-write, then run again at once: the temporary it left
is removed by the rerun, whatever its age; a run still going keeps its temporaries."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from ganrestore.data.atomic import TEMPORARY_NAME
from ganrestore.data.io import read_image

from .inference.conftest import save_tiny_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="reads process states from /proc"),
]
PHOTOS = 48


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 photos of 192x256, enough for a run that writes for a while."""
    folder = tmp_path_factory.mktemp("photos")
    astronaut = skimage.data.astronaut()
    for index in range(PHOTOS):
        top, left = 6 * index, 5 * index
        Image.fromarray(astronaut[top : top + 192, left : left + 256]).save(folder / f"{index}.png")
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_run(tmp_path_factory.mktemp("runs") / "denoise", "denoise")


def apply_command(photos: Path, out: Path, model: Path) -> list[str]:
    return [
        sys.executable, "-m", "ganrestore", "apply", "--in", str(photos), "--out", str(out),
        "--model", str(model), "--format", "tiff", "--device", "cpu",
    ]  # fmt: skip


def start(command: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)


def temporaries(out: Path) -> list[Path]:
    if not out.is_dir():
        return []
    return [Path(e.path) for e in os.scandir(out) if TEMPORARY_NAME.fullmatch(e.name)]


def state(pid: int) -> bytes:
    """The process's state letter from /proc: ``R``, ``S``, ``T`` (stopped), ``Z``..."""
    return Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]


def stop_while_it_writes(process: subprocess.Popen, out: Path) -> Path:
    """Stops ``process`` (SIGSTOP) at a moment it holds a temporary in ``out``; returns it."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it was caught writing"
        if temporaries(out):
            os.kill(process.pid, signal.SIGSTOP)
            while state(process.pid) != b"T":
                time.sleep(0.001)
            held = [path for path in temporaries(out) if path.exists()]
            if held:
                return held[0]
            os.kill(process.pid, signal.SIGCONT)  # it had just renamed it: try the next one
    raise AssertionError("no temporary seen in 240 s")


def test_a_killed_runs_temporary_is_removed_by_a_rerun_at_once(
    photos: Path, model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    killed = start(apply_command(photos, out, model), tmp_path / "killed.log")
    left = stop_while_it_writes(killed, out)
    killed.send_signal(signal.SIGKILL)  # as the OOM killer or a closed laptop lid would
    killed.wait()
    assert left.exists() and time.time() - left.stat().st_mtime < 60  # young: kept before
    count = len(temporaries(out))  # one per writer thread that was writing

    rerun = subprocess.run(
        apply_command(photos, out, model), capture_output=True, text=True, timeout=600
    )
    said = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, said
    assert f"removed {count} temporary file(s) left in {out} by a killed run" in said
    assert not left.exists() and not temporaries(out)
    outputs = sorted(out.iterdir())
    assert len(outputs) == PHOTOS and all(read_image(path).width == 256 for path in outputs)


def test_a_run_still_going_keeps_its_temporary_while_another_writes_to_the_same_out(
    photos: Path, model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = start(apply_command(photos, out, model), tmp_path / "first.log")
    try:
        held = stop_while_it_writes(first, out)  # paused, as a slow disk or a debugger may
        hour_ago = time.time() - 3600
        os.utime(held, (hour_ago, hour_ago))  # however old: its writer still runs

        second = subprocess.run(
            apply_command(photos, out, model), capture_output=True, text=True, timeout=600
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert held.exists()
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()
    said = (tmp_path / "first.log").read_text()
    assert "failed" not in said.replace("failed 0", "")  # its write went through, or was
    assert not temporaries(out)  # skipped because the second run wrote that output first
    assert len(list(out.iterdir())) == PHOTOS


@pytest.mark.usefixtures("ctrl_c_interrupts")
def test_ctrl_c_stops_apply_with_130_and_every_written_output_is_whole(
    photos: Path, model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    log = tmp_path / "run.log"
    process = start(apply_command(photos, out, model), log)
    deadline = time.monotonic() + 240
    while not (out.is_dir() and any(p.suffix == ".tiff" for p in out.iterdir())):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no output was written"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert process.wait(timeout=60) == 130, log.read_text()
    said = " ".join(log.read_text().split())
    assert re.search(
        rf"Interrupted after \d+ of {PHOTOS} image\(s\): every output written so far is "
        "complete; the same command without --overwrite restores the rest",
        said,
    ), said
    assert "Traceback" not in said
    written = sorted(out.glob("*.tiff"))
    assert 0 < len(written) < PHOTOS and temporaries(out) == []
    for path in written:  # each one whole: it decodes to the full size
        assert read_image(path).pixels.shape[:2] == (192, 256)
