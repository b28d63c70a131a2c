"""Single-step recurrent cells RNNCell, LSTMCell and GRUCell, mirroring torch.nn."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import recurrence
from .checks import (
    InputForm,
    as_array,
    check_features,
    check_ndim,
    flag,
    positive_int,
    read_state,
)
from .kernels import KERNELS
from .module import Module
from .parameters import layer_shapes


class RNNCellBase(Module):
    """What :class:`~rnnlib.RNNCell`, :class:`~rnnlib.LSTMCell` and :class:`~rnnlib.GRUCell`
    share: one time step of one layer, a recurrent layer run over a sequence of length 1."""

    def __init__(self, mode, input_size, hidden_size, bias, dtype, seed):
        self.mode = mode
        # torch's cells, unlike its layers, accept zero sizes: hidden_size=0 gives (N, 0) states
        self.input_size = positive_int(input_size, "input_size", minimum=0)
        self.hidden_size = positive_int(hidden_size, "hidden_size", minimum=0)
        self.bias = flag(bias, "bias")
        self.cell = KERNELS[mode]
        super().__init__(layer_shapes(self.cell.gates, self.input_size, self.hidden_size,
                                      self.bias), self.hidden_size, dtype, seed)

    @property
    def _state_count(self):
        return 2 if self.mode == "LSTM" else 1

    def _shapes(self, batch):
        """Shapes of h (and c): (N, H), or (H,) for unbatched input (batch None)."""
        shape = (self.hidden_size,) if batch is None else (batch, self.hidden_size)
        return [shape] * self._state_count

    def _pack_state(self, states):
        return states if self.mode == "LSTM" else states[0]

    def forward(
        self,
        input: ArrayLike,
        hx: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """One step, as torch's ``forward(input, hx=None)``.

        Args:
            input: this step's input.
            hx: the state h, or for LSTMCell the tuple ``(h, c)``. Default: None (zeros)

        Returns:
            h', or for LSTMCell ``(h', c')``; the class's docstring gives every shape.
        """
        who = type(self).__name__
        x = as_array(input, self.dtype, "input")
        check_ndim(x, (1, 2), who)
        check_features(x, self.input_size, who)
        unbatched = x.ndim == 1
        batch = None if unbatched else x.shape[0]
        form = InputForm("unbatched (1-D)", None) if unbatched else InputForm("batched (2-D)", 0)
        names = ("h", "c")[: self._state_count]
        features = ("features", "hidden_size")
        axes = [(features,) if unbatched else (None, features)] * len(names)
        states = read_state(hx, self._shapes(batch), self.dtype, names, who, form=form, axes=axes)
        n = 1 if unbatched else batch  # explicit sizes: reshape(-1, 0) is ambiguous
        rows = x.reshape(n, self.input_size)  # (N, H_in); unbatched (H_in,) -> (1, H_in)
        h, c = [s.reshape(n, self.hidden_size) for s in states] + [None] * (2 - len(states))
        _, h1, c1, tape = recurrence.forward(
            self.cell, rows, np.array([rows.shape[0]]), h, c, self._params)
        self._tape = (tape, batch)
        return self._pack_state(tuple(s.reshape(self._shapes(batch)[0])
                                      for s in (h1, c1) if s is not None))

    def backward(
        self, grad_hx: ArrayLike | tuple[ArrayLike | None, ArrayLike | None]
    ) -> tuple[np.ndarray, np.ndarray | tuple[np.ndarray, np.ndarray]]:
        """Backpropagate one step.

        Args:
            grad_hx: gradient of h' (for LSTMCell the tuple (grad_h', grad_c'), either entry may
                be None), shaped like the forward's output.

        Returns:
            ``grad_input, grad_h``, or for LSTMCell ``grad_input, (grad_h, grad_c)``. Parameter
            gradients are added to ``grads``.
        """
        tape, batch = self._recorded()
        who = f"{type(self).__name__}.backward"
        names = ("grad_h", "grad_c")[: self._state_count]
        grads = read_state(grad_hx, self._shapes(batch), self.dtype, names, who,
                           optional_entries=True)
        self._consume()
        n = 1 if batch is None else batch
        dh, dc = [g.reshape(n, self.hidden_size) for g in grads] + [None] * (2 - len(grads))
        dy = np.zeros_like(dh)  # a cell's only output is its state
        dx, dh0, dc0, param_grads = recurrence.backward(self.cell, tape, self._params, dy, dh, dc)
        self._accumulate(param_grads)
        grad_x = dx[0] if batch is None else dx
        return grad_x, self._pack_state(tuple(g.reshape(self._shapes(batch)[0])
                                              for g in (dh0, dc0) if g is not None))

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity=relu"
        return text


class RNNCell(RNNCellBase):
    r"""An Elman RNN cell, as ``torch.nn.RNNCell``.

    .. math::
        h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})

    with ReLU instead of tanh when ``nonlinearity='relu'``.

    Args:
        input_size: H_in, the number of features of the input (0 is allowed, as in torch).
        hidden_size: H, the number of features of the state (0 is allowed, as in torch's
            cells: hidden_size=0 gives (N, 0) states).
        bias: if False, the cell has no ``bias_ih`` and ``bias_hh``. Default: True
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``
        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation. Default: None (fresh entropy)

    Attributes:
        weight_ih: (H, H_in).
        weight_hh: (H, H).
        bias_ih: (H,).
        bias_hh: (H,).

    Every parameter is drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Inputs: input, h
        * **input**: (N, H_in), or unbatched (H_in,).
        * **h**: (N, H), or (H,) unbatched; zeros when omitted.

    Outputs: h'
        * **h'**: (N, H), or (H,) unbatched.

    Example:
        >>> cell = RNNCell(5, 7, seed=0)
        >>> cell(np.ones((1, 5), np.float32), np.zeros((1, 7), np.float32)).shape
        (1, 7)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, dtype: DTypeLike = np.float32,
                 seed: int | None = None):
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity {nonlinearity!r}, expected 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(modes[nonlinearity], input_size, hidden_size, bias, dtype, seed)


class LSTMCell(RNNCellBase):
    r"""An LSTM cell, as ``torch.nn.LSTMCell``: gates i, f, g, o stacked in that order.

    .. math::
        \begin{array}{ll}
        i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}) \\
        f = \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}) \\
        g = \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg}) \\
        o = \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho}) \\
        c' = f \odot c + i \odot g \\
        h' = o \odot \tanh(c')
        \end{array}

    Args:
        input_size: H_in, the number of features of the input.
        hidden_size: H, the number of features of the states h and c.
        bias: if False, the cell has no ``bias_ih`` and ``bias_hh``. Default: True
        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation. Default: None (fresh entropy)

    Attributes:
        weight_ih: (4H, H_in), stacked as W_ii|W_if|W_ig|W_io.
        weight_hh: (4H, H), stacked as W_hi|W_hf|W_hg|W_ho.
        bias_ih: (4H,).
        bias_hh: (4H,).

    Every parameter is drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Inputs: input, (h, c)
        * **input**: (N, H_in), or unbatched (H_in,).
        * **h**, **c**: (N, H) each, or (H,) unbatched; zeros when omitted.

    Outputs: (h', c')
        * **h'**, **c'**: (N, H) each, or (H,) unbatched.

    Example:
        >>> cell = LSTMCell(10, 20)
        >>> h, c = cell(np.zeros((1, 10), np.float32))
        >>> h.shape, c.shape
        ((1, 20), (1, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: DTypeLike = np.float32, seed: int | None = None):
        super().__init__("LSTM", input_size, hidden_size, bias, dtype, seed)


class GRUCell(RNNCellBase):
    r"""A GRU cell, as ``torch.nn.GRUCell``: gates r, z, n stacked in that order.

    .. math::
        \begin{array}{ll}
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \\
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})) \\
        h' = (1 - z) \odot n + z \odot h
        \end{array}

    Args:
        input_size: H_in, the number of features of the input.
        hidden_size: H, the number of features of the state h.
        bias: if False, the cell has no ``bias_ih`` and ``bias_hh``. Default: True
        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation. Default: None (fresh entropy)

    Attributes:
        weight_ih: (3H, H_in), stacked as W_ir|W_iz|W_in.
        weight_hh: (3H, H), stacked as W_hr|W_hz|W_hn.
        bias_ih: (3H,).
        bias_hh: (3H,).

    Every parameter is drawn from U(-1/sqrt(H), 1/sqrt(H)).

    Inputs: input, h
        * **input**: (N, H_in), or unbatched (H_in,).
        * **h**: (N, H), or (H,) unbatched; zeros when omitted.

    Outputs: h'
        * **h'**: (N, H), or (H,) unbatched.

    Example:
        >>> GRUCell(3, 4)(np.zeros(3, np.float32)).shape
        (4,)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 dtype: DTypeLike = np.float32, seed: int | None = None):
        super().__init__("GRU", input_size, hidden_size, bias, dtype, seed)
