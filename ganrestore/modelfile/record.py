"""The record a model file carries: which network it holds, for which task, from which run.

A record is JSON (in the metadata of every ``.safetensors`` file and in a checkpoint's
``record.json``). Format 1, the only one so far, is one flat object::

    {"format": "ganrestore-checkpoint", "format_version": 1,
     "task": "denoise",
     "generator":     {"name", "params", "distribution", "version", "target"},
     "discriminator": {...}                      (when the run trained one),
     "step": 3400, "metrics": {"psnr": ...}, "config": {...}, "ema": true,
     "ganrestore_version": "0.1.0", "torch_version": "2.4.0",
     ...any other key (e.g. "exported_from", "bundled_name"), kept as it is}

A record read from a file is input like any other: :meth:`ModelRecord.from_dict` checks every
field it types and raises a :class:`CheckpointError` naming the file and the field. A file from
a newer ganrestore (a higher ``format_version``) is refused first, with the advice to upgrade,
since its other fields may mean something else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ganrestore.errors import GanrestoreError
from ganrestore.registry import Registry

#: What ``record["format"]`` says in every model file ganrestore writes.
FORMAT = "ganrestore-checkpoint"
#: The newest record layout this ganrestore reads (and the one it writes).
FORMAT_VERSION = 1

_NETWORK_KEYS = ("name", "params", "distribution", "version", "target")
_SUMMARY_KEYS = ("step", "metrics", "config", "ema", "ganrestore_version", "torch_version")
_KNOWN_KEYS = {"format", "format_version", "task", "generator", "discriminator", *_SUMMARY_KEYS}


class CheckpointError(GanrestoreError):
    """A model file or checkpoint is missing, damaged, not ganrestore's, or from a newer one."""


@dataclass(frozen=True)
class NetworkRecord:
    """One network of a model file: its plugin, the plugin's parameters and where it came from.

    Attributes:
        name: registry name of the plugin, e.g. ``"unet"``.
        params: the plugin's keyword parameters (JSON values).
        distribution: the distribution that provided the plugin when the file was saved.
        version: that distribution's version.
        target: ``"module:attr"`` of the plugin's factory.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    distribution: str | None = None
    version: str | None = None
    target: str | None = None

    @classmethod
    def of_plugin(
        cls, registry: Registry[Any], name: str, params: Mapping[str, Any]
    ) -> NetworkRecord:
        """The record of plugin ``name`` of ``registry`` as installed now (for saving)."""
        source = registry.source(name)
        return cls(name, dict(params), source.distribution, source.version, source.target)

    def source(self) -> str:
        """Where the plugin came from, for messages, e.g. ``fancy-nets 2.0``."""
        version = f" {self.version}" if self.version else ""
        return f"{self.distribution or 'an unknown distribution'}{version}"

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _NETWORK_KEYS}

    @classmethod
    def from_dict(cls, data: Any, role: str, file: Path | str) -> NetworkRecord:
        """Check the ``role`` (``"generator"``) entry of the record of ``file``."""
        if not isinstance(data, Mapping):
            raise CheckpointError(
                f"{file}: its record's {role} must be a JSON object, got {_json_kind(data)}; "
                "the file is damaged or was not saved by ganrestore"
            )
        name, params = data.get("name"), data.get("params", {})
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"{file}: its record's {role} has no name (got {name!r})")
        if not isinstance(params, Mapping):
            raise CheckpointError(
                f"{file}: its record's {role} params must be a JSON object "
                f"(name: value), got {_json_kind(params)}; the file is damaged"
            )
        return cls(
            name=name,
            params=dict(params),
            distribution=_text_or_none(data.get("distribution")),
            version=_text_or_none(data.get("version")),
            target=_text_or_none(data.get("target")),
        )


@dataclass(frozen=True)
class TrainingSummary:
    """What the run that made a model file knew when it saved it (informational).

    Attributes:
        step: completed training steps, or None when unknown.
        metrics: the last validation scores, e.g. ``{"psnr": 31.2, "ssim": 0.91}``.
        config: the run's whole resolved config, as ``TrainConfig.to_dict()`` gives it.
        ema: whether the generator weights are an exponential moving average.
        ganrestore_version: the ganrestore that trained it.
        torch_version: the torch that trained it.
    """

    step: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    ema: bool | None = None
    ganrestore_version: str | None = None
    torch_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record's summary keys; unknown values (None) are left out."""
        values = {key: getattr(self, key) for key in _SUMMARY_KEYS}
        return {key: value for key, value in values.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: Path | str) -> TrainingSummary:
        step, metrics, config = data.get("step"), data.get("metrics", {}), data.get("config", {})
        ema = data.get("ema")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
            raise CheckpointError(f"{file}: its record's step must be a whole number, got {step!r}")
        numbers = isinstance(metrics, Mapping) and all(
            isinstance(value, (int, float)) and not isinstance(value, bool)
            for value in metrics.values()
        )
        if not numbers:
            raise CheckpointError(
                f"{file}: its record's metrics must be a JSON object of numbers, got "
                f"{_json_kind(metrics)}; the file is damaged"
            )
        if not isinstance(config, Mapping):
            raise CheckpointError(
                f"{file}: its record's config must be a JSON object, got {_json_kind(config)}; "
                "the file is damaged"
            )
        if ema is not None and not isinstance(ema, bool):
            raise CheckpointError(f"{file}: its record's ema must be true or false, got {ema!r}")
        return cls(
            step=step,
            metrics={str(key): float(value) for key, value in metrics.items()},
            config=dict(config),
            ema=ema,
            ganrestore_version=_text_or_none(data.get("ganrestore_version")),
            torch_version=_text_or_none(data.get("torch_version")),
        )


@dataclass(frozen=True)
class ModelRecord:
    """Everything a model file says about itself; enough to rebuild its networks.

    Attributes:
        task: registry name of the task, e.g. ``"denoise"``.
        generator: the generator's plugin and parameters.
        discriminator: the discriminator's, when the run trained one.
        training: step, metrics and config of the run that saved it.
        format_version: the layout of the file it was read from (records are always written
            in :data:`FORMAT_VERSION`).
        extra: other keys of the record (``exported_from``, ``bundled_name``, keys of tools
            built on ganrestore), kept as they are when the record is saved again.
    """

    task: str
    generator: NetworkRecord
    discriminator: NetworkRecord | None = None
    training: TrainingSummary = field(default_factory=TrainingSummary)
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> int | None:
        """Completed training steps when it was saved, or None when unknown."""
        return self.training.step

    def at_step(self, step: int) -> ModelRecord:
        """This record, saved after ``step`` training steps."""
        return replace(self, training=replace(self.training, step=step))

    def with_extra(self, **values: Any) -> ModelRecord:
        """This record with extra keys set (e.g. ``bundled_name="denoise"``)."""
        return replace(self, extra={**self.extra, **values})

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON values, in format :data:`FORMAT_VERSION`."""
        record: dict[str, Any] = {
            **self.extra,
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "generator": self.generator.to_dict(),
            **self.training.to_dict(),
        }
        if self.discriminator is not None:
            record["discriminator"] = self.discriminator.to_dict()
        return record

    def to_json(self, indent: int | None = None) -> str:
        """The record as JSON text (keys sorted), as files store it."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any, file: Path | str) -> ModelRecord:
        """Check the record read from ``file`` and type it.

        Raises:
            CheckpointError: a newer format, a missing field or one of the wrong type; the
                message names ``file`` and the field.
        """
        if not isinstance(data, Mapping):
            raise CheckpointError(
                f"{file}: its ganrestore record is {_json_kind(data)}, not a JSON object; "
                "the file is damaged or was not saved by ganrestore"
            )
        version = check_format(data, file)
        task, generator = data.get("task"), data.get("generator")
        if not isinstance(task, str) or not task or not isinstance(generator, Mapping):
            raise CheckpointError(
                f"{file}: its record names no task or generator ('task' must be a name and "
                "'generator' an object); the file is damaged or was not saved by ganrestore"
            )
        discriminator = data.get("discriminator")
        return cls(
            task=task,
            generator=NetworkRecord.from_dict(generator, "generator", file),
            discriminator=(
                None
                if discriminator is None
                else NetworkRecord.from_dict(discriminator, "discriminator", file)
            ),
            training=TrainingSummary.from_dict(data, file),
            format_version=version,
            extra={key: value for key, value in data.items() if key not in _KNOWN_KEYS},
        )

    @classmethod
    def from_json(cls, text: str, file: Path | str) -> ModelRecord:
        """Parse and check record text; bad JSON or too deep nesting is a CheckpointError."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise CheckpointError(
                f"{file}: its ganrestore record is not valid JSON ({reason}); the file is "
                "damaged: save or download it again"
            ) from None
        return cls.from_dict(data, file)


def check_format(data: Mapping[str, Any], file: Path | str) -> int:
    """The ``format_version`` of a record (1 when absent), if this ganrestore reads it.

    Raises:
        CheckpointError: the record is from a newer ganrestore, or of another format.
    """
    kind, version = data.get("format", FORMAT), data.get("format_version", 1)
    if kind != FORMAT:
        raise CheckpointError(
            f"{file}: its record is of format {kind!r}, not {FORMAT!r}; it was not saved by "
            "ganrestore"
        )
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(
            f"{file}: its record's format_version must be a whole number from 1, got "
            f"{version!r}; the file is damaged"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{file} was saved by a newer ganrestore (format {version}; this one reads up "
            f"to {FORMAT_VERSION}): upgrade ganrestore to load it"
        )
    return version


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json_kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")
