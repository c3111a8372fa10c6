"""`ganrestore eval --data DIR` on real pairs: DIR/clean/ beside the task's pair folder, the
layout `ganrestore train` reads. The pair file is the input, the clean image the truth, scored
as the task scores it; pairs are found and checked by training's own discovery; options that
only shape eval's own degradations are refused; a flat folder of clean images is unchanged."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app
from ganrestore.data.layout import DataError, discover
from ganrestore.evaluation.degrade import add_noise, file_rng
from ganrestore.tasks import build_task

#: Crops whose heights are not all even: the upscale task cuts the clean image to 2 x small.
PHOTOS = {
    "astronaut": lambda: skimage.data.astronaut()[40:104, 160:224],  # 64 x 64
    "chelsea": lambda: skimage.data.chelsea()[60:125, 150:214],  # 65 rows x 64
    "camera": lambda: skimage.data.camera()[100:164, 200:248],  # gray, 64 x 48
}


def invoke(*args: str | Path):
    return CliRunner().invoke(app, ["eval", *map(str, args)], env={"COLUMNS": "160"})


def said(result) -> str:
    return " ".join(result.output.split())


def save(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(pixels)).save(path)
    return path


def block_mean(photo: np.ndarray, scale: int) -> np.ndarray:
    """A real small image: the rounded mean of each ``scale x scale`` block (what a camera's
    binning gives), not the bicubic downscale eval draws itself."""
    height, width = photo.shape[0] // scale, photo.shape[1] // scale
    blocks = photo[: height * scale, : width * scale].astype(np.float64)
    shape = (height, scale, width, scale, *photo.shape[2:])
    return np.rint(blocks.reshape(shape).mean(axis=(1, 3))).astype(np.uint8)


def noisy(photo: np.ndarray, seed: int) -> np.ndarray:
    """A noisy photo as a camera saves it: Gaussian noise of σ 20, 8 bits."""
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(photo + rng.normal(0, 20, photo.shape)), 0, 255).astype(np.uint8)


def psnr_of(output: np.ndarray, truth: np.ndarray, border: int = 0) -> float:
    if border:
        output, truth = (
            output[border:-border, border:-border],
            truth[border:-border, border:-border],
        )
    mse = np.mean((output.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


def per_image(path: Path, model: str) -> dict[str, dict[str, str]]:
    with path.open() as file:
        return {row["image"]: row for row in csv.DictReader(file) if row["model"] == model}


@pytest.fixture
def upscale_pairs(tmp_path: Path) -> Path:
    """``clean/NAME.png`` beside ``small/NAME.png``, half as large."""
    root = tmp_path / "pairs"
    for name, crop in PHOTOS.items():
        photo = np.ascontiguousarray(crop())
        save(root / "clean" / f"{name}.png", photo)
        save(root / "small" / f"{name}.png", block_mean(photo, 2))
    return root


@pytest.fixture
def denoise_pairs(tmp_path: Path) -> Path:
    """``clean/NAME.png`` beside ``noisy/NAME.png`` (the second name denoise recognises)."""
    root = tmp_path / "noisy-pairs"
    for seed, (name, crop) in enumerate(PHOTOS.items()):
        photo = np.ascontiguousarray(crop())
        save(root / "clean" / f"{name}.png", photo)
        save(root / "noisy" / f"{name}.png", noisy(photo, seed))
    return root


def test_upscale_real_pairs_are_scored_and_bicubic_matches_an_independent_computation(
    upscale_pairs, tmp_path
) -> None:
    result = invoke(
        "--task", "upscale-x2", "--data", upscale_pairs, "--model", "baseline:bicubic",
        "--no-lpips", "--json", tmp_path / "m.json", "--grid", tmp_path / "grid.png",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{upscale_pairs}: 3 real pairs (clean/ + small/)" in said(result)
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["conditions"] == ["real-pairs"] and data["seed"] is None
    assert data["mode"] == "real-pairs"
    assert [r["model"] for r in data["results"]] == ["input", "bicubic"]
    assert all(r["images"] == 3 and r["detail_0"] > 0 for r in data["results"])
    rows = per_image(tmp_path / "m.csv", "bicubic")
    for name in PHOTOS:
        clean = np.asarray(Image.open(upscale_pairs / "clean" / f"{name}.png"))
        small = np.asarray(Image.open(upscale_pairs / "small" / f"{name}.png"))
        small = (small.reshape(*small.shape[:2], -1) / 255.0).astype(np.float32)
        height, width = small.shape[0] * 2, small.shape[1] * 2
        channels = [  # Pillow's bicubic in float, channel by channel, then 8 bits
            np.asarray(Image.fromarray(small[..., c]).resize((width, height), Image.BICUBIC))
            for c in range(small.shape[2])
        ]
        output = np.rint(np.clip(np.stack(channels, axis=2), 0, 1) * 255).astype(np.uint8)
        truth = clean.reshape(*clean.shape[:2], -1)[:height, :width]  # chelsea: 64 of 65 rows
        expected = psnr_of(output, truth, border=2)
        assert float(rows[f"{name}.png"]["psnr"]) == pytest.approx(expected, abs=1e-9)
        assert float(rows[f"{name}.png"]["megapixels"]) == height * width / 1e6
    assert Image.open(tmp_path / "grid.png").width == 3 * 192  # small input | bicubic | truth


def test_denoise_scores_clean_beside_noisy_and_the_input_row_is_the_noisy_file(
    denoise_pairs, tmp_path
) -> None:
    result = invoke(
        "--data", denoise_pairs, "--model", "baseline:tv", "--task", "denoise", "--no-lpips",
        "--json", tmp_path / "d.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 real pairs (clean/ + noisy/)" in said(result)
    rows = {r["model"]: r for r in json.loads((tmp_path / "d.json").read_text())["results"]}
    assert rows["tv"]["psnr"] > rows["input"]["psnr"] + 2  # TV removes much of σ 20
    for name, row in per_image(tmp_path / "d.csv", "input").items():
        clean = np.asarray(Image.open(denoise_pairs / "clean" / name))
        given = np.asarray(Image.open(denoise_pairs / "noisy" / name))
        assert float(row["psnr"]) == pytest.approx(psnr_of(given, clean), abs=1e-9)


def test_inpaint_real_pairs_score_the_masks_as_the_masks_option_does(tmp_path) -> None:
    root = tmp_path / "holes"
    for index, (name, crop) in enumerate(PHOTOS.items()):
        photo = np.ascontiguousarray(crop())
        holes = np.zeros(photo.shape[:2], np.uint8)
        holes[10 + 4 * index : 30, 8 : 28 + 3 * index] = 255
        save(root / "clean" / f"{name}.png", photo)
        save(root / "masks" / f"{name}.png", holes)
    args = ["--task", "inpaint", "--model", "baseline:telea", "--no-lpips"]
    pairs = invoke(*args, "--data", root, "--json", tmp_path / "pairs.json")
    masks = invoke(
        *args, "--data", root / "clean", "--masks", root / "masks", "--json", tmp_path / "m.json"
    )
    assert pairs.exit_code == 0 and masks.exit_code == 0, pairs.output + masks.output
    by_pairs = json.loads((tmp_path / "pairs.json").read_text())["results"]
    by_masks = json.loads((tmp_path / "m.json").read_text())["results"]
    assert [r["condition"] for r in by_pairs] == ["real-pairs"] * 2
    for pair_row, mask_row in zip(by_pairs, by_masks, strict=True):
        for metric in ("psnr", "ssim", "psnr_hole", "detail_0", "detail_1"):
            assert pair_row[metric] == mask_row[metric], metric
    assert by_pairs[1]["psnr_hole"] > by_pairs[0]["psnr_hole"]  # telea beats the gray holes


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (["--sigma", "25"], "--sigma"),
        (["--peak", "30", "--seed", "3"], "--peak, --seed"),
        (["--jpeg", "90"], "--jpeg"),
    ],
)
def test_options_of_eval_s_own_degradations_are_refused_with_real_pairs(
    denoise_pairs, args, refused
) -> None:
    result = invoke("--task", "denoise", "--data", denoise_pairs, "--model", "baseline:tv", *args)
    assert result.exit_code == 2, result.output
    assert f"{refused}: --data {denoise_pairs} holds real pairs (clean/ + noisy/)" in said(result)
    assert "own inputs are scored" in said(result) and "Traceback" not in result.output
    assert "[1/" not in result.output  # refused before anything is read


def test_a_flat_folder_of_clean_images_is_degraded_by_eval_as_before(
    denoise_pairs, tmp_path
) -> None:
    """The clean/ folder alone is a flat folder: eval adds its own noise, seeded by 0 when
    --seed is not given, as before real pairs existed."""
    clean = denoise_pairs / "clean"
    default = invoke("--task", "denoise", "--data", clean, "--model", "baseline:tv",
                     "--sigma", "15", "--no-lpips", "--json", tmp_path / "f.json")  # fmt: skip
    assert default.exit_code == 0, default.output
    assert "real pairs" not in said(default)
    data = json.loads((tmp_path / "f.json").read_text())
    assert data["conditions"] == ["sigma15"] and data["seed"] == 0 and data["skipped"] == []
    for name, row in per_image(tmp_path / "f.csv", "input").items():
        photo = np.asarray(Image.open(clean / name))
        photo = photo.reshape(*photo.shape[:2], -1)
        given = add_noise(photo / 255.0, 15, file_rng(0, name, "sigma15"))
        assert float(row["psnr"]) == pytest.approx(psnr_of(given, photo), abs=1e-9)


def test_a_wrongly_sized_small_image_gets_training_s_message(upscale_pairs) -> None:
    save(upscale_pairs / "small" / "astronaut.png", np.zeros((32, 30, 3), np.uint8))
    with pytest.raises(DataError) as training:
        discover(upscale_pairs, build_task("upscale-x2"))
    result = invoke("--task", "upscale-x2", "--data", upscale_pairs, "--model", "baseline:bicubic")
    assert result.exit_code == 2, result.output
    message = " ".join(str(training.value).split())
    assert "astronaut.png is 64x64 but" in message and "(expected 32x32)" in message
    assert message in said(result) and "Traceback" not in result.output


def test_an_unreadable_pair_is_said_once_and_skipped_and_the_rest_is_scored(
    upscale_pairs, tmp_path
) -> None:
    (upscale_pairs / "small" / "camera.png").write_bytes(b"not an image")
    clean = (upscale_pairs / "clean" / "chelsea.png").read_bytes()
    (upscale_pairs / "clean" / "chelsea.png").write_bytes(clean[: len(clean) // 2])  # cut short
    result = invoke(
        "--task", "upscale-x2", "--data", upscale_pairs, "--model", "baseline:bicubic",
        "--no-lpips", "--json", tmp_path / "s.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = said(result)
    assert text.count("camera.png") == 1 and "unreadable file(s) skipped" in text
    assert text.count("chelsea.png") == 1 and "skipped: cannot read image" in text
    data = json.loads((tmp_path / "s.json").read_text())
    assert all(r["images"] == 1 for r in data["results"])  # astronaut alone
    assert len(data["skipped"]) == 2
