"""Option choices shared by several commands."""

from enum import Enum

from ganrestore.modelfile.source import BUNDLED_MODELS

#: The bundled models, for help texts: "denoise, inpaint, upscale-x2, upscale-x4".
BUNDLED_NAMES = ", ".join(BUNDLED_MODELS)
#: The tasks, for help texts: the bundled models' (each built-in task has one) and plugins'.
TASK_NAMES_HELP = f"{BUNDLED_NAMES} or a plugin's task (ganrestore plugins list)"

SELF_ENSEMBLE_HELP = (
    "Average each network's output over the 8 rotated and mirrored views of every image: "
    "8x the time, a slightly better result (+0.05 to +0.25 dB PSNR for the bundled models)."
)
TRUST_TORCHSCRIPT_HELP = (
    "Open a TorchScript --model (.pt, .ts). Opening one runs code it holds, which can read or "
    "overwrite your files: pass it only for a file you trust. Without it such a file is "
    "refused; .onnx and .safetensors models hold data only and need no such trust."
)

PRECISION_HELP = (
    "The number format networks run in. auto: float16 on CUDA, bfloat16 on a CPU that computes "
    "it natively (AVX-512 BF16 or AMX: the bundled models run 1.5 to 3 times faster than in "
    "float32, at the same quality), else float32."
)


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class PrecisionChoice(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"
