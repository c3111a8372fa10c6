"""Where a model comes from: one parser for --model, --init and load_restorer(model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from ganrestore.modelfile import (
    GENERATOR,
    CheckpointError,
    ModelNotFoundError,
    ModelRecord,
    ModelSource,
    NetworkRecord,
    SourceKind,
    parse_model_source,
    save_model_file,
    source,
)

RECORD = ModelRecord("denoise", NetworkRecord("unet", {"depth": 3}))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run directory with one complete checkpoint (``record.json`` marks it complete)."""
    folder = tmp_path / "run" / "checkpoints" / "step-00000002"
    save_model_file(folder / GENERATOR, {"w": torch.zeros(1)}, RECORD)
    (folder / "record.json").write_text(RECORD.to_json(indent=2))
    return tmp_path / "run"


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setattr(source, "WEIGHTS_DIR", folder)
    return folder


def test_each_kind_of_source_is_recognised_and_leads_to_its_model_file(
    run: Path, weights_dir: Path
) -> None:
    checkpoint = run / "checkpoints" / "step-00000002"
    shutil.copy(checkpoint / GENERATOR, weights_dir / "denoise.safetensors")
    expected = {
        str(run): (SourceKind.RUN, checkpoint / GENERATOR),
        str(checkpoint): (SourceKind.CHECKPOINT, checkpoint / GENERATOR),
        str(checkpoint / GENERATOR): (SourceKind.FILE, checkpoint / GENERATOR),
        "denoise": (SourceKind.BUNDLED, weights_dir / "denoise.safetensors"),
    }
    for given, (kind, file) in expected.items():
        parsed = parse_model_source(given)
        assert (parsed.kind, parsed.given, parsed.model_file()) == (kind, given, file)
        assert parsed.is_network
    assert parse_model_source(run) == parse_model_source(str(run))  # a Path is the same
    baseline = parse_model_source("baseline:tv")
    assert (baseline.kind, baseline.name, baseline.is_network) == (SourceKind.BASELINE, "tv", False)
    assert parse_model_source(baseline) is baseline  # a parsed source passes through


def test_an_existing_folder_wins_over_a_bundled_name(
    run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(run, run.parent / "denoise")
    monkeypatch.chdir(run.parent)
    assert parse_model_source("denoise").kind is SourceKind.RUN


def test_a_name_that_is_nothing_says_what_would_work(weights_dir: Path) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        parse_model_source("runs/nope")
    message = str(caught.value)
    assert message.startswith("--model runs/nope: no such file or folder")
    for accepted in ("denoise, inpaint", "run directory", "checkpoint folders", "baseline:NAME"):
        assert accepted in message
    with pytest.raises(ModelNotFoundError, match="Did you mean 'denoise'"):
        parse_model_source("denose")
    with pytest.raises(ModelNotFoundError, match="Did you mean 'baseline:telea'"):
        parse_model_source("telea")


def test_init_takes_the_same_sources_but_no_baseline(run: Path) -> None:
    assert parse_model_source(str(run), what="init", baselines=False).kind is SourceKind.RUN
    with pytest.raises(ModelNotFoundError, match="init baseline:tv: a classical baseline has no"):
        parse_model_source("baseline:tv", what="init", baselines=False)
    with pytest.raises(ModelNotFoundError) as caught:
        parse_model_source("nope", what="init", baselines=False)
    assert str(caught.value).startswith("init nope: no such file or folder")
    assert "baseline" not in str(caught.value)


def test_paths_that_are_no_model_name_what_they_lack(tmp_path: Path, weights_dir: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"png")
    with pytest.raises(CheckpointError, match=r"photo\.png is not a model"):
        parse_model_source(photo)
    with pytest.raises(CheckpointError, match="neither a run directory"):
        parse_model_source(weights_dir)
    (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
    started = parse_model_source(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="no complete checkpoint yet"):
        started.model_file()
    (tmp_path / "just_begun").mkdir()
    (tmp_path / "just_begun" / "config.json").write_text('{"task": "denoise"}')  # no checkpoints/
    with pytest.raises(CheckpointError, match="no complete checkpoint yet; let `ganrestore train`"):
        parse_model_source(tmp_path / "just_begun").model_file()


def test_a_checkpoints_training_state_is_named_as_such(tmp_path: Path) -> None:
    state = tmp_path / "run" / "checkpoints" / "step-00000010" / "training_state.pt"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"optimiser state")
    with pytest.raises(ModelNotFoundError) as caught:
        parse_model_source(state).model_file()
    said = str(caught.value)
    assert "is a checkpoint's training state (for --resume), not a model" in said
    assert f"pass its checkpoint folder {state.parent}" in said and "export" not in said


def test_a_bundled_model_that_is_not_installed_says_how_to_train_one(weights_dir: Path) -> None:
    parsed = parse_model_source("inpaint")
    assert parsed == ModelSource(
        SourceKind.BUNDLED, "inpaint", weights_dir / "inpaint.safetensors", "inpaint"
    )
    with pytest.raises(ModelNotFoundError, match="ganrestore train inpaint --data DIR"):
        parsed.model_file()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (123, "got int 123"),
        (None, "got NoneType"),
        ("baseline:", "name the baseline, e.g. baseline:"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(model: object, message: str) -> None:
    with pytest.raises(ModelNotFoundError, match=message):
        parse_model_source(model)  # type: ignore[arg-type]
