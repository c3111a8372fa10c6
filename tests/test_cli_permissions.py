"""Folders the CLI may not read or write: one line, exit code 2, nothing restored, as a user
sees it (root's power over file permissions dropped, see ``run_cli``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from .conftest import permissions, said


@pytest.fixture
def one_photo(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()[40:104, 160:224]).save(folder / "astronaut.png")
    return folder


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["apply", "--in", "{photos}", "--out", "{locked}/fixed", "--model", "denoise"],
            "--out {locked}/fixed: nothing can be written there (the folder {locked} is "
            "read-only); choose another output folder",
        ),
        (
            ["eval", "--data", "{photos}", "--model", "baseline:tv", "--json", "{locked}/m.json"],
            "--json {locked}/m.json: the folder {locked} is read-only; pass another path",
        ),
    ],
)
def test_an_output_in_a_read_only_folder_is_refused_before_any_image_is_restored(
    one_photo: Path, tmp_path: Path, run_cli, command: list[str], message: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    places = {"photos": one_photo, "locked": locked}
    with permissions(locked, 0o500):
        result = run_cli(*(arg.format(**places) for arg in command), as_user=True)
    printed = said(result)
    assert result.returncode == 2 and f"Error: {message.format(**places)}" in printed, printed
    assert "Traceback" not in printed and not any(locked.iterdir())


def test_apply_says_in_one_line_that_in_cannot_be_read(
    one_photo: Path, tmp_path: Path, run_cli
) -> None:
    with permissions(one_photo, 0):
        result = run_cli(
            "apply", "--in", str(one_photo), "--out", str(tmp_path / "fixed"), as_user=True
        )
    printed = said(result)
    assert result.returncode == 2, printed
    assert f"Error: --in {one_photo}: the folder cannot be read (Permission denied); fix its " \
        "permissions" in printed  # fmt: skip
    assert "Traceback" not in printed and "╭" not in printed
    assert not (tmp_path / "fixed").exists()
