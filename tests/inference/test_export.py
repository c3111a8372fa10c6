"""Exported models (ONNX, TorchScript) restore as the model they came from, and carry its record.

Tiny real run directories are exported exactly as ``ganrestore export`` exports them, then
loaded back the way ``apply`` and ``load_restorer`` load them. ONNX exports take 10-30 s each
(torch's exporter), so they are made once per module and their tests are slow.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ganrestore
from ganrestore.errors import GanrestoreError
from ganrestore.export.exported import UntrustedTorchScriptError
from ganrestore.export.exporter import ExportError, export_model
from ganrestore.export.graph import EXPORT_KEY, MissingExportDependency
from ganrestore.export.torchscript_graph import RECORD_FILE
from ganrestore.inference import NetworkRestorer, TileSettings
from ganrestore.modelfile import (
    RECORD_METADATA_KEY,
    CheckpointError,
    ModelNotFoundError,
    ModelRecord,
    NetworkRecord,
    SourceKind,
    parse_model_source,
    read_record,
    save_model_file,
)
from ganrestore.registry import GENERATORS

from .conftest import kept_pixels, save_tiny_run

SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
FORMATS = [pytest.param("onnx", marks=pytest.mark.slow), "torchscript"]
#: Tiles of 48 pixels with the tiny U-Net (size multiple 8): the test images are tiled.
TILES = TileSettings(48, 8, 4)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {task: save_tiny_run(root / task, task, seed=3) for task in ("denoise", "inpaint")}


@pytest.fixture(scope="module")
def exported(
    runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], Path]:
    """``exported(task, fmt)``: the tiny run of ``task`` exported to ``fmt`` (once per module)."""
    folder, made = tmp_path_factory.mktemp("exported"), {}

    def get(task: str, fmt: str) -> Path:
        if (task, fmt) not in made:
            out = folder / f"{task}{SUFFIX[fmt]}"
            report = export_model(runs[task], out, fmt)
            assert report.file == out and out.is_file() and report.max_abs_difference <= 1e-3
            made[task, fmt] = out
        return made[task, fmt]

    return get


def restore(restorer: NetworkRestorer, image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Float output, so that the comparison sees more than 8 bits."""
    return restorer.restore(image.astype(np.float32) / 255, mask)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("task", ["denoise", "inpaint"])
def test_an_export_restores_real_images_as_its_model_does(
    fmt: str,
    task: str,
    runs: dict[str, Path],
    exported: Callable[[str, str], Path],
    astronaut: np.ndarray,
    camera: np.ndarray,
    box_mask: Callable[[tuple[int, int]], np.ndarray],
) -> None:
    original = ganrestore.load_restorer(runs[task], device="cpu", tiling=TILES, precision="fp32")
    export = ganrestore.load_restorer(
        exported(task, fmt),
        device="cpu",
        tiling=TILES,
        trust_torchscript=fmt == "torchscript",
        precision="fp32",
    )

    assert isinstance(export, NetworkRestorer) and (export.task, export.multiple) == (task, 8)
    if fmt == "onnx":  # ONNX Runtime runs the graph as it was saved: float32 only
        assert ganrestore.load_restorer(exported(task, fmt), device="cpu").precision == "fp32"
        with pytest.raises(ganrestore.GanrestoreError, match="runs in fp32 only"):
            export.set_precision("bf16")
    # 72 x 100 colour (tiled; not multiples of 8) and 44 x 36 gray: neither is the trace's 64.
    for image in (astronaut, camera):
        mask = box_mask(image.shape[:2]) if task == "inpaint" else None
        ours, theirs = restore(export, image, mask), restore(original, image, mask)
        assert ours.shape == image.shape
        assert np.abs(ours - theirs).max() <= 1e-3
        assert np.abs(ours - image / 255).mean() > 0.01  # the network did change the image
        if mask is not None:  # known pixels are the input's, exactly
            kept = kept_pixels(mask)
            assert np.array_equal(ours[kept], (image.astype(np.float32) / 255)[kept])


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # read as users do
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_model_record_travels_in_the_files_metadata(
    fmt: str, runs: dict[str, Path], exported: Callable[[str, str], Path]
) -> None:
    file = exported("inpaint", fmt)
    if fmt == "onnx":  # read by onnx itself: any ONNX tool sees it
        import onnx

        metadata = {entry.key: entry.value for entry in onnx.load(str(file)).metadata_props}
        text = metadata[RECORD_METADATA_KEY]
    else:  # read by torch itself
        extra = {RECORD_FILE: ""}
        torch.jit.load(str(file), _extra_files=extra)
        text = extra[RECORD_FILE].decode()
    record = ModelRecord.from_json(text, file)
    original = read_record(parse_model_source(runs["inpaint"]).model_file())

    assert (record.task, record.generator) == (original.task, original.generator)
    assert record.training == original.training
    assert record.extra[EXPORT_KEY]["format"] == fmt
    assert record.extra[EXPORT_KEY]["size_multiple"] == 8
    restorer = ganrestore.load_restorer(file, device="cpu", trust_torchscript=fmt == "torchscript")
    assert isinstance(restorer, NetworkRestorer) and restorer.record == record
    assert restorer.takes_masks and restorer.task_spec.in_channels == 4


def test_an_exported_file_is_a_source_of_its_own_kind(
    exported: Callable[[str, str], Path],
) -> None:
    source = parse_model_source(exported("denoise", "torchscript"))

    assert (source.kind, source.exported_format, source.is_network) == (
        SourceKind.EXPORTED,
        "torchscript",
        True,
    )
    with pytest.raises(ModelNotFoundError, match="cannot be trained from or exported again"):
        source.model_file()


def test_an_existing_file_is_never_replaced_without_overwrite(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "mine.pt"
    out.write_bytes(b"my own file")

    with pytest.raises(ExportError, match=r"exists already: not replaced.*--overwrite"):
        export_model(runs["denoise"], out)
    assert out.read_bytes() == b"my own file"

    export_model(runs["denoise"], out, overwrite=True)
    assert ganrestore.load_restorer(out, device="cpu", trust_torchscript=True).task == "denoise"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.pt"]  # no temporary left


@pytest.mark.parametrize(
    ("out", "fmt", "message"),
    [
        ("model.txt", None, r"ending in \.onnx \(ONNX\), \.pt or \.ts \(TorchScript\)"),
        ("model.pt", "onnx", r"an ONNX file ends in \.onnx"),
        ("model.onnx", "torchscript", r"a TorchScript file ends in \.pt or \.ts"),
        ("model.onnx", "tflite", "unknown format"),
    ],
)
def test_an_out_file_of_the_wrong_kind_is_refused_before_any_work(
    runs: dict[str, Path], tmp_path: Path, out: str, fmt: str | None, message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        export_model(runs["denoise"], tmp_path / out, fmt)
    assert list(tmp_path.iterdir()) == []


def test_baselines_and_exports_have_nothing_to_export(
    exported: Callable[[str, str], Path], tmp_path: Path
) -> None:
    with pytest.raises(ExportError, match="classical baseline: it has no network"):
        export_model("baseline:tv", tmp_path / "tv.onnx")
    with pytest.raises(ModelNotFoundError, match=r"pass the \.safetensors model file"):
        export_model(exported("denoise", "torchscript"), tmp_path / "again.pt")


class SizeBranch(nn.Module):
    """A convolution that adds 0.5 only to images whose width leaves 1 when divided by 3: a
    branch on the input size, which tracing keeps as it was taken at the trace size (64)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + (0.5 if x.shape[-1] % 3 == 1 else 0.0)


def test_an_export_that_differs_from_pytorch_is_not_written(tmp_path: Path) -> None:
    model = tmp_path / "branch.safetensors"
    out = tmp_path / "branch.pt"
    with GENERATORS.isolated():
        GENERATORS.register("size_branch")(SizeBranch)
        record = ModelRecord("denoise", NetworkRecord.of_plugin(GENERATORS, "size_branch", {}))
        save_model_file(model, SizeBranch(3, 3).state_dict(), record)

        with pytest.raises(
            ExportError, match=r"differs from PyTorch by up to 0\.5.*nothing was written"
        ):
            export_model(model, out)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [model.name]


def test_files_that_are_no_export_are_refused_naming_the_file(tmp_path: Path) -> None:
    state = tmp_path / "training_state.pt"
    torch.save({"step": 3}, state)  # a pickle, not TorchScript
    garbage = tmp_path / "broken.onnx"
    garbage.write_bytes(b"\x08\x07 not a protobuf at all")

    with pytest.raises(CheckpointError, match=rf"{state.name} is not a TorchScript file"):
        ganrestore.load_restorer(state, device="cpu", trust_torchscript=True)
    with pytest.raises(CheckpointError, match=rf"{garbage.name} is not an ONNX model"):
        ganrestore.load_restorer(garbage, device="cpu")
    with pytest.raises(GanrestoreError, match="no such file or folder"):
        ganrestore.load_restorer(tmp_path / "missing.onnx", device="cpu")


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # read as users do
def test_a_torchscript_file_without_a_record_says_how_to_export(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.pt"
    torch.jit.save(torch.jit.trace(nn.Conv2d(3, 3, 1), torch.rand(1, 3, 8, 8)), str(foreign))

    with pytest.raises(CheckpointError, match=r"without a ganrestore record.*ganrestore export"):
        ganrestore.load_restorer(foreign, device="cpu", trust_torchscript=True)


def test_without_the_onnx_packages_the_message_says_what_to_install(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"an ONNX model")  # onnxruntime is looked for before the file is read
    for package in ("onnxruntime", "onnxscript"):
        monkeypatch.setitem(sys.modules, package, None)  # `import PACKAGE` fails

    with pytest.raises(MissingExportDependency) as running:
        ganrestore.load_restorer(model, device="cpu")
    with pytest.raises(MissingExportDependency) as exporting:
        export_model(runs["denoise"], tmp_path / "out.onnx")
    for caught, package in ((running, "onnxruntime"), (exporting, "onnxscript")):
        message = str(caught.value)
        assert f"needs the Python package '{package}'" in message
        assert 'pip install "ganrestore[onnx]"' in message
        assert 'pip install -e ".[onnx]"' in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


class WritesOnOpen(nn.Module):
    """A scripted module whose ``__setstate__``, which ``torch.jit.load`` runs, overwrites the
    first 4 bytes of ``path`` with ``XXXX``: what any TorchScript file may do when opened."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.written = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.path, self.training = state
        self.written = int(torch.from_file(self.path, True, 4, dtype=torch.uint8).fill_(88).sum())


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # written as others do
def test_a_torchscript_file_is_not_opened_without_trust_and_the_refusal_says_why(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "notes.txt"
    victim.write_text("mine and only mine")
    hostile = tmp_path / "denoise.pt"
    torch.jit.save(torch.jit.script(WritesOnOpen(str(victim))), str(hostile))
    assert victim.read_text() == "mine and only mine"

    with pytest.raises(UntrustedTorchScriptError) as caught:
        ganrestore.load_restorer(hostile, device="cpu")
    assert victim.read_text() == "mine and only mine"  # nothing of the file ran
    message = " ".join(str(caught.value).split())
    assert isinstance(caught.value, GanrestoreError)
    for fragment in (
        str(hostile),
        "opening a TorchScript file runs code it may hold",
        "Use the model's .onnx export or its .safetensors model file instead",
        "pass --trust-torchscript (trust_torchscript=True in Python)",
    ):
        assert fragment in message, message


def resaved(file: Path, out: Path, **export: object) -> Path:
    """The TorchScript export ``file`` saved again as ``out`` with export keys changed."""
    extra = {RECORD_FILE: ""}
    module = torch.jit.load(str(file), _extra_files=extra)
    record = json.loads(extra[RECORD_FILE])
    record[EXPORT_KEY].update(export)
    torch.jit.save(module, str(out), _extra_files={RECORD_FILE: json.dumps(record)})
    return out


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # read as users do
@pytest.mark.parametrize(
    ("export", "message"),
    [
        ({"size_multiple": 8192}, "size_multiple must be a whole number from 1 to 256, got 8192"),
        ({"size_multiple": 0}, "size_multiple must be a whole number from 1 to 256, got 0"),
        ({"trace_size": 60}, "trace_size must be a whole multiple of its size_multiple 8"),
    ],
)
def test_an_export_record_claiming_sizes_out_of_bounds_is_refused(
    exported: Callable[[str, str], Path], tmp_path: Path, export: dict, message: str
) -> None:
    """Before, a claimed size multiple of 8192 padded a small photo to 11.7 GB."""
    edited = resaved(exported("denoise", "torchscript"), tmp_path / "edited.pt", **export)

    with pytest.raises(CheckpointError, match=message) as caught:
        ganrestore.load_restorer(edited, device="cpu", trust_torchscript=True)
    assert str(edited) in str(caught.value) and "export the model again" in str(caught.value)


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # read as users do
def test_an_exported_network_with_the_wrong_output_channels_is_refused(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Before, a one-channel TorchScript network gave gray 'restored' images."""
    record = read_record(parse_model_source(runs["denoise"]).model_file())
    record = record.with_extra(**{EXPORT_KEY: {"format": "torchscript", "size_multiple": 1}})
    gray = tmp_path / "gray.pt"
    traced = torch.jit.trace(nn.Conv2d(3, 1, 3, padding=1), torch.rand(1, 3, 16, 16))
    torch.jit.save(traced, str(gray), _extra_files={RECORD_FILE: record.to_json()})

    with pytest.raises(CheckpointError) as caught:
        ganrestore.load_restorer(gray, device="cpu", trust_torchscript=True)
    message = str(caught.value)
    assert str(gray) in message
    assert "returns 1 channel(s)" in message and "task 'denoise' needs 3" in message


@pytest.mark.parametrize(
    ("multiple", "said"),
    [(1, "upscale-x2' packs it, any H and W;"), (16, "H and W multiples of 16 (ganrestore pads")],
)
def test_the_graph_sizes_are_said_in_words(multiple: int, said: str) -> None:
    from ganrestore.export.exporter import ExportReport

    report = ExportReport(
        Path("m.safetensors"), Path("m.onnx"), "onnx", "upscale-x2", "upnet", 3, multiple,
        64, ((1, 64, 64),), 1e-6, 1e-4, 1000, 17, 1.0,
    )  # fmt: skip
    assert said in report.describe_io()
