"""Which device a ``--device`` option (or ``device=`` argument) names, and which number format
a network runs in there: one meaning everywhere.

Training, ``apply``, ``eval``, ``serve`` and :func:`ganrestore.load_restorer` all resolve their
device and their ``precision`` here, so ``auto`` picks the same for each of them. A leaf: it
imports only torch and :mod:`ganrestore.errors`, so the engine and inference may both use it.
"""

from __future__ import annotations

import warnings

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


#: The number formats a network runs in: ``auto`` (chosen per device) or a format. Training's
#: ``precision`` setting and the ``--precision`` of ``apply`` and ``eval`` take the same names.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: The autocast type of each format other than float32.
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class SlowPrecisionWarning(UserWarning):
    """bf16 was asked for on a CPU that has no bf16 units: it runs, many times slower."""


def choose_precision(
    device: torch.device,
    asked: str = "auto",
    *,
    training: bool = False,
    option: str = "--precision",
    cpuinfo: str | None = None,
) -> str:
    """The number format a network runs in on ``device``: ``"fp32"``, ``"bf16"`` or ``"fp16"``
    (the last two under autocast, the layers that need it in float32).

    ``"auto"`` is, on a CPU, bfloat16 where the CPU computes it natively
    (:func:`cpu_has_native_bf16`; the bundled models restored 1.5 to 2.9 times faster there on
    two idle threads and up to 4.8 times on one busy thread, at the same PSNR within 0.004 dB:
    ``bench/precision.py``) and float32 elsewhere, since other CPUs emulate bfloat16 many times
    slower. On CUDA it is float16 to restore (every GPU has it) and, to train, bfloat16 where
    the GPU has it (no loss scaling) else float16. Apple's MPS runs float32.

    Args:
        device: where the network runs.
        asked: ``"auto"`` or a format of :data:`PRECISIONS`.
        training: choose for a training run rather than for restoring.
        option: how the user set ``asked`` (``--precision``; ``--set precision`` for training),
            for the messages.
        cpuinfo: the text of ``/proc/cpuinfo`` (None: read it), for a CPU.

    Raises:
        GanrestoreError: an unknown format, float16 off CUDA, or bfloat16 on MPS, named as
            ``option``.

    Warns:
        SlowPrecisionWarning: ``"bf16"`` asked for on a CPU without bf16 units (it is honoured).
    """
    if asked not in PRECISIONS:
        raise GanrestoreError(f"{option}={asked}: unknown; use {', '.join(PRECISIONS)}")
    if asked == "auto":
        if device.type == "cuda":
            return "bf16" if training and torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu" and cpu_has_native_bf16(cpuinfo):
            return "bf16"
        return "fp32"
    if asked == "fp16" and device.type != "cuda":
        raise GanrestoreError(
            f"{option}=fp16 runs on CUDA only, not on {device.type}; use bf16 or fp32"
        )
    if asked == "bf16" and device.type == "mps":
        raise GanrestoreError(f"{option}=bf16 does not run on mps; use fp32")
    if asked == "bf16" and device.type == "cpu" and not cpu_has_native_bf16(cpuinfo):
        warnings.warn(
            f"{option}=bf16 on a CPU without bf16 units (no AVX-512 BF16 or AMX): PyTorch "
            f"emulates it, many times slower than float32; use {option}=auto (or fp32)",
            SlowPrecisionWarning,
            stacklevel=2,
        )
    return asked
