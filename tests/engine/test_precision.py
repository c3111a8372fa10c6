"""precision = "auto" picks bf16 on a CPU only where the CPU computes it natively."""

from __future__ import annotations

import pytest
import torch

from ganrestore.devices import cpu_has_native_bf16
from ganrestore.engine.components import SlowPrecisionWarning, resolve_precision

CPU = torch.device("cpu")
AVX512_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n"
AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


def test_native_bf16_is_read_from_the_cpu_flags() -> None:
    assert cpu_has_native_bf16(AVX512_BF16)
    assert cpu_has_native_bf16("flags : avx2 amx_bf16 amx_tile")
    assert not cpu_has_native_bf16(AVX2_ONLY)
    assert not cpu_has_native_bf16("")  # unreadable: float32


def test_auto_is_bf16_only_on_a_cpu_with_bf16_units() -> None:
    assert resolve_precision("auto", CPU, native_bf16=True) is torch.bfloat16
    assert resolve_precision("auto", CPU, native_bf16=False) is None
    assert resolve_precision("fp32", CPU, native_bf16=True) is None


def test_bf16_on_a_cpu_without_bf16_units_runs_and_warns() -> None:
    with pytest.warns(SlowPrecisionWarning, match="many times slower"):
        assert resolve_precision("bf16", CPU, native_bf16=False) is torch.bfloat16
