"""A photo that stops decoding mid-run is one plain ``warning:`` line, and training goes on."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from PIL import Image

from ganrestore.cli.errors import show_own_warnings_plainly
from ganrestore.data.datasets import BadImageWarning


@pytest.mark.slow  # a real `ganrestore train` process: about 10 s
def test_a_truncated_photo_is_one_warning_line_from_a_data_loader_worker(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    clean = photo_folder / "clean"
    whole = (clean / "coffee.png").read_bytes()
    Image.open(clean / "coffee.png").save(clean / "cut.jpg", quality=95)
    cut = (clean / "cut.jpg").read_bytes()
    (clean / "cut.jpg").write_bytes(cut[: len(cut) // 2])  # its header still reads
    (photo_folder / "val" / "clean").mkdir(parents=True)  # so cut.jpg is read in training
    (photo_folder / "val" / "clean" / "coffee.png").write_bytes(whole)
    config = tiny_config("denoise", steps=4, validate_every=4, checkpoint_every=4, workers=1)

    result = subprocess.run(
        [sys.executable, "-m", "ganrestore", "train", "denoise", "--data", str(photo_folder),
         "--out", str(tmp_path / "run"), "--config", str(config)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "cut.jpg" in line]
    assert len(lines) == 1, result.stderr  # reported once, not at every epoch
    assert lines[0].startswith(f"warning: cannot read image {clean / 'cut.jpg'}: ")
    assert "incomplete or damaged" in lines[0] and "Using the next image instead" in lines[0]
    assert "BadImageWarning" not in result.stderr and ".py:" not in result.stderr


def test_warnings_of_other_packages_go_to_the_hook_before(capsys: pytest.CaptureFixture) -> None:
    passed_on: list[tuple[Warning | str, type[Warning]]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, *_: passed_on.append((message, category))
        show_own_warnings_plainly()
        warnings.warn("a photo went missing", BadImageWarning, stacklevel=1)
        warnings.warn("an old option", DeprecationWarning, stacklevel=1)

    assert capsys.readouterr().err == "warning: a photo went missing\n"
    assert [(str(message), category) for message, category in passed_on] == [
        ("an old option", DeprecationWarning)
    ]
