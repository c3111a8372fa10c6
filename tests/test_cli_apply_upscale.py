"""`ganrestore apply` with an upscaling model: larger outputs, the limit on the result,
strength as a blend with bicubic, and every kind of image kept as it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from typer.testing import CliRunner

import ganrestore
from ganrestore.cli.app import app
from ganrestore.engine.checkpoint import save_checkpoint
from ganrestore.modelfile import (
    GENERATOR,
    GENERATOR_RAW,
    ModelRecord,
    NetworkRecord,
    TrainingSummary,
)
from ganrestore.models.networks import build_generator
from ganrestore.registry import GENERATORS
from ganrestore.tasks.upscale import bicubic_upscale

PARAMS = {"scale": 4, "width": 8, "blocks": 1}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of a tiny ×4 upnet whose detail layer is not zero (it changes images)."""
    torch.manual_seed(0)
    generator = build_generator("upnet", 3, 3, **PARAMS)
    with torch.no_grad():
        generator.upsample[0].weight.normal_(0, 0.05)
    record = ModelRecord(
        "upscale-x4",
        NetworkRecord.of_plugin(GENERATORS, "upnet", PARAMS),
        training=TrainingSummary(
            ema=False, ganrestore_version=ganrestore.__version__, torch_version=torch.__version__
        ),
    )
    folder = tmp_path_factory.mktemp("runs") / "x4"
    state = generator.state_dict()
    save_checkpoint(folder, 10, {GENERATOR: state, GENERATOR_RAW: state}, {}, record)
    return folder


def invoke(*args: str | Path):
    return CliRunner().invoke(app, ["apply", *map(str, args)])


def test_every_kind_of_image_comes_back_four_times_as_large_and_of_its_kind(
    run: Path, tmp_path: Path
) -> None:
    photos = tmp_path / "in"
    photos.mkdir()
    rgba = np.dstack([skimage.data.astronaut()[:30, :40], np.full((30, 40), 200, np.uint8)])
    Image.fromarray(rgba).save(photos / "alpha.png")
    ramp = np.broadcast_to(np.linspace(0, 255, 40).round().astype(np.uint8), (30, 40))
    Image.fromarray(np.dstack([rgba[..., :3], ramp])).save(photos / "ramp.png")
    Image.fromarray(skimage.data.camera()[:25, :35].astype(np.uint16) * 257).save(
        photos / "deep.png"
    )
    Image.fromarray(skimage.data.coffee()[:32, :48]).save(photos / "photo.jpg", quality=90)

    result = invoke("--in", photos, "--out", tmp_path / "out", "--model", run)

    assert result.exit_code == 0, result.output
    alpha, deep, photo = (Image.open(tmp_path / "out" / name) for name in (
        "alpha.png", "deep.png", "photo.jpg"))  # fmt: skip
    assert (alpha.size, alpha.mode) == ((160, 120), "RGBA")
    assert np.asarray(alpha)[..., 3].min() == 200  # alpha enlarged, not lost
    ramped = np.asarray(Image.open(tmp_path / "out" / "ramp.png"))[..., 3].astype(int)
    steps = np.diff(ramped, axis=1)  # smooth, as the colours: no 4-pixel stairs
    assert ramped[:, 0].max() == 0 and ramped[:, -1].min() == 255 and steps.min() >= 0
    assert steps.max() <= 3 and (ramped == ramped[:1]).all()
    assert deep.size == (140, 100) and np.asarray(deep).dtype == np.uint16
    assert photo.size == (192, 128)


def test_max_pixels_counts_the_result_and_names_its_size(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(skimage.data.astronaut()[:80, :100]).save(photos / "large.png")  # 400x320
    Image.fromarray(skimage.data.astronaut()[:40, :60]).save(photos / "small.png")  # 240x160

    result = invoke(
        "--in", photos, "--out", tmp_path / "out", "--model", run, "--max-pixels", "100000"
    )

    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "large.png: its x4 result, 400x320, is 128000 pixels, above the limit of 100000" in text
    assert (tmp_path / "out" / "small.png").is_file()
    assert not (tmp_path / "out" / "large.png").exists()


def test_strength_blends_the_result_with_the_bicubic_upscale(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "in"
    photos.mkdir()
    source = skimage.data.coffee()[100:140, 200:260]
    Image.fromarray(source).save(photos / "coffee.png")
    outputs = {}
    for strength in ("0", "0.5", "1"):
        out = tmp_path / f"out-{strength}"
        result = invoke("--in", photos, "--out", out, "--model", run, "--strength", strength)
        assert result.exit_code == 0, result.output
        outputs[strength] = np.asarray(Image.open(out / "coffee.png"), np.float32)

    pixels = torch.from_numpy(source).permute(2, 0, 1)[None].float() / 255
    bicubic = bicubic_upscale(pixels, 4)[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(outputs["0"] - bicubic).max() <= 0.5 + 1e-3  # bicubic, rounded to 8 bits
    full_change = np.abs(outputs["1"] - outputs["0"]).mean()
    half_change = np.abs(outputs["0.5"] - outputs["0"]).mean()
    assert full_change > 1.0
    assert half_change == pytest.approx(full_change / 2, rel=0.1)
