"""Let a CPU process that runs a network again and again keep the memory it frees.

A training step, or a forward pass of ``apply`` over a tile, allocates and frees the same large
buffers every time: weight gradients (one 32 MB tensor per inner U-Net layer), oneDNN's
reordered weights, activations (128 MB per 32-channel feature map of a 1024² tile). glibc's
``malloc`` serves any block above its mmap threshold (at most 32 MB, adjusted on the fly) with
a fresh ``mmap`` and returns it to the kernel on ``free``, so the next step or tile faults every
page of it in again, zero-filled by the kernel: on a 2-vCPU virtual machine that was ~0.1 s of
system time per pix2pix step, oneDNN's weight reorders ran ~2x slower into fresh pages than
into reused ones, and the bundled denoiser took 18-22 s instead of 14-15 s for a 12 MP photo.
Raising the mmap and trim thresholds keeps freed blocks in the heap, where the next step finds
them; the process's resident memory then stays at its peak instead of breathing with every
step, which such a process reaches on its first step anyway.

Who calls it: ``ganrestore train`` (:func:`~ganrestore.engine.components.build_components`)
and the ``apply`` and ``eval`` commands, on a CPU. A library user's process is left as it is;
a program that restores many images with :func:`ganrestore.load_restorer` may call
:func:`keep_freed_memory` itself.
"""

from __future__ import annotations

import ctypes
import platform
import sys

#: ``mallopt`` parameters (``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap, not from a fresh ``mmap``; glibc before 2.26
#: accepts at most 32 MB (``DEFAULT_MMAP_THRESHOLD_MAX`` on 64-bit), tried second.
MMAP_THRESHOLDS = (1 << 30, 32 << 20)
#: Free memory at the top of the heap given back to the kernel only above this size.
TRIM_THRESHOLD = (1 << 31) - 1


def keep_freed_memory() -> bool:
    """Tune this process's glibc ``malloc`` to reuse freed blocks instead of unmapping them.

    Process-wide and idempotent; a no-op (returning ``False``) anywhere but Linux with glibc.
    Only a process that runs networks on a CPU should call it: it trades returning memory to
    the system between steps for not faulting it in again.

    Returns:
        Whether both thresholds were set.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mmap_set = any(libc.mallopt(_M_MMAP_THRESHOLD, size) == 1 for size in MMAP_THRESHOLDS)
    trim_set = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return mmap_set and trim_set


def keep_freed_memory_on_cpu(device: object) -> bool:
    """:func:`keep_freed_memory` when ``device`` is the CPU; nothing for any other device.

    Args:
        device: a ``torch.device`` or its name (``"cpu"``, ``"cuda:0"``, ...).

    Returns:
        Whether the allocator was tuned.
    """
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    return kind == "cpu" and keep_freed_memory()


def give_back_freed_memory() -> bool:
    """Return the heap's free pages to the kernel now (glibc ``malloc_trim``).

    For a step that follows a large forward pass and allocates buffers of other sizes (the
    texture copied into a 12 MP photo's fill): with :func:`keep_freed_memory` in force those
    buffers would come on top of the pass's kept memory instead of out of it. The next pass
    faults its pages in again, so call it only where the memory matters more than that time.
    A no-op (returning ``False``) anywhere but Linux with glibc.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim(0) == 1
    except (OSError, AttributeError):
        return False
