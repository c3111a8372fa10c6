"""A CPU training or apply process keeps the memory it frees: large buffers are reused, not
faulted in afresh from the kernel every time."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from ganrestore.cpu_memory import keep_freed_memory

GLIBC = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"

# Page faults of allocating, filling and freeing a 64 MB tensor (over glibc's default mmap
# threshold), a few times before and 30 times after the tuning (the heap takes up to ~8 rounds
# to hold a free block large enough for the aligned request); run in a fresh interpreter, as
# the tuning is process-wide and other tests' allocations must not decide when it settles.
PROBE = """
import resource, torch
from ganrestore.cpu_memory import keep_freed_memory

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = torch.empty(16 << 20).fill_(1.0)
    del buffer
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

untuned = [faults() for _ in range(3)]
assert keep_freed_memory()
tuned = [faults() for _ in range(30)]
print(min(untuned), max(tuned[-5:]))
"""


@pytest.mark.slow
@pytest.mark.skipif(not GLIBC, reason="tunes glibc's malloc")
def test_freed_blocks_are_reused_instead_of_faulted_in_again() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    untuned, tuned = map(int, done.stdout.split())
    # Untuned, each buffer comes from a fresh mmap (16k faults with 4 KB pages, 32 with
    # transparent huge pages); tuned, the heap keeps it and it comes back (all but) fault-free.
    assert tuned * 10 < untuned


def test_it_is_a_no_op_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_freed_memory() is False


def test_only_a_cpu_device_tunes_the_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from ganrestore import cpu_memory

    tuned = []
    monkeypatch.setattr(cpu_memory, "keep_freed_memory", lambda: tuned.append(True) or True)
    assert cpu_memory.keep_freed_memory_on_cpu(torch.device("meta")) is False
    assert cpu_memory.keep_freed_memory_on_cpu("cuda:1") is False
    assert tuned == []
    assert cpu_memory.keep_freed_memory_on_cpu(torch.device("cpu")) is True
    assert cpu_memory.keep_freed_memory_on_cpu("cpu") is True
    assert tuned == [True, True]
