"""``ganrestore train --time`` stops cleanly at a wall-clock limit, and ``--max-pixels`` skips
photos that are too large, by name, without Pillow's DecompressionBombWarning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganrestore import modelfile
from ganrestore.data.io import pillow_pixel_limit

from .conftest import train_cli


def trained_steps(run: Path) -> int:
    """The step of the run's newest checkpoint."""
    return int(modelfile.latest_checkpoint(run).name.removeprefix("step-"))


@pytest.mark.slow
def test_time_stops_at_a_step_boundary_saves_and_exits_0_then_resume_goes_on(
    photo_folder: Path, tmp_path: Path, tiny_config
) -> None:
    config = tiny_config("denoise", steps=100_000, validate_every=100_000, checkpoint_every=100_000)
    run = tmp_path / "run"
    result = train_cli(
        "denoise", "--data", str(photo_folder), "--out", str(run), "--config", str(config),
        "--time", "3s",
    )  # fmt: skip

    assert result.exit_code == 0, result.output  # a planned stop, not an interruption
    said = " ".join(result.output.split())
    stopped_at = trained_steps(run)
    assert 1 <= stopped_at < 100_000
    assert f"time limit reached (--time 3s): stopped after step {stopped_at} of 100000" in said
    assert f"--data {photo_folder} --out {run} --resume" in said
    assert "at the --time limit; continue with --resume" in said  # the summary says why
    assert "interrupted" not in said

    resumed = train_cli(
        "denoise", "--data", str(photo_folder), "--out", str(run), "--resume",
        "--steps", str(stopped_at + 2),
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert trained_steps(run) == stopped_at + 2


@pytest.mark.parametrize("given", ["2 hours", "90", "1d", "0m", "h"])
def test_a_duration_it_cannot_read_is_refused_naming_time(
    photo_folder: Path, tmp_path: Path, given: str
) -> None:
    result = train_cli("denoise", "--data", str(photo_folder), "--out", str(tmp_path / "r"),
                       "--time", given)  # fmt: skip
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "--time" in said and "90s, 45m, 2h or 1h30m" in said
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_photo_above_max_pixels_is_skipped_by_name_never_decoded(
    photo_folder: Path, tmp_path: Path, tiny_config
) -> None:
    big = photo_folder / "clean" / "big.png"
    Image.fromarray(np.asarray(skimage.data.astronaut())[:100, :120]).save(big)  # 12000 px
    config = tiny_config("denoise", steps=2, validate_every=2, checkpoint_every=2)
    run = tmp_path / "run"
    with pillow_pixel_limit(1000):  # Pillow alone would warn about, or refuse, every photo
        result = train_cli(
            "denoise", "--data", str(photo_folder), "--out", str(run), "--config", str(config),
            "--max-pixels", "10000",
        )  # fmt: skip

    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"skipped {big}: 120x100 is 12000 pixels, above the limit of 10000 pixels" in said
    assert "never decoded" in said and "DecompressionBomb" not in said
    saved = json.loads((run / "config.json").read_text())
    assert saved["data"]["max_pixels"] == 10_000  # a --resume keeps the same limit

    refused = train_cli("denoise", "--data", str(photo_folder), "--out", str(tmp_path / "r"),
                        "--max-pixels", "-1")  # fmt: skip
    assert refused.exit_code == 2 and "--max-pixels" in refused.output
