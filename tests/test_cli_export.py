"""`ganrestore export`, and `apply --model` with what it wrote, run as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app
from ganrestore.modelfile import (
    RECORD_METADATA_KEY,
    ModelRecord,
    NetworkRecord,
    bundled_path,
    save_model_file,
)

from .inference.conftest import kept_pixels, save_tiny_run


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [*map(str, args)], env={"COLUMNS": "200"})


def clean_error(result, *fragments: str) -> None:
    """A usage error: exit code 2, one ``Error:`` line naming ``fragments``, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and "Traceback" not in result.output
    text = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in text, text


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three real photos with noise (σ 15) as PNG, of sizes that are no multiple of 16 (one
    gray)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    crops = {
        "astronaut": skimage.data.astronaut()[:90, :130],
        "coffee": skimage.data.coffee()[50:150, 100:221],
        "camera": skimage.data.camera()[:77, :101],
    }
    for name, crop in crops.items():
        noisy = crop + rng.normal(0, 15, crop.shape)
        Image.fromarray(noisy.clip(0, 255).round().astype(np.uint8)).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="module")
def bundled_copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled models' files, copied: the exports and the originals compared stay the same
    weights even if the installation's bundled files are replaced meanwhile."""
    folder = tmp_path_factory.mktemp("bundled")
    return {
        name: Path(shutil.copy(bundled_path(name), folder / f"{name}.safetensors"))
        for name in ("denoise", "inpaint")
    }


def read_folder(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))}


@pytest.mark.slow  # the bundled model, exported (ONNX: about 20 s) and applied twice
@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
def test_apply_with_an_export_matches_apply_with_its_model(
    suffix: str, bundled_copies: dict[str, Path], photos: Path, tmp_path: Path
) -> None:
    model, exported = bundled_copies["denoise"], tmp_path / f"denoise{suffix}"

    result = invoke("export", model, "--out", exported)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"wrote {exported}" in text and "the denoise model (resunet)" in text
    assert "max abs difference" in text and "H and W multiples of 16" in text
    trust = ["--trust-torchscript"] if suffix == ".pt" else []  # ONNX files need no trust
    ours = invoke("apply", "--in", photos, "--out", tmp_path / "ours", "--model", exported, *trust)
    theirs = invoke("apply", "--in", photos, "--out", tmp_path / "theirs", "--model", model)

    assert ours.exit_code == 0 and theirs.exit_code == 0, ours.output + theirs.output
    assert "restored 3, skipped 0, failed 0" in ours.output
    restored, expected = read_folder(tmp_path / "ours"), read_folder(tmp_path / "theirs")
    originals = read_folder(photos)
    assert restored.keys() == expected.keys() == originals.keys()
    for name, image in restored.items():
        assert image.shape == originals[name].shape  # gray stays gray
        assert np.abs(image.astype(int) - expected[name]).max() <= 1  # a rounding at most
        assert np.abs(image.astype(int) - originals[name]).mean() > 3  # the noise went


@pytest.mark.slow  # the bundled inpaint model, exported to ONNX and applied twice
def test_an_exported_inpaint_model_fills_holes_and_keeps_known_pixels(
    bundled_copies: dict[str, Path], photos: Path, tmp_path: Path
) -> None:
    for photo in photos.glob("*.png"):
        height, width = np.asarray(Image.open(photo)).shape[:2]
        mask = np.zeros((height, width), np.uint8)
        mask[height // 3 : height // 2, width // 4 : width // 2] = 255
        Image.fromarray(mask).save(photo.with_name(f"{photo.stem}_mask.png"))
    exported = tmp_path / "inpaint.onnx"
    assert invoke("export", bundled_copies["inpaint"], "--out", exported).exit_code == 0

    ours = invoke("apply", "--in", photos, "--out", tmp_path / "ours", "--model", exported)
    theirs = invoke(
        "apply", "--in", photos, "--out", tmp_path / "theirs", "--model", bundled_copies["inpaint"]
    )
    assert ours.exit_code == 0 and theirs.exit_code == 0, ours.output + theirs.output
    restored, expected = read_folder(tmp_path / "ours"), read_folder(tmp_path / "theirs")
    for name, image in restored.items():
        original = np.asarray(Image.open(photos / name))
        mask = np.asarray(Image.open(photos / name.replace(".png", "_mask.png")))
        kept = kept_pixels(mask)
        assert np.array_equal(image[kept], original[kept])
        assert np.abs(image.astype(int) - expected[name]).max() <= 1


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # read as users do
@pytest.mark.slow  # imports the bundled model (TorchScript export: a few seconds)
def test_a_bundled_name_is_exported_with_its_record(tmp_path: Path) -> None:
    exported = tmp_path / "denoise.pt"
    result = invoke("export", "denoise", "--out", exported)
    assert result.exit_code == 0, result.output

    extra = {"ganrestore_record.json": ""}
    torch.jit.load(str(exported), _extra_files=extra)
    record = json.loads(extra["ganrestore_record.json"])
    assert (record["task"], record["generator"]["name"]) == ("denoise", "resunet")
    assert record["bundled_name"] == "denoise"
    assert record["export"]["format"] == "torchscript"
    assert record["export"]["source"] == str(bundled_path("denoise"))


def test_usage_errors_are_one_clean_line(tmp_path: Path) -> None:
    run = save_tiny_run(tmp_path / "run", "denoise")
    taken = tmp_path / "taken.onnx"
    taken.write_bytes(b"mine")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skimage.data.astronaut()[:40, :40]).save(photos / "a.png")

    clean_error(invoke("export", tmp_path / "nope.safetensors", "--out", tmp_path / "x.onnx"))
    clean_error(invoke("export", run, "--out", taken), "exists already", "--overwrite")
    assert taken.read_bytes() == b"mine"
    clean_error(
        invoke("export", run, "--out", taken / "x.onnx"),
        f"--out {taken / 'x.onnx'}: cannot be written ({taken} is a file, not a folder)",
    )
    clean_error(invoke("export", run, "--out", tmp_path / "x.onnx.txt"), "ending in .onnx")
    clean_error(
        invoke("export", run, "--out", tmp_path / "x.pt", "--format", "onnx"),
        "an ONNX file ends in .onnx",
    )
    out = tmp_path / "out"
    clean_error(
        invoke("apply", "--in", photos, "--out", out, "--model", tmp_path / "missing.onnx"),
        "missing.onnx: no such file or folder",
    )
    clean_error(
        invoke("apply", "--in", photos, "--out", out, "--model", broken),
        "broken.onnx is not an ONNX model",
    )
    assert not out.exists()


def test_apply_and_eval_open_a_torchscript_model_only_when_told_to_trust_it(
    photos: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "denoise.pt"
    run = save_tiny_run(tmp_path / "run", "denoise")
    written = invoke("export", run, "--out", exported)
    assert written.exit_code == 0, written.output
    assert f"run it: ganrestore apply --model {exported} --trust-torchscript" in written.output
    out = tmp_path / "out"
    why = [
        "denoise.pt is a TorchScript file",
        "runs code it may hold",
        ".onnx",
        "--trust-torchscript",
    ]

    clean_error(invoke("apply", "--in", photos, "--out", out, "--model", exported), *why)
    assert not out.exists()
    clean_error(invoke("eval", "--data", photos, "--model", exported, "--no-lpips"), *why)

    trusted = invoke(
        "apply", "--in", photos, "--out", out, "--model", exported, "--trust-torchscript"
    )
    assert trusted.exit_code == 0, trusted.output
    assert "restored 3, skipped 0, failed 0" in trusted.output
    scored = invoke(
        "eval",
        "--data",
        photos,
        "--model",
        exported,
        "--no-lpips",
        "--sigma",
        "15",
        "--trust-torchscript",
    )
    assert scored.exit_code == 0, scored.output
    assert str(exported) in " ".join(scored.output.split())


THIRD_PARTY = '''
import torch
from torch import nn


class Hourglass(nn.Module):
    """Down by 4 and up again, no padding of its own: it needs sizes that are multiples of 4."""

    def __init__(self, in_channels, out_channels, width):
        super().__init__()
        self.size_multiple = 4
        self.down = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, stride=4), nn.ReLU(), nn.Conv2d(width, width, 1)
        )
        self.up = nn.ConvTranspose2d(width, out_channels, 4, stride=4)

    def forward(self, x):
        return torch.tanh(x[:, :3] + 0.3 * self.up(self.down(x)))


def hourglass(in_channels, out_channels, *, width=8):
    return Hourglass(in_channels, out_channels, width)
'''


@pytest.mark.slow  # real processes: export to ONNX, then apply twice
def test_a_third_party_network_exports_and_runs_without_its_plugin(
    make_distribution, run_cli, photos: Path, tmp_path: Path
) -> None:
    site = make_distribution(
        "acme-nets",
        {"ganrestore.generators": {"hourglass": "acme_nets:hourglass"}},
        {"acme_nets": THIRD_PARTY},
    )
    from acme_nets import hourglass  # imported from the distribution's folder

    torch.manual_seed(0)
    model = tmp_path / "hourglass.safetensors"
    spec = NetworkRecord("hourglass", {"width": 8}, "acme-nets", "1.0", "acme_nets:hourglass")
    save_model_file(model, hourglass(3, 3, width=8).state_dict(), ModelRecord("denoise", spec))
    exported = tmp_path / "hourglass.onnx"

    result = run_cli("export", str(model), "--out", str(exported), extra_path=[site])
    assert result.returncode == 0, result.stderr
    assert "H and W multiples of 4" in " ".join(result.stdout.split())
    # The graph runs without the plugin; the model file needs it.
    ours = run_cli(
        "apply", "--in", str(photos), "--out", str(tmp_path / "ours"), "--model", str(exported)
    )
    theirs = run_cli(
        "apply",
        "--in",
        str(photos),
        "--out",
        str(tmp_path / "theirs"),
        "--model",
        str(model),
        extra_path=[site],
    )
    assert ours.returncode == 0 and theirs.returncode == 0, ours.stderr + theirs.stderr
    restored, expected = read_folder(tmp_path / "ours"), read_folder(tmp_path / "theirs")
    assert restored.keys() == expected.keys() and len(restored) == 3
    for name, image in restored.items():
        assert np.abs(image.astype(int) - expected[name]).max() <= 1
    metadata = _onnx_metadata(exported)
    assert json.loads(metadata[RECORD_METADATA_KEY])["generator"]["distribution"] == "acme-nets"


def _onnx_metadata(file: Path) -> dict[str, str]:
    import onnx

    return {entry.key: entry.value for entry in onnx.load(str(file)).metadata_props}
