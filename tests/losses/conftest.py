"""Fixtures of the loss tests: an empty torch hub cache and a registry that tests may fill."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ganrestore.registry import LOSSES


@pytest.fixture
def hub_dir(tmp_path: Path) -> Iterator[Path]:
    """``torch.hub.get_dir()`` is an empty temporary folder during the test, then restored.

    Perceptual losses look for backbone weights under ``<hub>/checkpoints``; a test must never
    depend on (or write into) the real cache of the machine running it.
    """
    previous = torch.hub.get_dir()
    directory = tmp_path / "hub"
    torch.hub.set_dir(str(directory))
    try:
        yield directory
    finally:
        torch.hub.set_dir(previous)


@pytest.fixture
def scratch_losses() -> Iterator[None]:
    """Registrations into ``LOSSES`` made by the test are forgotten after it."""
    with LOSSES.isolated():
        yield


@pytest.fixture
def generator() -> torch.Generator:
    """A seeded generator: every random tensor of a test comes from it."""
    return torch.Generator().manual_seed(0)
