"""The base of every rnnlib module: parameters by torch's names, their gradients, training mode."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike

from .checks import float_dtype
from .parameters import initialise


class Module:
    """The base of every rnnlib module, as ``torch.nn.Module`` is of torch's.

    A module holds named parameters (NumPy arrays, read as attributes such as
    ``m.weight_ih_l0``, or with :meth:`named_parameters` and :meth:`state_dict`), the gradients
    that its ``backward`` accumulates, and a training flag. Calling a module calls its
    ``forward`` with the same arguments, positional or keyword (``lstm(x, hx=h_0)``).

    A subclass passes ``super().__init__`` its parameters' shapes (``{name: shape}``, in torch's
    order), the H of their U(-1/sqrt(H), 1/sqrt(H)) initialisation, its dtype and its seed.

    Attributes:
        grads: ``{name: array}``, each parameter's accumulated gradient, shaped like it:
            ``backward`` adds into it and :meth:`zero_grad` resets it (torch keeps ``p.grad``).
        training: True in training mode (dropout on), False after :meth:`eval`.
        dtype: the parameters' dtype, float32 or float64.
        generator: the ``numpy.random.Generator`` that drew the initial parameters (seeded
            by ``seed``); it later draws the dropout masks.
    """

    def __init__(self, shapes, hidden_size, dtype, seed):
        self.dtype = float_dtype(dtype)
        self.generator = np.random.default_rng(seed)
        self._params = initialise(shapes, hidden_size, self.dtype, self.generator)
        self.training = True
        self._tape = None
        self._differentiated = False  # whether backward consumed the latest forward's tape
        self.zero_grad()

    def __getattr__(self, name):
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Assigning an array to a parameter's name makes the module use that very array, as
        ``decoder.weight = encoder.weight`` ties two torch modules' weights; other names are
        ordinary attributes."""
        params = self.__dict__.get("_params", {})
        if name in params:
            if not isinstance(value, np.ndarray):
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r}: "
                                "expected a NumPy array (another module's parameter, to share "
                                "it; load_state_dict copies values instead)")
            if value.shape != params[name].shape or value.dtype != params[name].dtype:
                raise ValueError(f"cannot assign an array of shape {value.shape} and dtype "
                                 f"{value.dtype} as parameter {name!r}: expected shape "
                                 f"{params[name].shape} and dtype {params[name].dtype}")
            params[name] = value
            return
        super().__setattr__(name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(name, array)`` for every parameter, in torch's order, as torch's does.

        The arrays are the live parameters, not copies: optimizers update them in place. An
        rnnlib module holds no submodules, so the names are torch's without a prefix.
        """
        yield from self._params.items()

    def parameters(self) -> Iterator[np.ndarray]:
        """Yield every parameter array: the values of :meth:`named_parameters`."""
        for _, value in self.named_parameters():
            yield value

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, under torch's keys and in torch's order."""
        return {name: value.copy() for name, value in self._params.items()}

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike]) -> None:
        """Copy parameters in by torch's keys; values may be NumPy arrays or CPU tensors.

        Values are cast to the module's dtype. Missing, unexpected or mis-shaped keys are refused.
        """
        missing = [name for name in self._params if name not in state_dict]
        unexpected = [name for name in state_dict if name not in self._params]
        if missing or unexpected:
            raise ValueError(f"Error loading state_dict into {type(self).__name__}: "
                             f"missing keys {missing}, unexpected keys {unexpected}")
        values = {name: np.asarray(state_dict[name]) for name in self._params}
        for name, value in values.items():
            if value.shape != self._params[name].shape:
                raise ValueError(f"Size mismatch for {name}: expected shape "
                                 f"{self._params[name].shape}, got {value.shape}")
            if value.dtype.kind not in "fiu":
                raise TypeError(f"{name} must hold numbers, got dtype {value.dtype}")
        for name, value in values.items():
            self._params[name][...] = value  # in place, like torch: references stay valid

    def zero_grad(self) -> None:
        """Reset every gradient in ``grads`` to zeros."""
        self.grads = {name: np.zeros_like(value) for name, value in self._params.items()}

    def train(self, mode: bool = True) -> Self:
        """Set training mode (dropout on) or, with ``mode=False``, evaluation mode."""
        self.training = mode
        return self

    def eval(self) -> Self:
        """Set evaluation mode: no dropout."""
        return self.train(False)

    def _accumulate(self, grads, suffix=""):
        """Add one layer-direction's parameter gradients into ``grads``."""
        for name, grad in grads.items():
            self.grads[name + suffix] += grad

    def _recorded(self):
        """The latest forward pass's tape; backward consumes it once it has checked its input."""
        if self._tape is None:
            who = f"{type(self).__name__}.backward()"
            if self._differentiated:
                raise RuntimeError(
                    f"{who} was already called for the latest forward call: backward() consumes "
                    "what forward() recorded, so call forward() again before differentiating "
                    "again (torch's error: Trying to backward through the graph a second time)")
            raise RuntimeError(f"{who} needs a forward call first: it differentiates the latest "
                               "forward call")
        return self._tape

    def _consume(self):
        """Drop the tape once backward has used it: each forward call is differentiated once."""
        self._tape = None
        self._differentiated = True


def as_modules(modules, who):
    """``modules`` (one Module, or a list or tuple of them) as a tuple of Modules.

    Optimizers and clipping act on every parameter of every module given, as torch's act on
    ``list(lstm.parameters()) + list(linear.parameters())``.
    """
    if isinstance(modules, Module):
        return (modules,)
    found = tuple(modules) if isinstance(modules, (list, tuple)) else ()
    if not found or not all(isinstance(m, Module) for m in found):
        raise TypeError(f"{who} expects an rnnlib module or a non-empty list or tuple of rnnlib "
                        f"modules (whose parameters it updates), got {modules!r}")
    if len({id(m) for m in found}) != len(found):
        raise ValueError(f"{who} got the same module more than once in {modules!r}; each would "
                         "be updated (or clipped) once per appearance")
    return found


def distinct_parameters(modules: Sequence[Module]) -> list[tuple]:
    """((module index, name), parameter, gradient) once per distinct parameter array.

    A parameter that several modules share (tied weights) comes once, under its first module's
    key, with the sum of the modules' gradients, as torch's ``parameters()`` lists a shared
    Parameter once and its ``.grad`` sums every use.
    """
    found = {}  # id(parameter) -> [key, parameter, {id(gradient): gradient}]
    for i, module in enumerate(modules):
        for name, p in module.named_parameters():
            entry = found.setdefault(id(p), [(i, name), p, {}])
            entry[2].setdefault(id(module.grads[name]), module.grads[name])
    distinct = []
    for key, p, grads in found.values():
        first, *others = grads.values()
        distinct.append((key, p, first + sum(others) if others else first))  # one: no copy
    return distinct
