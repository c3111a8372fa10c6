"""A budget on what building a network may create, set by the weights its file holds.

A record's params size the network (``blocks``, ``depth``, ``widths``), and the record comes from
a file someone else wrote. Building on the ``meta`` device costs no memory per tensor, but each
module and parameter is still a Python object: a 4.8 MB file whose record says
``blocks: 1000000`` kept the build busy for minutes and took gigabytes before the shapes could be
compared with the file. The network a record describes must hold exactly the tensors of its
file, so building may stop as soon as it has made clearly more than that:
:class:`BuildBudget` counts every parameter, buffer and submodule registered while it is active
(torch's global registration hooks, on the building thread only) and stops the build at the
first registration over the limit. No plugin needs to know about it.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from torch.nn.modules.module import (
    register_module_buffer_registration_hook,
    register_module_module_registration_hook,
    register_module_parameter_registration_hook,
)

#: Parameters and buffers a build may register per tensor of the file, and on top. Each
#: tensor of the state dict registers once; a weight registered again (spectral norm), a
#: buffer that is not saved or a module built and dropped adds a few. Registering a weight is
#: what costs time, even on ``meta`` (about 1 ms for a convolution: its initialisation).
TENSORS_PER_TENSOR, TENSORS_SPARE = 2, 128
#: Registrations of any kind (parameters, buffers and submodules) a build may make per tensor of
#: the file, and on top: the modules around the weights (containers, activations, norms
#: without weights) register too; the built-in networks make 1.2 (resunet) to 4.3 (a U-Net
#: with instance norms) per tensor.
REGISTRATIONS_PER_TENSOR, REGISTRATIONS_SPARE = 16, 1024
#: Elements allowed per element of the file, when a network is built for real.
ELEMENTS_PER_ELEMENT = 2
#: Elements allowed on top (4 MiB of float32).
ELEMENTS_SPARE = 1 << 20


class BudgetExceeded(Exception):
    """Raised inside a build that went over its :class:`BuildBudget`."""


class BuildBudget:
    """While active, stop any network built on this thread that registers more than it may.

    Args:
        tensors: tensors the file holds; the build may register at most
            ``TENSORS_PER_TENSOR * tensors + TENSORS_SPARE`` parameters and buffers, and
            ``REGISTRATIONS_PER_TENSOR * tensors + REGISTRATIONS_SPARE`` parameters, buffers
            and submodules together.
        elements: elements the file holds, or None not to count them (on ``meta`` they cost
            nothing, and the shapes are compared exactly afterwards); else parameters and
            buffers may hold at most ``ELEMENTS_PER_ELEMENT * elements + ELEMENTS_SPARE``.

    Attributes:
        exceeded: the limit the build went past (``"320 weight tensors"``), or None; set
            even when a plugin swallowed the :class:`BudgetExceeded` raised in it.

    Example::

        with BuildBudget(len(header)) as budget:
            module = build_generator(...)   # raises BudgetExceeded past the limit
    """

    def __init__(self, tensors: int, elements: int | None = None) -> None:
        self.tensors = TENSORS_PER_TENSOR * tensors + TENSORS_SPARE
        self.registrations = REGISTRATIONS_PER_TENSOR * tensors + REGISTRATIONS_SPARE
        self.elements = None if elements is None else ELEMENTS_PER_ELEMENT * elements
        if self.elements is not None:
            self.elements += ELEMENTS_SPARE
        self.exceeded: str | None = None
        self._counted = 0
        self._tensors = 0
        self._numel = 0
        self._thread = threading.get_ident()
        self._handles: list[Any] = []

    def __enter__(self) -> BuildBudget:
        self._handles = [
            register_module_parameter_registration_hook(self._tensor),
            register_module_buffer_registration_hook(self._tensor),
            register_module_module_registration_hook(self._module),
        ]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _tensor(self, module: Any, name: str, tensor: Any) -> None:
        if threading.get_ident() != self._thread:
            return
        self._count()
        self._tensors += 1
        if self._tensors > self.tensors:
            self._stop(f"{self.tensors} weight tensors")
        if self.elements is not None and tensor is not None:
            self._numel += tensor.numel()
            if self._numel > self.elements:
                self._stop(f"{self.elements} weight values")

    def _module(self, module: Any, name: str, submodule: Any) -> None:
        if threading.get_ident() == self._thread:
            self._count()

    def _count(self) -> None:
        self._counted += 1
        if self._counted > self.registrations:
            self._stop(f"{self.registrations} tensors and modules")

    def _stop(self, what: str) -> None:
        self.exceeded = self.exceeded or what
        raise BudgetExceeded(what)
