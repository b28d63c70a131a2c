"""Weight drop (DropConnect): a module run with dropout applied to some of its weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .checks import probability
from .module import Module
from .reference import dropout_mask


class WeightDrop(Module):
    r"""Runs ``module`` with dropout on the weights named in ``weights``, as AWD-LSTM's
    ``WeightDrop`` does to ``weight_hh_l0`` (DropConnect on the recurrent weights).

    .. math::
        W_{hh} \to W_{hh} \odot \Xi

    with :math:`\Xi` shaped like the weight, 0 with probability ``dropout`` and 1/(1-p)
    otherwise, drawn once per forward call: the same dropped weights for every step and every
    sequence of the call. The module keeps the raw weights; for the call it holds the masked
    copies, and the gradient of a raw weight is the masked weight's times :math:`\Xi`. In
    evaluation mode the raw weights are used. torch has no such module.

    The wrapper has the module's parameters under the module's names (the same arrays), and its
    ``grads``: give either it or the module to an optimizer, not both.

    Args:
        module: an rnnlib module (``LSTM``, ``GRU``, ``Linear``, ...).
        weights: the names of the parameters to drop, e.g. ``["weight_hh_l0"]``.
        dropout: the probability p of zeroing an entry of each weight.
        seed: seeds the generator that draws the masks. Default: None (fresh entropy)

    Attributes:
        module: the wrapped module, which holds the raw weights.
        masks: {name: mask} of the latest training-mode call; {} after an evaluation-mode call.

    Shape:
        - Input and output: the module's.

    Example:
        >>> from rnnlib import LSTM, WeightDrop
        >>> lstm = WeightDrop(LSTM(3, 4), ["weight_hh_l0"], dropout=0.5, seed=0)
        >>> output, (h_n, c_n) = lstm(np.zeros((5, 2, 3), np.float32))
        >>> lstm.masks["weight_hh_l0"].shape
        (16, 4)
    """

    def __init__(self, module: Module, weights: Sequence[str], dropout: float, *,
                 seed: int | None = None):
        if not isinstance(module, Module):
            raise TypeError(f"WeightDrop wraps an rnnlib module, got {type(module).__name__}")
        if isinstance(weights, str) or not weights:
            raise TypeError(f"weights must be a non-empty list of parameter names, got "
                            f"{weights!r}")
        unknown = [name for name in weights if name not in module._params]
        if unknown:
            raise ValueError(f"WeightDrop: {type(module).__name__} has no parameter "
                             f"{unknown[0]!r}; its parameters are {list(module._params)}")
        self.module, self.weights = module, list(weights)
        self.dropout = probability(dropout, "dropout")
        self.dtype, self.generator = module.dtype, np.random.default_rng(seed)
        self._params = module._params  # the same dict: the raw weights are the module's
        self.training = module.training
        self.masks: dict[str, np.ndarray] = {}
        self._tape, self._differentiated = None, False

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """The module's gradients: those of the raw weights once backward has run."""
        return self.module.grads

    def zero_grad(self) -> None:
        """Reset the module's gradients."""
        self.module.zero_grad()

    def train(self, mode: bool = True) -> WeightDrop:
        """Set training mode (weights dropped) or evaluation mode, here and in the module."""
        self.training = mode
        self.module.train(mode)
        return self

    def _mask_shape(self, name):
        """The shape of the mask of weight ``name``: the weight's own."""
        return self._params[name].shape

    def _swapped(self, weights):
        """Put ``weights`` ({name: array}) into the module; return what they replace."""
        replaced = {name: self._params[name] for name in weights}
        self._params.update(weights)
        return replaced

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The module's forward call, with the masked weights in place of the raw ones."""
        self.masks = {}
        if self.training and self.dropout:
            self.masks = {name: dropout_mask(self._mask_shape(name), self.dropout,
                                             self.generator).astype(self.dtype)
                          for name in self.weights}
        raw = self._swapped({name: self._params[name] * m for name, m in self.masks.items()})
        try:
            result = self.module(*args, **kwargs)
        finally:
            self._swapped(raw)
        self._tape = dict(self.masks)
        return result

    def backward(self, *args: Any, **kwargs: Any) -> Any:
        """The module's backward call; each raw weight's gradient is the masked one's times its
        mask. Returns what the module's backward returns."""
        masks = self._recorded()
        self._consume()
        before = {name: self.grads[name].copy() for name in masks}
        raw = self._swapped({name: self._params[name] * m for name, m in masks.items()})
        try:
            result = self.module.backward(*args, **kwargs)
        finally:
            self._swapped(raw)
        for name, mask in masks.items():  # only this call's share is masked
            self.grads[name][...] = before[name] + (self.grads[name] - before[name]) * mask
        return result

    def extra_repr(self) -> str:
        return f"{self.module!r}, weights={self.weights}, dropout={self.dropout}"
