"""``--device`` and ``device=`` mean one thing everywhere: training, apply, eval, the library."""

from __future__ import annotations

import pytest
import torch

import ganrestore.inference
from ganrestore.devices import resolve_device
from ganrestore.engine.distributed import setup_processes
from ganrestore.errors import GanrestoreError

HAS_CUDA = torch.cuda.is_available()
HAS_MPS = torch.backends.mps.is_available()


def test_auto_prefers_cuda_then_mps_then_the_cpu() -> None:
    expected = "cuda" if HAS_CUDA else "mps" if HAS_MPS else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device().type == expected


def test_the_cpu_and_a_given_torch_device_are_taken_as_they_are() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    meta = torch.device("meta")
    assert resolve_device(meta) is meta


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x", "", "CPU"])
def test_an_unknown_name_is_refused_naming_the_option_and_the_choices(name: str) -> None:
    with pytest.raises(GanrestoreError, match=r"--device .*unknown device; use auto, cpu, cuda"):
        resolve_device(name)


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_says_what_to_use_instead(name: str) -> None:
    with pytest.raises(GanrestoreError, match=r"no CUDA GPU is visible .* --device auto or cpu"):
        resolve_device(name)


@pytest.mark.skipif(HAS_MPS, reason="this machine has an Apple GPU")
def test_mps_without_an_apple_gpu_says_what_to_use_instead() -> None:
    with pytest.raises(GanrestoreError, match=r"no Apple GPU \(MPS\) is visible .* auto or cpu"):
        resolve_device("mps")


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_is_the_current_gpu_or_the_local_ranks_one() -> None:
    assert resolve_device("cuda") == torch.device("cuda")  # no index: PyTorch's current GPU
    assert resolve_device("cuda", local_rank=0) == torch.device("cuda", 0)
    assert resolve_device("auto", local_rank=0) == torch.device("cuda", 0)
    assert resolve_device("cuda:0", local_rank=5) == torch.device("cuda", 0)  # named wins


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_a_gpu_index_beyond_the_visible_ones_is_refused() -> None:
    count = torch.cuda.device_count()
    with pytest.raises(GanrestoreError, match=rf"PyTorch sees {count} CUDA GPU"):
        resolve_device(f"cuda:{count}")
    with pytest.raises(GanrestoreError, match=rf"wants cuda:{count}"):
        resolve_device("auto", local_rank=count)


def test_training_and_the_library_resolve_the_same_device(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    trained_on = setup_processes("auto").device
    assert trained_on.type == ganrestore.inference.resolve_device("auto").type
    assert ganrestore.inference.resolve_device is resolve_device
