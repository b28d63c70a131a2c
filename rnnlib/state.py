"""A learnable initial state: one parameter, repeated over the batch as a layer's h_0 (or c_0)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .checks import as_array, check_shape, positive_int
from .module import Module


class InitialState(Module):
    """A learned initial state, shared by every sequence of a batch.

    It holds one parameter, ``state`` (num_states, 1, H), zeros until trained. ``forward(N)``
    returns it repeated over a batch of N sequences: the ``h_0`` (or ``c_0``) that a recurrent
    module takes. ``backward(grad_h0)`` sums the gradient of that ``h_0`` over the batch into
    ``grads["state"]``, since every sequence started from the same parameter. The torch
    equivalent::

        state = nn.Parameter(torch.zeros(num_states, 1, H))
        h_0 = state.expand(-1, N, -1).contiguous()  # (num_states, N, H)

    Args:
        num_states: the first dimension of the module's ``h_0``: 1 for one layer.
        hidden_size: H, the features of the state.
        dtype: the recurrent module's dtype, float32 or float64. Default: float32

    An LSTM takes two learned states, one ``InitialState`` for ``h_0`` and one for ``c_0``.

    Example:
        >>> from rnnlib import RNN, SGD
        >>> rnn, h0 = RNN(5, 7), InitialState(1, 7)
        >>> output, h_n = rnn(np.ones((3, 2, 5), np.float32), h0(2))  # h0(2): (1, 2, 7)
        >>> _, grad_h0 = rnn.backward(np.ones_like(output))
        >>> h0.backward(grad_h0)  # into h0.grads["state"], (1, 1, 7)
        >>> SGD([rnn, h0], lr=0.1).step()
    """

    def __init__(self, num_states: int, hidden_size: int, *, dtype: DTypeLike = np.float32):
        self.num_states = positive_int(num_states, "num_states")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        super().__init__({"state": (self.num_states, 1, self.hidden_size)}, self.hidden_size,
                         dtype, seed=None)
        self._params["state"][...] = 0  # zeros: training starts from torch's default h_0

    def forward(self, batch_size: int) -> np.ndarray:
        """The state repeated over ``batch_size`` sequences: (num_states, batch_size, H), a copy."""
        batch_size = positive_int(batch_size, "batch_size", minimum=0)
        self._tape = batch_size
        return np.repeat(self.state, batch_size, axis=1)

    def backward(self, grad_h0: ArrayLike) -> None:
        """Add ``grad_h0`` (num_states, N, H), summed over the batch, to ``grads["state"]``.

        ``grad_h0`` is the gradient of the state the latest forward call returned, as a
        recurrent module's ``backward`` returns it. Returns nothing: the state has no input.
        """
        batch_size = self._recorded()
        if isinstance(grad_h0, tuple):
            raise TypeError("InitialState.backward takes one array, got a tuple: an LSTM's "
                            "backward returns (grad_h0, grad_c0); give each to its own "
                            "InitialState")
        grad = as_array(grad_h0, self.dtype, "grad_h0")
        check_shape(grad, (self.num_states, batch_size, self.hidden_size), "grad_h0")
        self._consume()
        self._accumulate({"state": grad.sum(axis=1, keepdims=True)})  # every sequence's share

    def extra_repr(self) -> str:
        return f"{self.num_states}, {self.hidden_size}"
