"""The in-place step kernels that :mod:`rnnlib.recurrence` runs; the math is the reference's.

The cells of :mod:`rnnlib.reference` say what one step computes, one readable line per equation,
each allocating its results. The kernels here compute the same numbers (tests/test_fast_path.py
checks the modules that run them against the reference, and the other tests against torch.nn)
in the way that is fast in NumPy:

* **Folded sigmoid.** σ(x) = (1 + tanh(x/2)) / 2. The recurrence multiplies the weight rows and
  biases of every sigmoid gate by ``scales`` (1/2) once per call, so a single ``np.tanh`` over
  the whole (n, G*H) block of gates activates all of them, and ``t * 1/2 + 1/2`` then turns
  the sigmoid gates' tanh into σ. tanh never overflows, so neither does this σ.
* **In place.** Every ufunc writes with ``out=`` into the recurrence's preallocated buffers:
  no array is created per time step.
* **The backward in one pass per step.** A gate's derivative with respect to its
  pre-activation (σ' = σ(1 - σ), tanh' = 1 - tanh²) depends only on the forward's values,
  so it could be computed for all steps at once before the loop. It is not: that pass would
  write every factor, (T, G*H) in all, to main memory and read it back at its step, and the
  chapter on performance measures it slower than computing each factor at its own step, on
  one step's rows, while they are still in the cache. Each backward writes its factors
  straight into the gradient buffers it fills.

A :class:`Kernel` step works on one time step's ``n`` rows:

* ``forward(a, gh, h, c, saved, tmp, out)``: ``a`` (n, G*H) holds the step's pre-activations
  x W_ih^T + b with the recurrent product ``gh`` = h_{t-1} W_hh^T (n, G*H) not yet added;
  the kernel overwrites ``a`` (LSTM, GRU: with the activated gates, kept for the backward;
  RNN: ``out`` is ``a`` itself, so h_t takes the pre-activations' place),
  reads h_{t-1} from ``h``, updates the running cell state ``c`` (n, H) in place (LSTM; else None),
  fills its ``saved`` buffers and writes h_t (the cell's output, before any projection) into
  ``out`` (n, H). ``tmp`` (n, H) is scratch.
* ``backward(dh, dc, kept, saved, h_prev, dgi, dgh, tmp)``: ``dh`` (n, H) is the gradient
  reaching h_t; ``kept`` is this step's rows of what the forward kept (the activated gates, or
  for the RNN its outputs h_t), ``saved`` its rows of the saved buffers and ``h_prev`` (n, H)
  the state h_{t-1}. It writes the pre-activation gradients of the input and recurrent
  products into ``dgi`` and ``dgh`` (n, G*H; the same array except for the GRU), turns ``dc``
  into the gradient of c_{t-1} in place (LSTM), and returns the part of the gradient of
  h_{t-1} that bypasses W_hh (GRU, in ``tmp``), else None.
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


def rnn_relu_forward(a, gh, h, c, saved, tmp, out):
    """h_t = max(0, a + gh)."""
    a += gh
    np.maximum(a, 0, out=out)


def rnn_tanh_backward(dh, dc, y, saved, h_prev, dgi, dgh, tmp):
    """δa = δh * (1 - h_t²), from the step's output h_t; dgi and dgh are one array."""
    np.multiply(y, y, out=dgi)
    np.subtract(1, dgi, out=dgi)
    dgi *= dh


def rnn_relu_backward(dh, dc, y, saved, h_prev, dgi, dgh, tmp):
    """δa = δh where h_t > 0, else 0: the sign of h_t = max(0, a) is relu'(a), 0 at a = 0."""
    np.sign(y, out=dgi)
    dgi *= dh


# per LSTM gate, as (4, 1) to scale a step's (n, 4, H) view: σ = t/2 + 1/2 for i, f, o; g kept
_LSTM_HALF = np.array([[0.5], [0.5], [1.0], [0.5]], np.float32)
_LSTM_HALF_SHIFT = np.array([[0.5], [0.5], [0.0], [0.5]], np.float32)


def lstm_forward(a, gh, h, c, saved, tmp, out):
    """c_t = f*c + i*g, h_t = o*tanh(c_t); ``saved`` = (c_prev, tanh_c), each (n, H)."""
    c_prev, tanh_c = saved
    H = c.shape[1]
    a += gh
    np.tanh(a, out=a)  # tanh of i/2, f/2, o/2 (halved weights) and of g, in one call
    by_gate = a.reshape(a.shape[0], 4, H, copy=False)  # (n, 4, H), a view
    by_gate *= _LSTM_HALF  # i, f, o: σ = (1 + t) / 2; g: t * 1 + 0, unchanged
    by_gate += _LSTM_HALF_SHIFT
    i, f, g = a[:, :H], a[:, H: 2 * H], a[:, 2 * H: 3 * H]  # (n, H) views
    c_prev[...] = c
    c *= f
    np.multiply(i, g, out=tmp)
    c += tmp
    np.tanh(c, out=tanh_c)
    np.multiply(a[:, 3 * H:], tanh_c, out=out)  # h_t = o * tanh(c_t)


def lstm_backward(dh, dc, gates, saved, h_prev, dgi, dgh, tmp):
    """δo, then δc += δh*o*(1 - tanh²c), then δi, δf, δg; dc becomes δc_{t-1} = δc * f.

    The sigmoid gates' σ(1 - σ) and the products by δc are made for all gates in one call
    each, where the gates sit side by side: at small N a step's time is the number of calls.
    """
    c_prev, tanh_c = saved
    n, hidden = dh.shape
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))  # (n, H) views
    di, df, dg, do = (dgi[:, k * hidden:(k + 1) * hidden] for k in range(4))
    np.subtract(1, gates, out=dgi)  # σ(1 - σ) for i, f and o (g's is replaced below)
    dgi *= gates
    np.multiply(g, g, out=dg)  # 1 - g²
    np.subtract(1, dg, out=dg)
    do *= tanh_c  # δo = δh * tanh c * o(1 - o)
    do *= dh
    np.multiply(tanh_c, tanh_c, out=tmp)  # δc += δh * o * (1 - tanh² c)
    np.subtract(1, tmp, out=tmp)
    tmp *= o
    tmp *= dh
    dc += tmp
    di *= g  # δi = δc * g * i(1 - i)
    df *= c_prev  # δf = δc * c_{t-1} * f(1 - f)
    dg *= i  # δg = δc * i * (1 - g²)
    dgi[:, : 3 * hidden].reshape(n, 3, hidden, copy=False)[...] *= dc[:, None]  # i, f, g
    dc *= f


def gru_forward(a, gh, h, c, saved, tmp, out):
    """r, z = σ(.), n = tanh(i_n + r*q), h_t = n + z*(h - n); ``saved`` = (q,), (n, H)."""
    (q,) = saved
    hidden = out.shape[1]
    rz, i_n = a[:, : 2 * hidden], a[:, 2 * hidden:]  # (n, 2H), (n, H)
    rz += gh[:, : 2 * hidden]
    np.tanh(rz, out=rz)
    sigmoid_from_tanh(rz)
    r, z = rz[:, :hidden], rz[:, hidden:]
    q[...] = gh[:, 2 * hidden:]  # q = h W_hn^T + b_hn, kept for the backward
    np.multiply(r, q, out=tmp)
    i_n += tmp
    np.tanh(i_n, out=i_n)  # n
    np.subtract(h, i_n, out=tmp)
    tmp *= z
    np.add(i_n, tmp, out=out)


def gru_backward(dh, dc, gates, saved, h_prev, dgi, dgh, tmp):
    """The n gate's hidden part is scaled by r, its input part is not; h_t depends on h directly."""
    (q,) = saved
    hidden = dh.shape[1]
    r, z, n = (gates[:, k * hidden:(k + 1) * hidden] for k in range(3))  # (n, H) views
    dr, dz, dn = (dgi[:, k * hidden:(k + 1) * hidden] for k in range(3))
    np.subtract(1, z, out=tmp)  # 1 - z, for δn and δz
    np.multiply(n, n, out=dn)  # δn_pre = δh * (1 - z) * (1 - n²)
    np.subtract(1, dn, out=dn)
    dn *= tmp
    dn *= dh
    np.subtract(h_prev, n, out=dz)  # δz = δh * (h_{t-1} - n) * z(1 - z)
    dz *= z
    dz *= tmp
    dz *= dh
    np.subtract(1, r, out=dr)  # δr = δn_pre * q * r(1 - r)
    dr *= r
    dr *= q
    dr *= dn
    dgh[:, : 2 * hidden] = dgi[:, : 2 * hidden]
    np.multiply(dn, r, out=dgh[:, 2 * hidden:])  # δq = δn_pre * r
    return np.multiply(dh, z, out=tmp)  # ∂h_t/∂h_{t-1} = z, besides the path through W_hh


class Kernel(NamedTuple):
    """A cell kind as the recurrence runs it.

    ``scales``: per gate, 1/2 for a sigmoid gate (folded into its weights), 1 otherwise.
    ``saved``: how many (T, H) buffers the forward keeps besides the gates. ``keeps_output``:
    the step writes h_t over its pre-activations, and the backward reads h_t (RNN).
    ``inner_bias``: the last gate's ``b_hh`` stays inside the recurrent term (GRU), so it
    cannot join the input projection's bias. ``separate_dgh``: the two products get different
    gradients (GRU).
    """

    gates: int
    scales: tuple
    saved: int
    forward: Callable
    backward: Callable
    keeps_output: bool = False
    inner_bias: bool = False
    separate_dgh: bool = False


KERNELS = {
    "RNN_TANH": Kernel(1, (1.0,), 0, rnn_tanh_forward, rnn_tanh_backward,
                       keeps_output=True),
    "RNN_RELU": Kernel(1, (1.0,), 0, rnn_relu_forward, rnn_relu_backward,
                       keeps_output=True),
    "LSTM": Kernel(4, (0.5, 0.5, 1.0, 0.5), 2, lstm_forward, lstm_backward),
    "GRU": Kernel(3, (0.5, 0.5, 1.0), 1, gru_forward, gru_backward,
                  inner_bias=True, separate_dgh=True),
}
