"""A model file's record is checked against its weights before anything is built from it.

Each test damages a real generator file saved the way ``ganrestore train`` saves it, then loads
it the way ``ganrestore apply`` and ``ganrestore.load_restorer`` do.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

import ganrestore
from ganrestore.errors import GanrestoreError
from ganrestore.inference import NetworkRestorer
from ganrestore.inference.model_file import load_generator
from ganrestore.modelfile import (
    RECORD_METADATA_KEY,
    CheckpointError,
    ModelRecord,
    NetworkRecord,
    generator_file,
    read_record,
    save_model_file,
    tensor_shapes,
)
from ganrestore.models.networks import build_generator
from ganrestore.registry import GENERATORS

from .conftest import TINY_PARAMS, save_tiny_run


def tiny_file(tmp_path: Path) -> Path:
    return generator_file(save_tiny_run(tmp_path / "run", "denoise"))


def rewrite(
    file: Path, record_text: str | None = None, tensors: dict[str, torch.Tensor] | None = None
) -> Path:
    """Save ``file`` again with another record text and/or other tensors."""
    with safe_open(str(file), "pt") as handle:
        metadata = handle.metadata()
        saved = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    if record_text is not None:
        metadata[RECORD_METADATA_KEY] = record_text
    save_file(tensors if tensors is not None else saved, file, metadata=metadata)
    return file


def edited_record(file: Path, **changes: Any) -> str:
    """The file's record as JSON with top-level keys or generator keys (``generator__x``) set."""
    with safe_open(str(file), "pt") as handle:
        record = json.loads(handle.metadata()[RECORD_METADATA_KEY])
    for key, value in changes.items():
        if key.startswith("generator__"):
            record["generator"][key.removeprefix("generator__")] = value
        else:
            record[key] = value
    return json.dumps(record)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: "[1, 2, 3]", "record is an array, not a JSON object"),
        (lambda f: '"unet"', "record is a string, not a JSON object"),
        (lambda f: '{"task": "denoise", "generator": ', "record is not valid JSON"),
        (lambda f: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (lambda f: edited_record(f, generator__params=[4, 3]), "params must be a JSON object"),
        (lambda f: edited_record(f, generator__params="depth=3"), "got a string"),
        (lambda f: edited_record(f, generator=["unet"]), "names no task or generator"),
        (lambda f: edited_record(f, task=7), "names no task or generator"),
        (lambda f: edited_record(f, generator__name=12), "generator has no name"),
        (lambda f: edited_record(f, task="colorize"), "task 'colorize'"),
        (lambda f: edited_record(f, format_version=99), "newer ganrestore"),
        (lambda f: edited_record(f, format_version="1"), "format_version must be a whole"),
        (lambda f: edited_record(f, format="other-tool"), "not saved by ganrestore"),
        (lambda f: edited_record(f, discriminator="patchgan"), "discriminator must be a JSON"),
        (lambda f: edited_record(f, step="ten"), "step must be a whole number"),
        (lambda f: edited_record(f, metrics={"psnr": "high"}), "metrics must be a JSON object"),
        (lambda f: edited_record(f, config=[1]), "config must be a JSON object, got an array"),
        (lambda f: edited_record(f, ema="yes"), "ema must be true or false"),
        (
            lambda f: edited_record(f, generator__params={"depth": 3, "base_channels": -4}),
            "cannot be built from the params in its record",
        ),
        (
            lambda f: edited_record(f, generator__params={"depth": "three"}),
            "cannot be built from the params in its record",
        ),
    ],
)
def test_a_malformed_record_is_a_clear_error_naming_the_file(
    tmp_path: Path, damage, message: str
) -> None:
    file = tiny_file(tmp_path)
    rewrite(file, damage(file))
    with pytest.raises(CheckpointError, match=message) as caught:
        NetworkRestorer.from_checkpoint(file, "cpu")
    assert str(file) in str(caught.value)


def test_widths_the_weights_do_not_have_are_refused_before_building(tmp_path: Path) -> None:
    file = tiny_file(tmp_path)
    params = {"depth": 3, "base_channels": 768, "max_channels": 100_000, "norm": "none"}
    rewrite(file, edited_record(file, generator__params={**params, "dropout": 0.0}))
    with pytest.raises(CheckpointError, match="do not fit generator 'unet'") as caught:
        load_generator(file)
    message = str(caught.value)
    assert str(file) in message
    assert "(4, 3, 4, 4) in the file but the record makes it (768, 3, 4, 4)" in message


@pytest.mark.slow
def test_a_record_declaring_huge_widths_allocates_nothing_before_failing(tmp_path: Path) -> None:
    """Built for real, the declared network would take about 830 MB; the file holds 25 kB."""
    file = tiny_file(tmp_path)
    params = {"depth": 3, "base_channels": 768, "max_channels": 100_000, "norm": "none"}
    rewrite(file, edited_record(file, generator__params={**params, "dropout": 0.0}))
    code = f"""
import resource, torch
from ganrestore.inference import load_restorer
from ganrestore.errors import GanrestoreError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_restorer({str(file)!r}, device="cpu")
except GanrestoreError as exc:
    print("refused:", exc)
print("grew_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "refused:" in result.stdout and "do not fit generator 'unet'" in result.stdout
    grew_mb = float(result.stdout.split("grew_mb")[-1])
    assert grew_mb < 200, result.stdout


def test_weights_the_record_does_not_describe_are_named(tmp_path: Path) -> None:
    file = tiny_file(tmp_path)
    with safe_open(str(file), "pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    first = sorted(tensors)[0]
    rewrite(file, tensors={**tensors, "extra.weight": torch.zeros(2)})
    with pytest.raises(CheckpointError, match=r"the file has 'extra\.weight', which the network"):
        load_generator(file)
    rewrite(file, tensors={k: v for k, v in tensors.items() if k != first})
    with pytest.raises(CheckpointError, match=re.escape(f"the file lacks '{first}'")):
        load_generator(file)


def test_weights_holding_nan_are_refused_naming_the_file_and_tensor(tmp_path: Path) -> None:
    file = tiny_file(tmp_path)
    with safe_open(str(file), "pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    name = sorted(tensors)[-1]
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    rewrite(file, tensors=tensors)
    with pytest.raises(CheckpointError, match="NaN or infinity") as caught:
        NetworkRestorer.from_checkpoint(file, "cpu")
    assert str(file) in str(caught.value) and name in str(caught.value)


def test_shapes_are_read_from_the_header_and_a_good_file_still_loads(tmp_path: Path) -> None:
    file = tiny_file(tmp_path)
    loaded = load_generator(file)
    assert tensor_shapes(file) == {k: tuple(v.shape) for k, v in loaded.module.state_dict().items()}
    assert loaded.record.task == "denoise"
    assert loaded.record.generator == NetworkRecord(
        name="unet",
        params=TINY_PARAMS,
        distribution="ganrestore",
        version=loaded.record.generator.version,
        target="ganrestore_plugins.unet:unet",
    )
    assert loaded.task.name == "denoise" and not loaded.module.training


def test_a_damaged_record_json_file_of_a_checkpoint_folder_is_a_clear_error(
    tmp_path: Path,
) -> None:
    from ganrestore.modelfile import RECORD, read_record

    folder = generator_file(save_tiny_run(tmp_path / "run", "denoise")).parent
    (folder / RECORD).write_text("[]")
    with pytest.raises(GanrestoreError, match=re.escape(f"{folder / RECORD}: ") + ".*an array"):
        read_record(folder)


def bundled_denoise_copy(tmp_path: Path) -> Path:
    """The bundled denoise model (resunet, 96 float16 tensors, 4.8 MB), copied."""
    from ganrestore.modelfile import bundled_path

    return Path(shutil.copy(bundled_path("denoise"), tmp_path / "denoise.safetensors"))


@pytest.mark.parametrize(
    "params",
    [
        {"blocks": 1_000_000},  # the 4.8 MB file of the issue: minutes and GBs before
        {"widths": [32] * 200_000},  # levels, each one a module list of its own
    ],
)
def test_a_record_declaring_a_huge_network_is_refused_in_well_under_a_second(
    tmp_path: Path, params: dict[str, Any]
) -> None:
    file = bundled_denoise_copy(tmp_path)
    rewrite(
        file,
        edited_record(file, generator__params={**read_record(file).generator.params, **params}),
    )

    started = time.perf_counter()
    with pytest.raises(CheckpointError) as caught:
        load_generator(file)
    seconds = time.perf_counter() - started

    message = str(caught.value)
    assert str(file) in message and "generator 'resunet'" in message
    assert "96 tensors" in message and "damaged or was edited" in message
    assert seconds < 1.0, f"refused after {seconds:.1f} s"


@pytest.mark.parametrize("dtype", [torch.bool, torch.int64, torch.uint8])
def test_weights_that_are_not_floating_point_are_refused_naming_the_tensor(
    tmp_path: Path, dtype: torch.dtype
) -> None:
    """Before, boolean or integer weights loaded (as 0 and 1) and every image came out white."""
    file = tiny_file(tmp_path)
    with safe_open(str(file), "pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    name = sorted(tensors)[0]
    tensors[name] = (tensors[name] > 0).to(dtype)
    rewrite(file, tensors=tensors)

    with pytest.raises(CheckpointError, match="not floating point") as caught:
        NetworkRestorer.from_checkpoint(file, "cpu")
    message = str(caught.value)
    assert str(file) in message and f"'{name}'" in message


def test_integer_buffers_a_network_really_has_still_load(tmp_path: Path) -> None:
    """Batch norm counts its batches in an int64 buffer: a real network's integers are fine."""
    file = tmp_path / "batchnorm.safetensors"
    params = {"depth": 3, "base_channels": 4, "norm": "batch", "dropout": 0.0}
    record = ModelRecord("denoise", NetworkRecord.of_plugin(GENERATORS, "unet", params))
    torch.manual_seed(0)
    state = build_generator("unet", 3, 3, **params).state_dict()
    assert any(not value.is_floating_point() for value in state.values())
    save_model_file(file, state, record)

    loaded = load_generator(file)
    for key, value in loaded.module.state_dict().items():
        assert torch.equal(value, state[key])


class OneChannel(nn.Module):
    """A generator that ignores ``out_channels``: one gray channel, whatever the task needs."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_a_network_with_the_wrong_output_channels_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    """Before, its one channel was shown as a gray 'restored' image."""
    file = tmp_path / "gray.safetensors"
    with GENERATORS.isolated():
        GENERATORS.register("one_channel")(OneChannel)
        record = ModelRecord("denoise", NetworkRecord.of_plugin(GENERATORS, "one_channel", {}))
        save_model_file(file, OneChannel(3, 3).state_dict(), record)

        with pytest.raises(CheckpointError) as caught:
            ganrestore.load_restorer(file, device="cpu")
    message = str(caught.value)
    assert str(file) in message
    assert "1 channel" in message and "task 'denoise' needs 3" in message


class NotOnMeta(nn.Module):
    """``blocks`` 1x1 convolutions; reads a tensor's value first, so it cannot be built on the
    ``meta`` device and is built for real to learn its shapes."""

    def __init__(self, in_channels: int, out_channels: int, blocks: int = 1) -> None:
        super().__init__()
        self.gain = float(torch.ones(1).sum().item())  # fails on meta
        self.layers = nn.Sequential(
            *(nn.Conv2d(in_channels, in_channels, 1) for _ in range(blocks))
        )
        self.out = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.layers(x)) * self.gain


def test_a_network_built_for_real_is_held_to_the_same_budget(tmp_path: Path) -> None:
    file = tmp_path / "not_on_meta.safetensors"
    with GENERATORS.isolated():
        GENERATORS.register("not_on_meta")(NotOnMeta)
        record = ModelRecord("denoise", NetworkRecord.of_plugin(GENERATORS, "not_on_meta", {}))
        save_model_file(file, NotOnMeta(3, 3).state_dict(), record)
        assert load_generator(file).record.generator.name == "not_on_meta"  # it loads as saved

        rewrite(file, edited_record(file, generator__params={"blocks": 1_000_000}))
        started = time.perf_counter()
        with pytest.raises(CheckpointError, match="far larger than the weights") as caught:
            load_generator(file)
    assert time.perf_counter() - started < 1.0
    assert str(file) in str(caught.value) and "the file holds 4 tensors" in str(caught.value)
