"""`ganrestore apply` with folders it may not read or write: one line, exit code 2, nothing
restored, as a user sees it (root's power over file permissions dropped, see ``run_cli``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import skimage.data
from PIL import Image


@pytest.fixture
def one_photo(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()[40:104, 160:224]).save(folder / "astronaut.png")
    return folder


def test_apply_refuses_a_read_only_out_before_restoring(
    one_photo: Path, tmp_path: Path, run_cli
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_cli(
            "apply", "--in", str(one_photo), "--out", str(locked / "fixed"), "--model",
            "denoise", as_user=True,
        )  # fmt: skip
    finally:
        locked.chmod(0o700)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, said
    assert f"--out {locked / 'fixed'}: nothing can be written there (the folder {locked} is " \
        "read-only); choose another output folder" in said  # fmt: skip
    assert not any(locked.iterdir())


def test_apply_says_in_one_line_that_in_cannot_be_read(
    one_photo: Path, tmp_path: Path, run_cli
) -> None:
    one_photo.chmod(0)
    try:
        result = run_cli(
            "apply", "--in", str(one_photo), "--out", str(tmp_path / "fixed"), as_user=True
        )
    finally:
        one_photo.chmod(0o755)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, said
    assert f"Error: --in {one_photo}: the folder cannot be read (Permission denied); fix its " \
        "permissions" in said  # fmt: skip
    assert "Traceback" not in said and "╭" not in said and not (tmp_path / "fixed").exists()
