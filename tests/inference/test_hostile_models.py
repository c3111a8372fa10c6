"""A model file's record is checked against its weights before anything is built from it.

Each test damages a real generator file saved the way ``ganrestore train`` saves it, then loads
it the way ``ganrestore apply`` and ``ganrestore.load_restorer`` do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganrestore.errors import GanrestoreError
from ganrestore.inference import NetworkRestorer
from ganrestore.inference.model_file import load_generator
from ganrestore.modelfile import (
    RECORD_METADATA_KEY,
    CheckpointError,
    NetworkRecord,
    generator_file,
    tensor_shapes,
)

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
