"""Typed training configuration, loaded from TOML with every key and type checked.

A config is a tree of frozen dataclasses. :func:`load_config` starts from a task's ready config
(``configs/denoise.toml``, ``configs/inpaint.toml``), merges a user's TOML file and ``--set
key=value`` overrides on top, and converts the result; an unknown key or a wrong type is a
:class:`ConfigError` naming the key's full path (``loss.terms.l1``) and where it came from.
String keys never travel past this module.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tomllib

from ganrestore.errors import GanrestoreError


class ConfigError(GanrestoreError):
    """A config file or override has an unknown key, a wrong type or an impossible value."""


@dataclass(frozen=True)
class NetworkConfig:
    """A network plugin by registry name and its factory parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataConfig:
    """How training images are read, cropped and degraded."""

    crop: int = 128  # square training crops, in pixels
    batch_size: int = 8  # per process
    workers: int = 2  # DataLoader worker processes (0 = load in the main process)
    val_fraction: float = 0.1  # hold-out share when DIR/val/ does not exist
    val_size: int = 256  # validation images are centre-cropped (or padded) to this size
    val_images: int = 16  # validate on at most this many images
    sigma_range: tuple[float, float] = (0.0, 55.0)  # denoise: Gaussian σ range, 0–255 scale
    poisson: bool = False  # denoise: add Poisson (shot) noise as well
    gray_share: float = 0.0  # denoise: share of crops made gray, with the same noise in R, G, B
    mask_kind: Literal["box", "free", "mixed"] = "mixed"  # inpaint: synthetic hole shapes
    hole_ratio: tuple[float, float] = (0.05, 0.4)  # inpaint: share of the image in holes
    max_bad_fraction: float = 0.1  # stop when more than this share of files is unreadable


@dataclass(frozen=True)
class LossConfig:
    """Which losses train the generator and discriminator, with their weights (0 = off)."""

    adversarial: str = "vanilla"  # an ADVERSARIAL_LOSSES name: vanilla, lsgan, hinge
    adversarial_weight: float = 1.0
    terms: dict[str, float] = field(default_factory=lambda: {"l1": 100.0})
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-term factory params
    r1_weight: float = 0.0  # R1 gradient penalty on real images
    conditional: bool = True  # the discriminator sees (input, image) pairs, as in pix2pix


@dataclass(frozen=True)
class OptimConfig:
    """Adam optimisers, learning-rate schedule and stabilisers."""

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    schedule: Literal["constant", "linear", "cosine"] = "linear"
    decay_start: float = 0.5  # linear: share of the steps trained at the full rate
    grad_clip: float = 0.0  # max gradient norm, 0 = no clipping
    d_steps_per_g: int = 1  # discriminator updates per generator update
    ema_decay: float = 0.999  # EMA of the generator's weights, 0 = off
    max_nonfinite_steps: int = 10  # stop after this many consecutive NaN/Inf losses


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs besides the data folder."""

    task: Literal["denoise", "inpaint"]
    generator: NetworkConfig
    discriminator: NetworkConfig
    steps: int = 20_000
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16 on CUDA, else fp32
    channels_last: bool = False
    log_every: int = 50
    validate_every: int = 1000
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    # Weights to start from (fine-tuning): a run dir, checkpoint folder or generator file, or a
    # bundled model name; "" starts from random weights. See ganrestore/engine/warm_start.py.
    init: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), ready for JSON or TOML."""
        return _plain(dataclasses.asdict(self))


TASKS = ("denoise", "inpaint")


def bundled_config_path(name: str) -> Path:
    """Path of a ready config shipped with ganrestore, e.g. ``"denoise"`` or ``"pix2pix"``."""
    path = Path(str(resources.files("ganrestore") / "configs" / f"{name}.toml"))
    if not path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.toml"))
        raise ConfigError(f"no ready config '{name}'; available: {', '.join(available)}")
    return path


def load_config(
    task: str,
    config_file: Path | None = None,
    overrides: Sequence[str] = (),
    saved: Mapping[str, Any] | None = None,
    **cli_values: Any,
) -> TrainConfig:
    """Build the config of a run.

    Args:
        task: ``"denoise"`` or ``"inpaint"``; its ready config is the base.
        config_file: a TOML file replacing the ready config (missing keys take the defaults).
        overrides: ``"key.path=value"`` strings (values in TOML syntax; bare words are strings).
        saved: a resumed run's own config (``TrainConfig.to_dict()``), used instead of a file.
        **cli_values: dotted key -> value for CLI options such as ``steps`` or
            ``data.batch_size``; ``None`` values are ignored.

    Raises:
        ConfigError: naming the key, the file and what is wrong.
    """
    if task not in TASKS:
        raise ConfigError(f"unknown task '{task}'; choose one of: {', '.join(TASKS)}")
    if saved is not None:
        source: Path | str = "the run's saved config"
        data = copy.deepcopy(dict(saved))
    else:
        source = config_file if config_file is not None else bundled_config_path(task)
        data = read_toml(source)
    file_task = data.get("task", task)
    if file_task != task:
        raise ConfigError(
            f"{source} is a config for task '{file_task}', not '{task}'; "
            f'run `ganrestore train {file_task}` or set task = "{task}" in the file'
        )
    data["task"] = task
    origin = str(source)
    for key, value in cli_values.items():
        if value is not None:
            set_path(data, key, value)
            origin = f"{source} (with command-line options)"
    for item in overrides:
        key, value = parse_override(item)
        set_path(data, key, value)
        origin = f"{source} (with command-line options)"
    config = from_dict(TrainConfig, data, origin=origin)
    check_values(config, origin)
    return config


def check_values(config: TrainConfig, origin: str) -> None:
    """Refuse values that type-check but cannot work, naming the key."""
    data, optim = config.data, config.optim
    rules = [
        ("steps", config.steps >= 1, "at least 1"),
        ("log_every", config.log_every >= 1, "at least 1"),
        ("validate_every", config.validate_every >= 1, "at least 1"),
        ("checkpoint_every", config.checkpoint_every >= 1, "at least 1"),
        ("keep_checkpoints", config.keep_checkpoints >= 1, "at least 1"),
        ("data.crop", data.crop >= 16, "at least 16 pixels"),
        ("data.batch_size", data.batch_size >= 1, "at least 1"),
        ("data.workers", data.workers >= 0, "0 or more"),
        ("data.val_fraction", 0.0 <= data.val_fraction < 1.0, "in [0, 1)"),
        ("data.val_size", data.val_size >= 16, "at least 16 pixels"),
        ("data.val_images", data.val_images >= 1, "at least 1"),
        ("data.sigma_range", 0 <= data.sigma_range[0] <= data.sigma_range[1], "0 <= low <= high"),
        ("data.gray_share", 0.0 <= data.gray_share <= 1.0, "in [0, 1]"),
        (
            "data.hole_ratio",
            0 <= data.hole_ratio[0] <= data.hole_ratio[1] < 1,
            "0 <= low <= high < 1",
        ),
        ("data.max_bad_fraction", 0.0 <= data.max_bad_fraction <= 1.0, "in [0, 1]"),
        ("loss.adversarial_weight", config.loss.adversarial_weight >= 0, "0 or more"),
        ("loss.r1_weight", config.loss.r1_weight >= 0, "0 or more"),
        ("optim.lr_g", optim.lr_g > 0, "positive"),
        ("optim.lr_d", optim.lr_d > 0, "positive"),
        ("optim.betas", all(0 <= b < 1 for b in optim.betas), "in [0, 1)"),
        ("optim.decay_start", 0.0 <= optim.decay_start <= 1.0, "in [0, 1]"),
        ("optim.grad_clip", optim.grad_clip >= 0, "0 (off) or positive"),
        ("optim.d_steps_per_g", optim.d_steps_per_g >= 1, "at least 1"),
        ("optim.ema_decay", 0.0 <= optim.ema_decay < 1.0, "in [0, 1)"),
        ("optim.max_nonfinite_steps", optim.max_nonfinite_steps >= 1, "at least 1"),
    ]
    rules += [(f"loss.terms.{k}", w >= 0, "0 or more") for k, w in config.loss.terms.items()]
    for key, ok, expected in rules:
        if not ok:
            raise ConfigError(f"{origin}: '{key}' must be {expected}")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a :class:`ConfigError` naming the file."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def parse_override(item: str) -> tuple[str, Any]:
    """``"optim.lr_g=1e-4"`` -> ``("optim.lr_g", 0.0001)``; bare words stay strings."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got '{item}' (e.g. --set optim.lr_g=1e-4)")
    try:
        value = tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return key.strip(), value


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data["a"]["b"] = value`` for ``dotted = "a.b"``, creating tables as needed."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set '{dotted}': '{part}' is a value, not a table")
        node = child
    node[last] = value


def from_dict(cls: type[Any], data: Mapping[str, Any], origin: str, prefix: str = "") -> Any:
    """Convert a nested mapping into the dataclass ``cls``, checking every key and type."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: '{prefix or cls.__name__}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"'{prefix}'" if prefix else "the top level"
        raise ConfigError(
            f"{origin}: unknown key '{_join(prefix, unknown[0])}' in {where}; "
            f"known keys: {', '.join(fields)}"
        )
    values = {}
    for name, spec in fields.items():
        path = _join(prefix, name)
        if name in data:
            values[name] = _convert(hints[name], data[name], origin, path)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{origin}: missing required key '{path}'")
    return cls(**values)


def _convert(hint: Any, value: Any, origin: str, path: str) -> Any:
    origin_type = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, origin, path)
    if origin_type is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{origin}: '{path}' must be one of {choices}, got {value!r}")
        return value
    if origin_type in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _convert(option, value, origin, path)
            except ConfigError:
                continue
        raise ConfigError(f"{origin}: '{path}' has the wrong type: {value!r}")
    if hint is Any:
        return value
    if origin_type is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{origin}: '{path}' must be a list of {len(args)} values")
        pairs = enumerate(zip(args, value, strict=True))
        return tuple(_convert(a, v, origin, f"{path}[{i}]") for i, (a, v) in pairs)
    if origin_type is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{origin}: '{path}' must be a table")
        return {str(k): _convert(args[1], v, origin, _join(path, str(k))) for k, v in value.items()}
    return _scalar(hint, value, origin, path)


def _scalar(hint: Any, value: Any, origin: str, path: str) -> Any:
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (bool, str) and isinstance(value, hint):
        return value
    if hint is type(None) and value is None:
        return None
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(f"{origin}: '{path}' must be {name}, got {type(value).__name__} {value!r}")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
