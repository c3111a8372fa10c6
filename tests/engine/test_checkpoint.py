"""Checkpoints are complete, atomic, self-describing and never unpickle code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganrestore import modelfile
from ganrestore.engine import checkpoint as ckpt
from ganrestore.modelfile import ModelRecord, NetworkRecord

RECORD = ModelRecord("denoise", NetworkRecord("unet", {"depth": 3}))


def _save(run: Path, step: int, keep: int = 2) -> Path:
    weights = {"layer.weight": torch.full((2, 3), float(step))}
    return ckpt.save_checkpoint(
        run,
        step,
        {modelfile.GENERATOR: weights, modelfile.GENERATOR_RAW: weights},
        {"step": step, "rng_cpu": torch.get_rng_state(), "optimizers": {"g": {"lr": 0.1}}},
        RECORD,
        keep=keep,
    )


def test_a_checkpoint_holds_weights_state_and_record(tmp_path: Path) -> None:
    folder = _save(tmp_path, 5)
    assert folder == tmp_path / "checkpoints" / "step-00000005"
    assert modelfile.latest_checkpoint(tmp_path) == folder
    assert modelfile.read_record(folder) == RECORD.at_step(5)
    assert json.loads((folder / modelfile.RECORD).read_text())["format"] == modelfile.FORMAT
    tensors = modelfile.load_tensors(folder / modelfile.GENERATOR)
    assert torch.equal(tensors["layer.weight"], torch.full((2, 3), 5.0))
    assert ckpt.load_training_state(folder)["optimizers"] == {"g": {"lr": 0.1}}


def test_the_generator_file_alone_describes_its_model(tmp_path: Path) -> None:
    folder = _save(tmp_path, 3)
    for name in (modelfile.GENERATOR, modelfile.GENERATOR_RAW):
        assert modelfile.read_record(folder / name) == RECORD.at_step(3)


def test_only_the_newest_checkpoints_are_kept(tmp_path: Path) -> None:
    for step in (1, 2, 3, 4):
        _save(tmp_path, step, keep=2)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert kept == ["step-00000003", "step-00000004"]


def test_an_unfinished_checkpoint_is_ignored(tmp_path: Path) -> None:
    _save(tmp_path, 2)
    unfinished = tmp_path / "checkpoints" / "step-00000004"
    unfinished.mkdir()  # as if killed before record.json was written
    (tmp_path / "checkpoints" / modelfile.LATEST).write_text("{broken")
    assert modelfile.latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "step-00000002"


@pytest.mark.parametrize("named", ["../../elsewhere/step-00000009", "/abs/step-9", "..", "outside"])
def test_latest_json_never_points_outside_the_run(tmp_path: Path, named: str) -> None:
    run = tmp_path / "run"
    _save(run, 2)
    elsewhere = _save(tmp_path / "elsewhere", 9)  # a complete checkpoint of another run
    assert elsewhere.is_dir()
    (run / "checkpoints" / modelfile.LATEST).write_text(json.dumps({"path": named}))
    assert modelfile.latest_checkpoint(run) == run / "checkpoints" / "step-00000002"


def test_a_checkpoint_that_is_a_link_out_of_the_run_is_not_followed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _save(run, 2)
    elsewhere = _save(tmp_path / "elsewhere", 9)
    (run / "checkpoints" / "step-00000009").symlink_to(elsewhere, target_is_directory=True)
    (run / "checkpoints" / modelfile.LATEST).write_text(json.dumps({"path": "step-00000009"}))
    assert modelfile.latest_checkpoint(run) == run / "checkpoints" / "step-00000002"


def test_saving_the_same_step_again_replaces_it(tmp_path: Path) -> None:
    _save(tmp_path, 2)
    folder = _save(tmp_path, 2)
    assert json.loads((folder / modelfile.RECORD).read_text())["step"] == 2
    assert not list((tmp_path / "checkpoints").glob(".old-*"))


def test_foreign_files_are_refused_with_their_path(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(1)}, foreign)
    with pytest.raises(modelfile.CheckpointError, match=r"foreign\.safetensors has no ganrestore"):
        modelfile.read_record(foreign)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file")
    with pytest.raises(modelfile.CheckpointError, match=r"garbage\.safetensors is not a readable"):
        modelfile.read_record(garbage)


def test_training_state_with_code_in_it_is_refused(tmp_path: Path) -> None:
    folder = _save(tmp_path, 1)
    torch.save({"evil": print}, folder / ckpt.TRAINING_STATE)  # a pickled function
    with pytest.raises(Exception, match=r"(?i)weights_only|unsupported"):
        ckpt.load_training_state(folder)
