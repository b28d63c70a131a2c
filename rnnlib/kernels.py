"""The in-place step kernels that :mod:`rnnlib.recurrence` runs; :mod:`rnnlib.cells` has the math.

The functions in :mod:`rnnlib.cells` say what one step computes, one readable line per equation,
each allocating its results. The kernels here compute the same numbers (the tests check them
against those functions and against torch.nn) in the way that is fast in NumPy:

* **Folded sigmoid.** σ(x) = (1 + tanh(x/2)) / 2. The recurrence multiplies the weight rows and
  biases of every sigmoid gate by ``scales`` (1/2) once per call, so a single ``np.tanh`` over
  the whole (n, G*H) block of gates activates all of them, and ``t * 1/2 + 1/2`` then turns
  the sigmoid gates' tanh into σ. tanh never overflows, so neither does this σ.
* **In place.** Every ufunc writes with ``out=`` into the recurrence's preallocated buffers:
  no array is created per time step.
* **Local derivatives for all steps at once.** A gate's derivative with respect to its
  pre-activation depends only on the forward's values, not on the gradient flowing back, so
  :func:`lstm_local` and friends compute those factors for every time step in a few
  whole-array operations; the per-step backward only multiplies them by the incoming gradient.

A :class:`Kernel` step works on one time step's ``n`` rows:

* ``forward(a, gh, h, c, saved, tmp, out)``: ``a`` (n, G*H) holds the step's pre-activations
  x W_ih^T + b with the recurrent product ``gh`` = h_{t-1} W_hh^T (n, G*H) not yet added;
  the kernel overwrites ``a`` (LSTM, GRU: with the activated gates, kept for the backward),
  reads h_{t-1} from ``h``, updates the running cell state ``c`` (n, H) in place (LSTM; else None),
  fills its ``saved`` buffers and writes h_t (the cell's output, before any projection) into
  ``out`` (n, H). ``tmp`` (n, H) is scratch.
* ``local(kept, saved, h_prev)``: the tuple of derivative factors for all T rows, from what the
  forward kept (the activated gates, or for the RNN its outputs h_t), the saved buffers and
  the states h_{t-1}, each (T, ·).
* ``backward(dh, dc, local, dgi, dgh, tmp)``: ``dh`` (n, H) is the gradient reaching h_t;
  writes the pre-activation gradients of the input and recurrent products into ``dgi`` and
  ``dgh`` (the same array except for the GRU), turns ``dc`` into the gradient of c_{t-1} in
  place (LSTM), and returns the part of the gradient of h_{t-1} that bypasses W_hh (GRU, in
  ``tmp``), else None.
"""

from typing import Callable, NamedTuple

import numpy as np


def sigmoid_from_tanh(t):
    """In place: t = tanh(x/2) becomes σ(x) = (1 + t) / 2."""
    t *= 0.5
    t += 0.5


def rnn_tanh_forward(a, gh, h, c, saved, tmp, out):
    """h_t = tanh(a + gh)."""
    a += gh
    np.tanh(a, out=out)


def rnn_tanh_local(y, saved, h_prev):
    """tanh' = 1 - h_t^2 for every row, from the layer's output y (T, H)."""
    return (1 - y * y,)


def rnn_relu_forward(a, gh, h, c, saved, tmp, out):
    """h_t = max(0, a + gh)."""
    a += gh
    np.maximum(a, 0, out=out)


def rnn_relu_local(y, saved, h_prev):
    """relu' = 1 where h_t > 0, else 0, for every row."""
    return ((y > 0).astype(y.dtype),)


def rnn_backward(dh, dc, local, dgi, dgh, tmp):
    """d(pre-activation) = dh * act'; dgi and dgh are one array."""
    np.multiply(dh, local[0], out=dgi)


def lstm_forward(a, gh, h, c, saved, tmp, out):
    """c_t = f*c + i*g, h_t = o*tanh(c_t); ``saved`` = (c_prev, tanh_c), each (n, H)."""
    c_prev, tanh_c = saved
    H = c.shape[1]
    a += gh
    np.tanh(a, out=a)  # tanh of i/2, f/2, o/2 (halved weights) and of g, in one call
    sigmoid_from_tanh(a[:, : 2 * H])  # i and f are adjacent
    sigmoid_from_tanh(a[:, 3 * H:])  # o
    i, f, g = a[:, :H], a[:, H: 2 * H], a[:, 2 * H: 3 * H]  # (n, H) views
    c_prev[...] = c
    c *= f
    np.multiply(i, g, out=tmp)
    c += tmp
    np.tanh(c, out=tanh_c)
    np.multiply(a[:, 3 * H:], tanh_c, out=out)  # h_t = o * tanh(c_t)


def lstm_local(gates, saved, h_prev):
    """For all T rows: ∂h/∂o_pre, ∂h/∂c, ∂c/∂(i, f, g)_pre (T, 3, H), and f (∂c_t/∂c_{t-1})."""
    c_prev, tanh_c = saved
    i, f, g, o = np.split(gates, 4, axis=1)  # 4 x (T, H)
    d_o = tanh_c * o * (1 - o)
    d_c = o * (1 - tanh_c * tanh_c)
    d_ifg = np.stack([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], axis=1)
    return d_o, d_c, d_ifg, f


def lstm_backward(dh, dc, local, dgi, dgh, tmp):
    """dc += dh * ∂h/∂c, then the four gates' gradients, then dc becomes dc * f."""
    d_o, d_c, d_ifg, f = local
    hidden = dh.shape[1]
    np.multiply(dh, d_o, out=dgi[:, 3 * hidden:])
    np.multiply(dh, d_c, out=tmp)
    dc += tmp
    np.multiply(d_ifg, dc[:, None, :], out=dgi[:, : 3 * hidden].reshape(dh.shape[0], 3, hidden))
    dc *= f


def gru_forward(a, gh, h, c, saved, tmp, out):
    """r, z = σ(.), n = tanh(i_n + r*h_n), h_t = n + z*(h - n); ``saved`` = (h_n,), (n, H)."""
    (hn,) = saved
    hidden = out.shape[1]
    rz, i_n = a[:, : 2 * hidden], a[:, 2 * hidden:]  # (n, 2H), (n, H)
    rz += gh[:, : 2 * hidden]
    np.tanh(rz, out=rz)
    sigmoid_from_tanh(rz)
    r, z = rz[:, :hidden], rz[:, hidden:]
    hn[...] = gh[:, 2 * hidden:]  # h_n = W_hn h + b_hn, kept for the backward
    np.multiply(r, hn, out=tmp)
    i_n += tmp
    np.tanh(i_n, out=i_n)  # n
    np.subtract(h, i_n, out=tmp)
    tmp *= z
    np.add(i_n, tmp, out=out)


def gru_local(gates, saved, h_prev):
    """For all T rows: ∂h/∂n_pre, ∂h/∂z_pre, ∂n_pre/∂r_pre, r (scales h_n) and z (∂h/∂h)."""
    (hn,) = saved
    r, z, n = np.split(gates, 3, axis=1)  # 3 x (T, H)
    return (1 - z) * (1 - n * n), (h_prev - n) * z * (1 - z), hn * r * (1 - r), r, z


def gru_backward(dh, dc, local, dgi, dgh, tmp):
    """The n gate's hidden part is scaled by r, its input part is not; h_t depends on h directly."""
    d_n, d_z, d_r, r, z = local
    hidden = dh.shape[1]
    dn = dgi[:, 2 * hidden:]
    np.multiply(dh, d_n, out=dn)
    np.multiply(dh, d_z, out=dgi[:, hidden: 2 * hidden])
    np.multiply(dn, d_r, out=dgi[:, :hidden])
    dgh[:, : 2 * hidden] = dgi[:, : 2 * hidden]
    np.multiply(dn, r, out=dgh[:, 2 * hidden:])
    return np.multiply(dh, z, out=tmp)


class Kernel(NamedTuple):
    """A cell kind as the recurrence runs it.

    ``scales``: per gate, 1/2 for a sigmoid gate (folded into its weights), 1 otherwise.
    ``saved``: how many (T, H) buffers the forward keeps besides the gates. ``keeps_output``:
    the backward reads the outputs h_t instead of the gates (RNN). ``inner_bias``: the
    last gate's ``b_hh`` stays inside the recurrent term (GRU), so it cannot join the input
    projection's bias. ``separate_dgh``: the two products get different gradients (GRU).
    """

    gates: int
    scales: tuple
    saved: int
    forward: Callable
    local: Callable
    backward: Callable
    keeps_output: bool = False
    inner_bias: bool = False
    separate_dgh: bool = False


KERNELS = {
    "RNN_TANH": Kernel(1, (1.0,), 0, rnn_tanh_forward, rnn_tanh_local, rnn_backward,
                       keeps_output=True),
    "RNN_RELU": Kernel(1, (1.0,), 0, rnn_relu_forward, rnn_relu_local, rnn_backward,
                       keeps_output=True),
    "LSTM": Kernel(4, (0.5, 0.5, 1.0, 0.5), 2, lstm_forward, lstm_local, lstm_backward),
    "GRU": Kernel(3, (0.5, 0.5, 1.0), 1, gru_forward, gru_local, gru_backward,
                  inner_bias=True, separate_dgh=True),
}
