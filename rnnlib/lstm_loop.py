"""An LSTM run step by step by its cell, so that its state can be regularised between steps."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .cellmodules import LSTMCell
from .checks import (
    InputForm,
    as_array,
    check_features,
    check_ndim,
    check_shape,
    check_steps,
    flag,
    probability,
    read_state,
)
from .reference import dropout_mask


def zoneout_pair(zoneout):
    """``zoneout`` (one probability, or a pair for h and c) as the pair (ζ_h, ζ_c)."""
    if isinstance(zoneout, numbers.Real) and not isinstance(zoneout, bool):
        zoneout = (zoneout, zoneout)
    if not isinstance(zoneout, (tuple, list)) or len(zoneout) != 2:
        raise TypeError(f"zoneout must be a probability, or a pair (zeta_h, zeta_c) of "
                        f"probabilities for h and for c, got {zoneout!r}")
    return probability(zoneout[0], "zoneout zeta_h"), probability(zoneout[1], "zoneout zeta_c")


class LSTMLoop(LSTMCell):
    r"""A one-layer LSTM computed one step at a time by its cell, with the two regularisers
    that act between steps: dropout of the recurrent state, and zoneout.

    .. math::
        (h'_t, c'_t) = \mathrm{cell}(x_t, (h_{t-1} \odot \xi_h, c_{t-1})), \qquad
        h_t = \kappa^h_t \odot h_{t-1} + (1 - \kappa^h_t) \odot h'_t, \qquad
        c_t = \kappa^c_t \odot c_{t-1} + (1 - \kappa^c_t) \odot c'_t

    In training mode :math:`\xi_h` (N, H) is drawn once per call, 0 with probability
    ``recurrent_dropout`` and 1/(1-p) otherwise, and reused at every step (Gal and
    Ghahramani's variational dropout of h, where it enters :math:`W_{hh}`); the zoneout masks
    :math:`\kappa^h_t, \kappa^c_t` (N, H) are 1 with probabilities :math:`\zeta_h, \zeta_c`
    and are drawn afresh at every step (Krueger et al.): a unit that "zones out" keeps its
    previous value. In evaluation mode :math:`\xi_h = 1` and :math:`\kappa^h_t = \zeta_h`,
    :math:`\kappa^c_t = \zeta_c`, the masks' means. With both options 0 it is
    ``nn.LSTM(input_size, hidden_size)`` with the cell's parameter names.

    The masks are drawn from ``generator`` in this order: :math:`\xi_h`, then :math:`\kappa^h` and
    :math:`\kappa^c` for all steps, each (L, N, H), each only when its probability is non-zero.

    Args:
        input_size: H_in, the features of each step.
        hidden_size: H, the size of h and c.
        bias: if False, the cell has no biases. Default: True
        batch_first: if True, input and output are (N, L, ·). Default: False
        recurrent_dropout: the probability p of zeroing an entry of h where it enters
            :math:`W_{hh}`. Default: 0.0
        zoneout: :math:`\zeta` for both h and c, or a pair (:math:`\zeta_h, \zeta_c`).
            Default: 0.0
        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation U(-1/sqrt(H), 1/sqrt(H)), then the masks. Default: None
            (fresh entropy)

    Attributes:
        weight_ih: (4H, H_in), as :class:`LSTMCell`'s.
        weight_hh: (4H, H).
        bias_ih: (4H,).
        bias_hh: (4H,).
        recurrent_mask: :math:`\xi_h` (N, H) of the latest training-mode call, else None.
        zoneout_masks: the pair (:math:`\kappa^h`, :math:`\kappa^c`), each (L, N, H), of the
            latest training-mode call with zoneout, else None.

    Shape:
        - Input: ``(L, N, H_in)``, or ``(N, L, H_in)`` with ``batch_first``; ``h_0`` and
          ``c_0``: ``(N, H)``, zeros when omitted.
        - Output: ``(L, N, H)`` (or ``(N, L, H)``), h_t at every step; ``h_n`` and ``c_n``:
          ``(N, H)``, the last step's state.

    Example:
        >>> from rnnlib import LSTMLoop
        >>> lstm = LSTMLoop(3, 5, recurrent_dropout=0.25, zoneout=(0.05, 0.5), seed=0)
        >>> output, (h_n, c_n) = lstm(np.zeros((7, 2, 3), np.float32))
        >>> output.shape, h_n.shape, lstm.zoneout_masks[1].shape
        ((7, 2, 5), (2, 5), (7, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 batch_first: bool = False, recurrent_dropout: float = 0.0,
                 zoneout: float | tuple[float, float] = 0.0, *, dtype: DTypeLike = np.float32,
                 seed: int | None = None):
        self.batch_first = flag(batch_first, "batch_first")
        self.recurrent_dropout = probability(recurrent_dropout, "recurrent_dropout")
        self.zoneout = zoneout_pair(zoneout)
        self.recurrent_mask: np.ndarray | None = None
        self.zoneout_masks: tuple[np.ndarray, np.ndarray] | None = None
        super().__init__(input_size, hidden_size, bias, dtype=dtype, seed=seed)

    def _draw_masks(self, steps, batch):
        """ξ_h (or None) and the zoneout pair (or None) for a training-mode call."""
        shape = (batch, self.hidden_size)
        xi = (dropout_mask(shape, self.recurrent_dropout, self.generator).astype(self.dtype)
              if self.recurrent_dropout else None)
        zoneout = None
        if any(self.zoneout):
            zoneout = tuple((self.generator.random((steps, *shape)) < z).astype(self.dtype)
                            if z else np.zeros((steps, *shape), self.dtype) for z in self.zoneout)
        return xi, zoneout

    def forward(
        self,
        input: ArrayLike,
        hx: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Run the cell over every step.

        Args:
            input: the sequence.
            hx: the initial ``(h_0, c_0)``. Default: None (zeros)

        Returns:
            ``output, (h_n, c_n)``; see the class docstring for shapes.
        """
        who = "LSTMLoop"
        x = as_array(input, self.dtype, "input")
        check_ndim(x, (3,), who)
        check_features(x, self.input_size, who)
        check_steps(x.shape[1 if self.batch_first else 0], x.shape, who)
        x = x.swapaxes(0, 1) if self.batch_first else x  # (L, N, H_in)
        steps, batch = x.shape[:2]
        h, c = read_state(hx, [(batch, self.hidden_size)] * 2, self.dtype, ("h_0", "c_0"), who,
                          form=InputForm("batched (3-D)", 0))
        self.recurrent_mask, self.zoneout_masks = (self._draw_masks(steps, batch)
                                                   if self.training else (None, None))
        xi = 1 if self.recurrent_mask is None else self.recurrent_mask
        keep = (self.zoneout_masks if self.zoneout_masks is not None
                else [np.full((steps, 1, 1), z, self.dtype) for z in self.zoneout])  # (L, ·, ·)
        tapes, outputs = [], []
        for t, x_t in enumerate(x):
            new_h, new_c = super().forward(x_t, (h * xi, c))  # the cell's step, (N, H) each
            tapes.append(self._tape)
            h = keep[0][t] * h + (1 - keep[0][t]) * new_h
            c = keep[1][t] * c + (1 - keep[1][t]) * new_c
            outputs.append(h)
        self._tape = (tapes, xi, keep, x.shape)
        output = np.stack(outputs)  # (L, N, H)
        return output.swapaxes(0, 1) if self.batch_first else output, (h, c)

    def backward(
        self,
        grad_output: ArrayLike | None = None,
        grad_hx: tuple[ArrayLike | None, ArrayLike | None] | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Backpropagate through every step of the latest forward call.

        Args:
            grad_output: the gradient of ``output``, shaped like it. Default: None (zeros)
            grad_hx: the pair (grad_h_n, grad_c_n), either may be None. Default: None (zeros)

        Returns:
            ``grad_input, (grad_h_0, grad_c_0)``. Parameter gradients are added to ``grads``.
        """
        tapes, xi, keep, shape = self._recorded()
        who = "LSTMLoop.backward"
        steps, batch = shape[:2]
        dy = np.zeros((steps, batch, self.hidden_size), self.dtype)  # (L, N, H)
        if grad_output is not None:
            grad = as_array(grad_output, self.dtype, "grad_output")
            check_shape(grad, dy.swapaxes(0, 1).shape if self.batch_first else dy.shape,
                        f"grad_output in {who} (the output's shape)")
            dy = grad.swapaxes(0, 1) if self.batch_first else grad
        dh, dc = read_state(grad_hx, [(batch, self.hidden_size)] * 2, self.dtype,
                            ("grad_h_n", "grad_c_n"), who, optional_entries=True)
        dx = np.empty(shape, self.dtype)  # (L, N, H_in)
        for t in reversed(range(steps)):
            dh = dh + dy[t]  # h_t feeds the output and the next step
            self._tape = tapes[t]  # the cell's backward consumes its own step's record
            dx[t], (dh_cell, dc_cell) = super().backward(((1 - keep[0][t]) * dh,
                                                          (1 - keep[1][t]) * dc))
            dh, dc = keep[0][t] * dh + dh_cell * xi, keep[1][t] * dc + dc_cell
        return dx.swapaxes(0, 1) if self.batch_first else dx, (dh, dc)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.batch_first:
            text += ", batch_first=True"
        if self.recurrent_dropout:
            text += f", recurrent_dropout={self.recurrent_dropout}"
        if any(self.zoneout):
            text += f", zoneout={self.zoneout}"
        return text
