"""Variational (locked) dropout: one mask per sequence and feature, reused at every time step."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .checks import as_array, check_ndim, flag, probability
from .module import Module
from .packing import PackedSequence
from .reference import dropout_mask, locked_dropout


class LockedDropout(Module):
    r"""Dropout whose mask is drawn once per sequence and reused at every step.

    .. math::
        y_t = x_t \odot \xi, \qquad t = 0, \dots, L - 1

    with :math:`\xi` (N, H) 0 with probability p, else 1/(1-p), the same at every step
    (Gal and Ghahramani's variational dropout; AWD-LSTM's ``LockedDropout``). ``nn.Dropout`` on
    the same input would draw a new mask at every step. In evaluation mode the input passes
    through unchanged. torch has no such module.

    Args:
        p: the probability of zeroing an entry of the mask. Default: 0.5
        batch_first: if True, the input is (N, L, H) instead of (L, N, H). Default: False
        dtype: the input's dtype, float32 or float64. Default: float32
        seed: seeds the generator that draws the masks. Default: None (fresh entropy)

    Attributes:
        mask: the mask (N, H) (unbatched: (H,)) of the latest training-mode call; None after an
            evaluation-mode call.

    Shape:
        - Input: ``(L, N, H)``, ``(N, L, H)`` with ``batch_first``, or unbatched ``(L, H)``.
        - Output: the input's shape.

    Example:
        >>> drop = LockedDropout(0.5, seed=0)
        >>> y = drop(np.ones((4, 2, 3), np.float32))
        >>> bool((y == y[0]).all())  # every step dropped alike
        True
    """

    def __init__(self, p: float = 0.5, batch_first: bool = False, *,
                 dtype: DTypeLike = np.float32, seed: int | None = None):
        self.p = probability(p, "p")
        self.batch_first = flag(batch_first, "batch_first")
        self.mask: np.ndarray | None = None
        super().__init__({}, 0, dtype, seed)

    def forward(self, input: ArrayLike) -> np.ndarray:
        """``input`` -> the output, of the same shape; see the class docstring."""
        if isinstance(input, PackedSequence):
            raise TypeError("LockedDropout: Expected a padded array (L, N, H), got a "
                            "PackedSequence, whose rows mix sequences and steps, so one mask "
                            "per sequence cannot be told apart; pad it with "
                            "pad_packed_sequence first")
        x = as_array(input, self.dtype, "input")
        check_ndim(x, (2, 3), "LockedDropout")
        time_axis = 1 if self.batch_first and x.ndim == 3 else 0
        self.mask = None
        if self.training and self.p:
            shape = x.shape[:time_axis] + x.shape[time_axis + 1:]  # (N, H): no time axis
            self.mask = dropout_mask(shape, self.p, self.generator).astype(self.dtype)
        self._tape = (self.mask, time_axis, x.shape)
        return x if self.mask is None else locked_dropout(x, self.mask, time_axis)

    def backward(self, grad_output: ArrayLike) -> np.ndarray:
        """The gradient of the input: ``grad_output`` times the forward's mask."""
        mask, time_axis, shape = self._recorded()
        grad = as_array(grad_output, self.dtype, "grad_output")
        if grad.shape != shape:
            raise ValueError(f"LockedDropout.backward: Expected grad_output of shape {shape} (the "
                             f"output's), got {grad.shape}")
        self._consume()
        return grad if mask is None else locked_dropout(grad, mask, time_axis)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", batch_first=True" if self.batch_first else "")
