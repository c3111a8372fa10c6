"""Perceptual losses on frozen ImageNet backbones: LPIPS and a VGG19 feature L1.

Nothing here downloads anything. A backbone is built with random weights and, when
``pretrained``, filled from the file torchvision would have downloaded, read from ``weights_path``
or from the torch hub cache (``torch.hub.get_dir()/checkpoints/<file>``, where torchvision puts
it). A missing file is a :class:`PerceptualWeightsError` that says which file, where it was looked
for, and what to do. ``pretrained=False`` keeps the random backbone (for tests and smoke runs).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganrestore.errors import GanrestoreError
from ganrestore.losses.inputs import LossInputs


class PerceptualWeightsError(GanrestoreError):
    """The ImageNet weights of a perceptual loss's backbone are missing or unreadable."""


# ------------------------------------------------------------------------------ weight files
def torchvision_weights_url(enum_name: str) -> str:
    """URL of ``torchvision.models.<enum_name>.IMAGENET1K_V1``, e.g. for ``"AlexNet_Weights"``."""
    import torchvision  # imported here: importing ganrestore.losses stays cheap

    return getattr(torchvision.models, enum_name).IMAGENET1K_V1.url


def hub_weights_file(url: str) -> Path:
    """Where ``torch.hub`` (hence torchvision) caches the file downloaded from ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def find_backbone_weights(
    loss: str, backbone: str, enum_name: str, weights_path: str | None
) -> Path:
    """The weights file of ``backbone`` for the loss ``loss``, which must exist.

    Args:
        loss: the loss's registered name, used in the message.
        backbone: human name of the network, e.g. ``"AlexNet"``.
        enum_name: torchvision weights enum, e.g. ``"AlexNet_Weights"``.
        weights_path: a file given by the user, or ``None`` for the torch hub cache.

    Raises:
        PerceptualWeightsError: the file is not there.
    """
    url = torchvision_weights_url(enum_name)
    cached = hub_weights_file(url)
    path = cached if weights_path is None else Path(weights_path).expanduser()
    if path.is_file():
        return path
    given = "weights_path" if weights_path is not None else "the torch hub cache"
    raise PerceptualWeightsError(
        f"loss '{loss}' needs torchvision's ImageNet {backbone} weights, file '{cached.name}', "
        f"and it is not at {path} (looked in {given}). ganrestore never downloads: fetch {url} "
        f"on a machine with network access and put it at {cached}, or pass "
        f"weights_path='<that file>' in the params of '{loss}', or set the weight of '{loss}' "
        "to 0."
    )


def read_state_dict(path: Path, loss: str) -> Mapping[str, Tensor]:
    """Tensors saved in ``path`` with ``torch.save``, loaded safely (``weights_only=True``)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file can fail in many ways
        raise PerceptualWeightsError(
            f"loss '{loss}': cannot read weights file {path} ({type(exc).__name__}: {exc}). "
            "Replace it with the torchvision file or set this loss's weight to 0."
        ) from exc
    if not isinstance(state, Mapping):
        raise PerceptualWeightsError(
            f"loss '{loss}': {path} holds a {type(state).__name__}, not a state dict of tensors"
        )
    return state


def load_renamed(
    module: nn.Module,
    state: Mapping[str, Tensor],
    key_map: Mapping[str, str],
    path: Path,
    loss: str,
) -> None:
    """Load ``state[key_map[k]]`` into ``module``'s parameter ``k`` for every ``k``, strictly.

    Raises:
        PerceptualWeightsError: a key is missing in the file, or a tensor has the wrong shape.
    """
    missing = [file_key for file_key in key_map.values() if file_key not in state]
    if missing:
        raise PerceptualWeightsError(
            f"loss '{loss}': {path} lacks {len(missing)} expected tensors (first: "
            f"{', '.join(missing[:3])}); is it the torchvision ImageNet file of the right network?"
        )
    try:
        module.load_state_dict({key: state[file_key] for key, file_key in key_map.items()})
    except RuntimeError as exc:
        raise PerceptualWeightsError(
            f"loss '{loss}': the tensors in {path} do not fit the network: {exc}"
        ) from exc


class _FrozenLoss(nn.Module):
    """A loss whose networks never train: no gradients for its parameters, always in eval mode."""

    def freeze(self) -> None:
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> _FrozenLoss:
        # The owner's .train() must not turn on dropout in LPIPS's linear layers.
        return super().train(False)


def _as_rgb(image: Tensor, loss: str) -> Tensor:
    if image.shape[1] == 3:
        return image
    if image.shape[1] == 1:
        return image.expand(-1, 3, -1, -1)
    raise ValueError(f"loss '{loss}' needs 1- or 3-channel images, got {image.shape[1]} channels")


# ------------------------------------------------------------------------------------- LPIPS
# net -> (network name, torchvision weights enum, smallest H and W its pooling accepts)
_LPIPS_BACKBONES = {
    "alex": ("AlexNet", "AlexNet_Weights", 31),
    "vgg": ("VGG16", "VGG16_Weights", 16),
    "squeeze": ("SqueezeNet 1.1", "SqueezeNet1_1_Weights", 17),
}


class LPIPSLoss(_FrozenLoss):
    """LPIPS distance (Zhang et al. 2018) of the ``lpips`` package, frozen, mean over the batch.

    The package's small linear layers (v0.1) ship with it; the backbone's ImageNet weights are
    read from a local file (see the module docstring), never downloaded.

    Args:
        net: backbone, ``"alex"`` (the usual choice for a loss), ``"vgg"`` or ``"squeeze"``.
        weights_path: torchvision's ImageNet weights file of that backbone; ``None`` looks in
            ``torch.hub.get_dir()/checkpoints``.
        pretrained: ``False`` keeps a random backbone (tests only: the distance is meaningless).

    Raises:
        ValueError: unknown ``net``, or ``weights_path`` given with ``pretrained=False``.
        PerceptualWeightsError: ``pretrained`` and the weights file is missing or does not fit.

    Shape:
        - inputs.output, inputs.target: :math:`(B, 3, H, W)` (or 1 channel) in [0, 1];
          H, W >= 31 for ``alex``, 17 for ``squeeze``, 16 for ``vgg``.
    """

    def __init__(
        self, net: str = "alex", weights_path: str | None = None, pretrained: bool = True
    ) -> None:
        super().__init__()
        if net not in _LPIPS_BACKBONES:
            raise ValueError(f"net must be one of {', '.join(_LPIPS_BACKBONES)}, got {net!r}")
        if weights_path is not None and not pretrained:
            raise ValueError("weights_path is given but pretrained=False; drop one of them")
        backbone, enum_name, self.min_size = _LPIPS_BACKBONES[net]
        file = None
        if pretrained:  # look for the file first: a missing file fails fast, before any build
            file = find_backbone_weights("lpips", backbone, enum_name, weights_path)

        import lpips  # imported here: only configs that use LPIPS pay for it

        with warnings.catch_warnings():
            # lpips builds the torchvision backbone with the deprecated ``pretrained=False``.
            warnings.simplefilter("ignore", UserWarning)
            model = lpips.LPIPS(pretrained=False, net=net, pnet_rand=True, verbose=False)
        _load_linear_layers(model, Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth")
        if file is not None:
            # lpips splits torchvision's ``features`` into slices that keep the module indices:
            # ``slice2.3.weight`` is torchvision's ``features.3.weight``.
            key_map = {key: f"features.{key.split('.', 1)[1]}" for key in model.net.state_dict()}
            load_renamed(model.net, read_state_dict(file, "lpips"), key_map, file, "lpips")
        self.net_name = net
        self.pretrained = pretrained
        self.model = model
        self.freeze()

    def forward(self, inputs: LossInputs) -> Tensor:
        if min(inputs.output.shape[-2:]) < self.min_size:
            raise ValueError(
                f"lpips with net={self.net_name!r} needs H and W >= {self.min_size}, got "
                f"{tuple(inputs.output.shape[-2:])}; use larger crops or another net"
            )
        output = _as_rgb(inputs.output, "lpips")
        target = _as_rgb(inputs.target, "lpips")
        return self.model(output * 2 - 1, target * 2 - 1).mean()

    def extra_repr(self) -> str:
        return f"net={self.net_name!r}, pretrained={self.pretrained}"


def _load_linear_layers(model: nn.Module, path: Path) -> None:
    if not path.is_file():
        raise PerceptualWeightsError(
            f"loss 'lpips': the lpips package has no linear-layer weights at {path}; "
            "reinstall lpips (pip install --force-reinstall lpips)"
        )
    state = read_state_dict(path, "lpips")
    result = model.load_state_dict(state, strict=False)
    # lpips registers each linear layer twice (``lin0`` and ``lins.0``); the file names ``lin*``.
    not_loaded = [key for key in result.missing_keys if re.match(r"lin\d+\.", key)]
    if result.unexpected_keys or not_loaded:
        raise PerceptualWeightsError(
            f"loss 'lpips': {path} does not fit the LPIPS linear layers; reinstall lpips"
        )


# ---------------------------------------------------------------------------------- VGG19
# torchvision's VGG19 ``features`` ("E" configuration): numbers are 3x3 conv widths, "M" pools.
_VGG19_CONFIG: tuple[int | str, ...] = (
    *(64, 64, "M", 128, 128, "M"),
    *(256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
)


def _vgg19_layer_names() -> tuple[str, ...]:
    names, block, conv = [], 1, 1
    for item in _VGG19_CONFIG:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return tuple(names)


#: Names of the modules of VGG19 ``features``, by index: ``conv1_1, relu1_1, ..., pool5``.
VGG19_LAYERS: tuple[str, ...] = _vgg19_layer_names()

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features(depth: int) -> nn.Sequential:
    """The first ``depth`` modules of torchvision's VGG19 ``features``, same indices, random init.

    Unlike torchvision's, the ReLUs are not in-place, so any layer's output can be kept.
    """
    layers: list[nn.Module] = []
    channels = 3
    for item in _VGG19_CONFIG:
        if len(layers) >= depth:
            break
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            conv = nn.Conv2d(channels, int(item), kernel_size=3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU()]
            channels = int(item)
    return nn.Sequential(*layers[:depth])


class VGGPerceptualLoss(_FrozenLoss):
    """L1 between frozen VGG19 features of output and target, averaged over ``layers``.

    Images in [0, 1] are normalised with the ImageNet mean and std; the target's features are
    computed without gradient.

    Args:
        layers: names from :data:`VGG19_LAYERS`, e.g. ``"relu2_2"``; the network is cut after the
            deepest one.
        weights_path: torchvision's VGG19 ImageNet file (``vgg19-dcbb9e9d.pth``); ``None`` looks
            in ``torch.hub.get_dir()/checkpoints``.
        pretrained: ``False`` keeps a random network (tests only).

    Raises:
        ValueError: ``layers`` is empty, repeats a name or names an unknown layer, or
            ``weights_path`` is given with ``pretrained=False``.
        PerceptualWeightsError: ``pretrained`` and the weights file is missing or does not fit.

    Shape:
        - inputs.output, inputs.target: :math:`(B, 3, H, W)` (or 1 channel) in [0, 1].
    """

    def __init__(
        self,
        layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_4", "relu4_4", "relu5_4"),
        weights_path: str | None = None,
        pretrained: bool = True,
    ) -> None:
        super().__init__()
        indices = _layer_indices(layers)
        if weights_path is not None and not pretrained:
            raise ValueError("weights_path is given but pretrained=False; drop one of them")
        file = None
        if pretrained:
            file = find_backbone_weights("vgg", "VGG19", "VGG19_Weights", weights_path)

        self.layers = tuple(layers)
        self.pretrained = pretrained
        self.features = vgg19_features(max(indices) + 1)
        self._taps = frozenset(indices)
        if file is not None:
            key_map = {key: f"features.{key}" for key in self.features.state_dict()}
            load_renamed(self.features, read_state_dict(file, "vgg"), key_map, file, "vgg")
        # Not persistent: constants, not state, so they stay out of any state dict.
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), False)
        self.freeze()

    def extract(self, image: Tensor) -> list[Tensor]:
        """Features of ``image`` (in [0, 1]) at ``self.layers``, shallowest first."""
        x = (_as_rgb(image, "vgg") - self.mean) / self.std
        taps = []
        for index, module in enumerate(self.features):
            x = module(x)
            if index in self._taps:
                taps.append(x)
        return taps

    def forward(self, inputs: LossInputs) -> Tensor:
        with torch.no_grad():
            target_features = self.extract(inputs.target)
        output_features = self.extract(inputs.output)
        losses = [F.l1_loss(o, t) for o, t in zip(output_features, target_features, strict=True)]
        return torch.stack([loss.float() for loss in losses]).mean()

    def extra_repr(self) -> str:
        return f"layers={self.layers}, pretrained={self.pretrained}"


def _layer_indices(layers: Sequence[str]) -> list[int]:
    if isinstance(layers, str) or not layers:
        raise ValueError(f"layers must be a non-empty list of VGG19 layer names, got {layers!r}")
    unknown = [name for name in layers if name not in VGG19_LAYERS]
    if unknown:
        raise ValueError(f"unknown VGG19 layers {unknown}; choose among {', '.join(VGG19_LAYERS)}")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers repeats a name: {list(layers)}")
    return [VGG19_LAYERS.index(name) for name in layers]
