"""The pointwise part of one time step of each recurrent cell, and its derivative.

Every cell receives the two affine maps of the step already computed, stacked gate by gate
in torch's order::

    gi = x_t W_ih^T + b_ih          # (N, G*H)   G = 1 (RNN), 4 (LSTM: i,f,g,o), 3 (GRU: r,z,n)
    gh = h_{t-1} W_hh^T + b_hh      # (N, G*H)

A cell's ``forward(gi, gh, h, c)`` returns ``(h_t, c_t, cache)`` (``c`` is ``None`` except for
the LSTM). Its ``backward(dh_t, dc_t, cache)`` returns ``(dgi, dgh, dh_direct, dc_prev)``: the
gradients of the two affine maps, the part of the gradient of ``h_{t-1}`` that does not flow
through ``gh`` (``0.0`` except for the GRU, where ``h_t`` mixes in ``h_{t-1}`` directly), and the
gradient of ``c_{t-1}``. The caller adds ``dgh @ W_hh`` to ``dh_direct``.

These functions are the readable reference: one line per equation, new arrays for every result.
The layers run :mod:`rnnlib.kernels`, which computes the same numbers in place and with the
sigmoid folded into a tanh (tests/test_kernels.py checks the two against each other).
"""

from typing import Callable, NamedTuple

import numpy as np


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), without overflow for any finite x."""
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def rnn_tanh(gi, gh, h, c):
    """Elman step: h_t = tanh(gi + gh)."""
    h_new = np.tanh(gi + gh)
    return h_new, None, h_new


def rnn_tanh_backward(dh, dc, h_new):
    """Derivative of :func:`rnn_tanh`: tanh' = 1 - tanh^2."""
    d = dh * (1 - h_new * h_new)
    return d, d, 0.0, None


def rnn_relu(gi, gh, h, c):
    """Elman step with ReLU: h_t = max(0, gi + gh)."""
    h_new = np.maximum(gi + gh, 0)
    return h_new, None, h_new


def rnn_relu_backward(dh, dc, h_new):
    """Derivative of :func:`rnn_relu`: 1 where the output is positive, else 0."""
    d = dh * (h_new > 0)
    return d, d, 0.0, None


def lstm(gi, gh, h, c):
    """LSTM step, gates in torch's order i, f, g, o.

    i = σ(.), f = σ(.), g = tanh(.), o = σ(.);  c_t = f*c + i*g;  h_t = o*tanh(c_t).
    """
    i, f, g, o = np.split(gi + gh, 4, axis=-1)  # 4 x (N, H)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c_new = f * c + i * g
    tanh_c = np.tanh(c_new)
    return o * tanh_c, c_new, (i, f, g, o, c, tanh_c)


def lstm_backward(dh, dc, cache):
    """Derivative of :func:`lstm`; ``dc`` is the gradient already reaching c_t from later steps."""
    i, f, g, o, c, tanh_c = cache
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    d_gates = np.concatenate(  # (N, 4*H), pre-activation gradients of i, f, g, o
        [dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
         dh * tanh_c * o * (1 - o)],
        axis=-1,
    )
    return d_gates, d_gates, 0.0, dc * f


def gru(gi, gh, h, c):
    """GRU step in torch's form, gates r, z, n.

    r = σ(i_r + h_r), z = σ(i_z + h_z), n = tanh(i_n + r*h_n), h_t = (1 - z)*n + z*h.
    The reset gate multiplies ``h_n = W_hn h + b_hn`` *after* the matrix product, as arXiv v1 of
    Cho et al. and cuDNN do; their v3 (the EMNLP paper) applies it to h before the product.
    """
    i_r, i_z, i_n = np.split(gi, 3, axis=-1)  # 3 x (N, H)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)  # 3 x (N, H)
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h, None, (r, z, n, h_n, h)


def gru_backward(dh, dc, cache):
    """Derivative of :func:`gru`; the n-gate's hidden part is scaled by r, its input part is not."""
    r, z, n, h_n, h = cache
    dn = dh * (1 - z) * (1 - n * n)  # (N, H), pre-activation of n
    dz = dh * (h - n) * z * (1 - z)
    dr = dn * h_n * r * (1 - r)
    dgi = np.concatenate([dr, dz, dn], axis=-1)  # (N, 3*H)
    dgh = np.concatenate([dr, dz, dn * r], axis=-1)
    return dgi, dgh, dh * z, None


class Cell(NamedTuple):
    """A cell kind: its number of stacked gates and its step functions."""

    gates: int
    forward: Callable
    backward: Callable


CELLS = {
    "RNN_TANH": Cell(1, rnn_tanh, rnn_tanh_backward),
    "RNN_RELU": Cell(1, rnn_relu, rnn_relu_backward),
    "LSTM": Cell(4, lstm, lstm_backward),
    "GRU": Cell(3, gru, gru_backward),
}
