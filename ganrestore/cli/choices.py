"""Option choices shared by several commands."""

from enum import Enum


class TaskChoice(str, Enum):
    denoise = "denoise"
    inpaint = "inpaint"


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"
