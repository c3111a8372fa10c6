"""Which device a ``--device`` option (or ``device=`` argument) names: one meaning everywhere.

Training, ``apply``, ``eval``, ``serve`` and :func:`ganrestore.load_restorer` all resolve their
device here, so ``auto`` picks the same device for each of them. A leaf: it imports only torch
and :mod:`ganrestore.errors`, so the engine and inference may both use it.
"""

from __future__ import annotations

import torch

from ganrestore.errors import GanrestoreError

#: What ``--device`` accepts, for messages.
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(
    name: str | torch.device = "auto", local_rank: int | None = None
) -> torch.device:
    """The device ``name`` means on this machine, checked to be there.

    Args:
        name: ``"auto"`` (CUDA when PyTorch sees a GPU, then Apple's MPS, then the CPU),
            ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; a ``torch.device`` is taken as it
            is.
        local_rank: this process's GPU under ``torchrun`` (``LOCAL_RANK``): ``auto`` and
            ``cuda`` then mean ``cuda:<local_rank>``. ``None``: PyTorch's current CUDA device
            (``torch.device("cuda")``, no index).

    Returns:
        The device; ``cuda`` ones carry an index when ``name`` or ``local_rank`` gives one.

    Raises:
        GanrestoreError: ``name`` is not one of the choices, or names a device PyTorch cannot
            see here (the message names ``--device`` and says what to use instead).
    """
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        name = next(kind for kind in ("cuda", "mps", "cpu") if _available(kind))
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise GanrestoreError(f"--device {name}: unknown device; use {DEVICE_CHOICES}")
    if not _available(device.type):
        seen = "no CUDA GPU" if device.type == "cuda" else "no Apple GPU (MPS)"
        raise GanrestoreError(
            f"--device {name}: {seen} is visible to PyTorch here; use --device auto or cpu"
        )
    if device.type == "cuda":
        return _cuda(device.index if device.index is not None else local_rank, name)
    return device


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        return mps is not None and mps.is_available()
    return True


def _cuda(index: int | None, name: str) -> torch.device:
    """``cuda:index`` (``cuda`` when ``index`` is None), refused when there is no such GPU."""
    if index is None:
        return torch.device("cuda")
    count = torch.cuda.device_count()
    if index >= count:
        raise GanrestoreError(
            f"--device {name}: this process wants cuda:{index} but PyTorch sees {count} CUDA "
            f"GPU(s) (cuda:0 to cuda:{count - 1}); pick one of those, or start fewer processes"
        )
    return torch.device("cuda", index)


#: CPU flags (Linux ``/proc/cpuinfo``) of native bfloat16 arithmetic: AVX-512 BF16 and AMX.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX).

    Without those units PyTorch emulates bf16 and a training step is many times slower than in
    float32. Read from ``/proc/cpuinfo`` (or the text given); False where it cannot be read
    (other systems), so that ``precision = "auto"`` falls back to float32.
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags") and ":" in line:
            return bool(BF16_CPU_FLAGS & set(line.split(":", 1)[1].split()))
    return False


#: What ``--precision`` of ``apply`` and ``eval`` accepts: ``auto`` or a number format.
INFERENCE_PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: The autocast type of each format other than float32.
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def inference_precision(
    device: torch.device, asked: str = "auto", cpuinfo: str | None = None
) -> str:
    """The number format a network restores in on ``device``: ``"fp32"``, ``"bf16"`` or
    ``"fp16"`` (the last two under autocast, the layers that need it in float32).

    ``"auto"`` is float16 on CUDA, bfloat16 on a CPU that computes it natively
    (:func:`cpu_has_native_bf16`; the bundled models ran 1.5 to 2.9 times faster there on two
    idle threads and up to 4.8 times on one busy thread, at the same PSNR within 0.004 dB:
    ``bench/precision.py``), and float32 everywhere else (other
    CPUs emulate bfloat16, many times slower; Apple's MPS).

    Args:
        device: where the network runs.
        asked: ``"auto"`` or a format of :data:`INFERENCE_PRECISIONS`.
        cpuinfo: the text of ``/proc/cpuinfo`` (None: read it), for ``"auto"`` on a CPU.

    Raises:
        GanrestoreError: an unknown format, float16 off CUDA, or bfloat16 on MPS; named as
            ``--precision``.
    """
    if asked not in INFERENCE_PRECISIONS:
        raise GanrestoreError(
            f"--precision {asked}: unknown; use {', '.join(INFERENCE_PRECISIONS)}"
        )
    if asked == "auto":
        if device.type == "cuda":
            return "fp16"
        if device.type == "cpu" and cpu_has_native_bf16(cpuinfo):
            return "bf16"
        return "fp32"
    if asked == "fp16" and device.type != "cuda":
        raise GanrestoreError(
            f"--precision fp16 runs on CUDA only, not on {device.type}; use bf16 or fp32"
        )
    if asked == "bf16" and device.type == "mps":
        raise GanrestoreError("--precision bf16 does not run on mps; use fp32")
    return asked
