"""Option choices shared by several commands."""

from enum import Enum

SELF_ENSEMBLE_HELP = (
    "Average each network's output over the 8 rotated and mirrored views of every image: "
    "8x the time, a slightly better result (+0.05 to +0.25 dB PSNR for the bundled models)."
)
TRUST_TORCHSCRIPT_HELP = (
    "Open a TorchScript --model (.pt, .ts). Opening one runs code it holds, which can read or "
    "overwrite your files: pass it only for a file you trust. Without it such a file is "
    "refused; .onnx and .safetensors models hold data only and need no such trust."
)


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"
