"""`ganrestore train --crop` beyond what memory can hold is refused before training starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app
from ganrestore.config import MAX_CROP, ConfigError, load_config


def test_a_huge_crop_is_a_one_line_error_naming_the_option(tmp_path: Path) -> None:
    (tmp_path / "photos" / "clean").mkdir(parents=True)
    Image.fromarray(skimage.data.astronaut()[:64, :64]).save(tmp_path / "photos/clean/a.png")
    args = ["train", "denoise", "--data", tmp_path / "photos", "--out", tmp_path / "run"]
    args += ["--crop", "100000", "--steps", "1", "--device", "cpu"]
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 2, result.output
    assert f"'data.crop' must be from 16 to {MAX_CROP} pixels" in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("key", ["data.crop", "data.val_size"])
def test_sizes_above_the_limit_are_refused_and_the_limit_itself_is_accepted(key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}' must be from 16 to {MAX_CROP}"):
        load_config("denoise", overrides=[f"{key}={MAX_CROP + 1}"])
    assert load_config("denoise", overrides=[f"{key}={MAX_CROP}"]) is not None
