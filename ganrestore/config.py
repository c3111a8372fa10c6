"""Typed training configuration, loaded from TOML with every key and type checked.

A config is a tree of frozen dataclasses. :func:`load_config` starts from a task's ready config
(``configs/denoise.toml``, ``configs/inpaint.toml``), merges a user's TOML file and ``--set
key=value`` overrides on top, and converts the result; an unknown key or a wrong type is a
:class:`ConfigError` naming the key's full path (``loss.terms.l1``) and where it came from.
String keys never travel past this module.

``task`` names any installed task plugin (:mod:`ganrestore.tasks`); the table named after it
(``[denoise]``, ``[inpaint]``) holds that task's own settings and is converted into the task's
``options_type``. Task settings that earlier versions kept in ``[data]`` (``data.sigma_range``,
``data.hole_ratio``...) are moved there, with a :class:`MovedKeyWarning` saying so.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tomllib

from ganrestore.errors import GanrestoreError
from ganrestore.registry import TASKS, PluginError


class ConfigError(GanrestoreError):
    """A config file or override has an unknown key, a wrong type or an impossible value."""


class MovedKeyWarning(UserWarning):
    """A task setting was found under ``[data]``, where earlier versions kept it, and moved."""


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
    max_bad_fraction: float = 0.1  # stop when more than this share of files is unreadable
    # Photos with more pixels (width x height, from the header) are skipped, never decoded;
    # 0 = no limit. The default is data.pixel_limit.DEFAULT_MAX_PIXELS, apply's --max-pixels.
    max_pixels: int = 100_000_000
    # Folder layout (ganrestore/data/layout.py). pair_dir: the folder beside clean/ holding each
    # image's pair (the task's pair folder: degraded/ or noisy/, masks/...); "" = its usual names.
    pair_dir: str = ""
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # pix2pix A/B pairs: AtoB = A is the input
    layout: Literal["auto", "plain", "aligned"] = "auto"  # plain/aligned: 2:1 images as is/A|B


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
    """Everything a training run needs besides the data folder.

    ``task_options`` is the task's own table (an instance of its ``options_type``), written as
    the table named after the task (``[denoise]``) in TOML and in :meth:`to_dict`.
    ``task_spec`` is the task itself (:class:`ganrestore.tasks.Task`), built once when the
    config is read (the name is parsed there and nowhere else); not part of :meth:`to_dict`.
    """

    task: str
    generator: NetworkConfig
    discriminator: NetworkConfig
    steps: int = 20_000
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"  # auto: CUDA, then MPS, then CPU
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # devices.choose_precision
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
    task_options: Any = field(default=None, metadata={"internal": True})
    task_spec: Any = field(default=None, compare=False, repr=False, metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), ready for JSON or TOML."""
        plain = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        options = plain.pop("task_options")
        plain.pop("task_spec")
        plain = _plain(
            {
                k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
                for k, v in plain.items()
            }
        )
        if options is not None and dataclasses.is_dataclass(options):
            plain[self.task] = _plain(dataclasses.asdict(options))
        return plain


def ready_configs_dir() -> Path:
    """The folder of the ready configs shipped with ganrestore (``ganrestore/configs``)."""
    return Path(str(resources.files("ganrestore") / "configs"))


def is_ready_config(source: Path | str) -> bool:
    """Whether ``source`` is one of the ready configs shipped inside ganrestore."""
    return isinstance(source, Path) and source.parent == ready_configs_dir()


def _shown_source(source: Path | str) -> str:
    """How messages name a config: a shipped one by name (not by a path into the package)."""
    return f"the ready config '{source.stem}'" if is_ready_config(source) else str(source)


def bundled_config_path(name: str) -> Path:
    """Path of a ready config shipped with ganrestore, e.g. ``"denoise"`` or ``"pix2pix"``; a
    path to a ``.toml`` file (a third-party task's own ready config) is returned as it is."""
    if name.endswith(".toml"):
        return Path(name)
    path = ready_configs_dir() / f"{name}.toml"
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
        task: the name of an installed task (``"denoise"``, ``"inpaint"``...); its ready
            config is the base.
        config_file: a TOML file replacing the ready config (missing keys take the defaults).
        overrides: ``"key.path=value"`` strings (values in TOML syntax; bare words are strings).
        saved: a resumed run's own config (``TrainConfig.to_dict()``), used instead of a file.
        **cli_values: dotted key -> value for CLI options such as ``steps`` or
            ``data.batch_size``; ``None`` values are ignored.

    Raises:
        ConfigError: naming the key, the file and what is wrong.
    """
    task_plugin = _task_plugin(task)
    if saved is not None:
        source: Path | str = "the run's saved config"
        data = copy.deepcopy(dict(saved))
    elif config_file is not None:
        source, data = config_file, read_toml(config_file)
    elif task_plugin.ready_config is not None:
        source = bundled_config_path(task_plugin.ready_config)
        data = read_toml(source)
    else:
        raise ConfigError(
            f"the {task} task ships no ready config: pass --config FILE (a TOML file with "
            "[generator] and [discriminator] tables; see docs/training.md)"
        )
    shown = _shown_source(source)
    file_task = data.get("task", task)
    if file_task != task:
        advice = (
            f"pass a --config written for {task}"
            if is_ready_config(source)
            else f'set task = "{task}" in that file'
        )
        raise ConfigError(
            f"{shown} is a config for task '{file_task}', not '{task}'; "
            f"run `ganrestore train {file_task}` or {advice}"
        )
    data["task"] = task
    origin = shown
    for key, value in cli_values.items():
        if value is not None:
            set_path(data, key, value)
            origin = f"the command-line options over {shown}"
    parsed = [parse_override(item) for item in overrides]
    _forget_params_of_renamed_networks(data, parsed)
    for key, value in parsed:
        set_path(data, key, value)
        origin = f"the command-line options over {shown}"
    table = _task_table(data, task_plugin, origin)
    config = from_dict(TrainConfig, data, origin=origin)
    options = from_dict(task_plugin.options_type, table, origin=origin, prefix=task)
    config = dataclasses.replace(config, task_options=options, task_spec=task_plugin)
    check_values(config, origin)
    return config


def _task_plugin(task: str) -> Any:
    """The installed task ``task``, or a :class:`ConfigError` listing the installed ones."""
    if not isinstance(task, str) or task not in TASKS:
        raise ConfigError(f"unknown task '{task}'; choose one of: {', '.join(TASKS.names())}")
    try:
        return TASKS.build(task)
    except PluginError as exc:
        raise ConfigError(f"task '{task}' cannot be loaded: {exc}") from None


def _task_table(data: dict[str, Any], task: Any, origin: str) -> dict[str, Any]:
    """Take the task's table out of ``data``; move its keys found in ``[data]`` into it.

    Earlier versions kept task settings in ``[data]``; such a key is moved, and a
    :class:`MovedKeyWarning` names where it belongs now.
    """
    table = data.pop(task.name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: '{task.name}' must be a table of the task's settings")
    section = data.get("data")
    own = {f.name for f in dataclasses.fields(task.options_type)}
    generic = {f.name for f in dataclasses.fields(DataConfig)}
    if isinstance(section, dict):
        for key in sorted(set(section) & own - generic):
            value = section.pop(key)
            table[key] = value
            warnings.warn(
                f"{origin}: 'data.{key}' is now '{task.name}.{key}' (the task's own table); "
                f"it was read there. Write [{task.name}] {key} = ... or --set {task.name}.{key}=",
                MovedKeyWarning,
                stacklevel=3,
            )
    return table


def _forget_params_of_renamed_networks(
    data: dict[str, Any], overrides: Sequence[tuple[str, Any]]
) -> None:
    """``--set generator.name=X`` starts X from its own defaults, not the old network's params.

    The params of a network whose name an override changes are emptied before the overrides
    are applied, so only ``--set generator.params.KEY=...`` given alongside remain.
    """
    for network in ("generator", "discriminator"):
        table = data.get(network)
        if not isinstance(table, dict):
            continue
        names = [value for key, value in overrides if key == f"{network}.name"]
        if names and names[-1] != table.get("name"):
            table["params"] = {}


#: Largest training crop and validation size: a 4096² float crop is already 200 MB per image,
#: and smaller images are padded up to it, so a larger value only exhausts memory.
MAX_CROP = 4096


#: More steps than any run takes (ten years at 100 steps a second); larger numbers are typos.
MAX_STEPS = 10**12
#: The largest seed every generator takes (torch's is a signed 64-bit integer).
MAX_SEED = 2**63 - 1


def check_values(config: TrainConfig, origin: str) -> None:
    """Refuse values that type-check but cannot work, naming the key."""
    nonfinite = _first_nonfinite(config.to_dict())
    if nonfinite is not None:
        raise ConfigError(f"{origin}: '{nonfinite[0]}' must be a finite number, got {nonfinite[1]}")
    data, optim = config.data, config.optim
    rules = [
        ("steps", 1 <= config.steps <= MAX_STEPS, f"from 1 to {MAX_STEPS:.0e}"),
        ("seed", 0 <= config.seed <= MAX_SEED, f"from 0 to 2**63 - 1 = {MAX_SEED}"),
        ("log_every", config.log_every >= 1, "at least 1"),
        ("validate_every", config.validate_every >= 1, "at least 1"),
        ("checkpoint_every", config.checkpoint_every >= 1, "at least 1"),
        ("keep_checkpoints", config.keep_checkpoints >= 1, "at least 1"),
        ("data.crop", 16 <= data.crop <= MAX_CROP, f"from 16 to {MAX_CROP} pixels"),
        ("data.batch_size", data.batch_size >= 1, "at least 1"),
        ("data.workers", data.workers >= 0, "0 or more"),
        ("data.val_fraction", 0.0 <= data.val_fraction < 1.0, "in [0, 1)"),
        ("data.val_size", 16 <= data.val_size <= MAX_CROP, f"from 16 to {MAX_CROP} pixels"),
        ("data.val_images", data.val_images >= 1, "at least 1"),
        ("data.max_bad_fraction", 0.0 <= data.max_bad_fraction <= 1.0, "in [0, 1]"),
        ("data.max_pixels", data.max_pixels >= 0, "0 (no limit) or more pixels"),
        (
            "data.pair_dir",
            not any(c in data.pair_dir for c in "/\\") and data.pair_dir not in (".", ".."),
            "a folder name beside clean/ (no / or \\), or empty",
        ),
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
    if config.task_options is not None:
        task_rules = config.task_options.rules()
        rules += [(f"{config.task}.{key}", ok, expected) for key, ok, expected in task_rules]
    for key, ok, expected in rules:
        if not ok:
            raise ConfigError(f"{origin}: '{key}' must be {expected}")


def _first_nonfinite(value: Any, path: str = "") -> tuple[str, float] | None:
    """The path and value of the first NaN or infinite number in a plain nested config."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if isinstance(value, dict):
        items = [(_join(path, str(key)), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    else:
        return None
    for item_path, item in items:
        found = _first_nonfinite(item, item_path)
        if found is not None:
            return found
    return None


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
    # Internal fields (filled in by load_config, not read from a file) are no keys of a config.
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
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
