"""A model file: safetensors weights plus a typed record, written atomically, checked on read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganrestore.modelfile import (
    FORMAT,
    FORMAT_VERSION,
    RECORD_METADATA_KEY,
    CheckpointError,
    ModelRecord,
    NetworkRecord,
    TrainingSummary,
    load_tensors,
    read_record,
    save_model_file,
)
from ganrestore.registry import GENERATORS

RECORD = ModelRecord(
    task="inpaint",
    generator=NetworkRecord("unet", {"depth": 3}, "ganrestore", "0.1.0", "pkg.unet:unet"),
    discriminator=NetworkRecord("patchgan", {"width": 8}),
    training=TrainingSummary(
        step=7, metrics={"psnr": 31.5}, config={"seed": 1}, ema=True, torch_version="2.4.0"
    ),
    extra={"bundled_name": "inpaint"},
)
WEIGHTS = {"conv.weight": torch.arange(6.0).reshape(2, 3), "steps": torch.tensor([3])}


def stored_json(file: Path) -> dict:
    with safe_open(str(file), "pt") as handle:
        return json.loads(handle.metadata()[RECORD_METADATA_KEY])


def test_a_saved_file_gives_back_its_weights_and_record(tmp_path: Path) -> None:
    file = save_model_file(tmp_path / "sub" / "model.safetensors", WEIGHTS, RECORD)
    assert read_record(file) == RECORD
    loaded = load_tensors(file)
    assert loaded.keys() == WEIGHTS.keys()
    assert all(torch.equal(loaded[key], value) for key, value in WEIGHTS.items())
    assert [path.name for path in file.parent.iterdir()] == ["model.safetensors"]  # no temporary


def test_the_record_is_stored_in_format_1_layout(tmp_path: Path) -> None:
    """Flat keys, as every file since the first release holds them."""
    stored = stored_json(save_model_file(tmp_path / "m.safetensors", WEIGHTS, RECORD))
    assert stored == {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": "inpaint",
        "generator": {
            "name": "unet",
            "params": {"depth": 3},
            "distribution": "ganrestore",
            "version": "0.1.0",
            "target": "pkg.unet:unet",
        },
        "discriminator": {
            "name": "patchgan",
            "params": {"width": 8},
            "distribution": None,
            "version": None,
            "target": None,
        },
        "step": 7,
        "metrics": {"psnr": 31.5},
        "config": {"seed": 1},
        "ema": True,
        "torch_version": "2.4.0",
        "bundled_name": "inpaint",
    }


def test_saving_again_replaces_the_file_whole(tmp_path: Path) -> None:
    file = save_model_file(tmp_path / "m.safetensors", WEIGHTS, RECORD)
    save_model_file(file, {"other": torch.ones(1)}, RECORD.at_step(8))
    assert read_record(file).step == 8 and set(load_tensors(file)) == {"other"}


def test_unknown_keys_survive_a_round_trip(tmp_path: Path) -> None:
    file = tmp_path / "m.safetensors"
    text = json.dumps({**RECORD.to_dict(), "made_by": {"tool": "x"}})
    save_file(WEIGHTS, file, metadata={RECORD_METADATA_KEY: text})
    record = read_record(file)
    assert record.extra == {"bundled_name": "inpaint", "made_by": {"tool": "x"}}
    assert stored_json(save_model_file(file, WEIGHTS, record))["made_by"] == {"tool": "x"}


def test_a_file_from_a_newer_ganrestore_says_to_upgrade(tmp_path: Path) -> None:
    file = tmp_path / "future.safetensors"
    newer = {"format": FORMAT, "format_version": FORMAT_VERSION + 1, "weights": "elsewhere"}
    save_file(WEIGHTS, file, metadata={RECORD_METADATA_KEY: json.dumps(newer)})
    expected = (
        f"{file} was saved by a newer ganrestore (format {FORMAT_VERSION + 1}; this one reads "
        f"up to {FORMAT_VERSION}): upgrade ganrestore"
    )
    with pytest.raises(CheckpointError, match=re.escape(expected)):
        read_record(file)


def test_a_network_record_names_where_its_plugin_came_from() -> None:
    record = NetworkRecord.of_plugin(GENERATORS, "unet", {"depth": 3})
    assert (record.name, record.params, record.distribution) == ("unet", {"depth": 3}, "ganrestore")
    assert record.target == "ganrestore_plugins.unet:unet"
    assert record.source().startswith("ganrestore ")


def test_records_from_older_writers_default_what_they_lack(tmp_path: Path) -> None:
    """A record with only task and generator (as early benchmarks wrote) still loads."""
    file = tmp_path / "m.safetensors"
    minimal = {"task": "denoise", "generator": {"name": "unet"}}
    save_file(WEIGHTS, file, metadata={RECORD_METADATA_KEY: json.dumps(minimal)})
    record = read_record(file)
    assert record == ModelRecord("denoise", NetworkRecord("unet"))
    assert record.step is None and record.training.metrics == {}
