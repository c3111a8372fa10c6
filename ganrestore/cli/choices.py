"""Option choices shared by several commands."""

from enum import Enum

SELF_ENSEMBLE_HELP = (
    "Average each network's output over the 8 rotated and mirrored views of every image: "
    "8x the time, a slightly better result (+0.1 to +0.25 dB PSNR for the bundled models)."
)


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"
