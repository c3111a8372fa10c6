"""``--device`` and ``device=`` mean one thing everywhere: training, apply, eval, the library."""

from __future__ import annotations

import pytest
import torch

import ganrestore.inference
from ganrestore.devices import (
    SlowPrecisionWarning,
    choose_precision,
    cpu_has_native_bf16,
    resolve_device,
)
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


AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16 amx_bf16\n"
CPU = torch.device("cpu")


def test_native_bf16_is_read_from_the_cpu_flags() -> None:
    assert cpu_has_native_bf16(AMX)
    assert cpu_has_native_bf16("flags : avx2 avx512_bf16")
    assert cpu_has_native_bf16("flags : avx2 amx_bf16 amx_tile")
    assert not cpu_has_native_bf16(AVX2_ONLY)
    assert not cpu_has_native_bf16("")  # unreadable: float32


def test_auto_precision_is_float16_on_cuda_bfloat16_on_a_native_bf16_cpu_else_float32() -> None:
    assert choose_precision(CPU, "auto", cpuinfo=AMX) == "bf16"
    assert choose_precision(CPU, "auto", cpuinfo=AVX2_ONLY) == "fp32"  # emulated: slow
    assert choose_precision(torch.device("cuda"), "auto") == "fp16"
    assert choose_precision(torch.device("mps"), "auto") == "fp32"


def test_training_and_restoring_choose_alike_except_on_cuda() -> None:
    for cpuinfo in (AMX, AVX2_ONLY):
        assert choose_precision(CPU, training=True, cpuinfo=cpuinfo) == choose_precision(
            CPU, cpuinfo=cpuinfo
        )
    # training prefers bf16 (no loss scaling) where the GPU has it; restoring uses fp16
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    assert choose_precision(torch.device("cuda"), training=True) == expected


def test_a_precision_is_taken_as_asked_where_the_device_runs_it() -> None:
    assert choose_precision(CPU, "fp32", cpuinfo=AVX2_ONLY) == "fp32"
    assert choose_precision(CPU, "bf16", cpuinfo=AMX) == "bf16"
    assert choose_precision(torch.device("cuda"), "bf16") == "bf16"


def test_bf16_on_a_cpu_without_bf16_units_runs_and_says_it_is_slow() -> None:
    with pytest.warns(SlowPrecisionWarning, match=r"--set precision=bf16 .*many times slower"):
        assert choose_precision(CPU, "bf16", option="--set precision", cpuinfo=AVX2_ONLY) == "bf16"


@pytest.mark.parametrize(
    ("device", "asked", "message"),
    [
        ("cpu", "fp16", "--precision=fp16 runs on CUDA only, not on cpu; use bf16 or fp32"),
        ("mps", "bf16", "--precision=bf16 does not run on mps; use fp32"),
        ("cpu", "int8", "--precision=int8: unknown; use auto, fp32, bf16, fp16"),
    ],
)
def test_a_precision_the_device_cannot_run_is_refused_naming_the_option(
    device: str, asked: str, message: str
) -> None:
    with pytest.raises(GanrestoreError) as caught:
        choose_precision(torch.device(device), asked)
    assert str(caught.value) == message
