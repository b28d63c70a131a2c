"""One direction of one recurrent layer over a packed sequence: forward, and backward through time.

Every input form (time-major, batch-first, unbatched, packed) reaches this file as *packed rows*:
``x`` of shape (T, H_in) holds time step 0's rows, then time step 1's, and so on, and
``batch_sizes[t]`` says how many rows step t has (non-increasing: sequences are sorted by
decreasing length, so the sequences still running at step t are the first ``batch_sizes[t]``).
A padded (L, N, H_in) batch is the special case ``batch_sizes = [N] * L``.

At step t only the first ``batch_sizes[t]`` rows of the state advance; the others keep their value.
Running forward, a finished sequence therefore keeps its last state, which becomes its ``h_n``.
Running in reverse, a sequence keeps ``h_0`` until its own last step, so the reverse direction
starts at each sequence's true end.

How it is fast (the chapter on performance measures each point):

* the matrix products that do not depend on the previous step are done for all steps at once:
  the input projection x W_ih^T + b (one product, into a preallocated buffer) and, in the
  backward, the weight gradients and the input gradient (one product over all steps each);
* a step is one matrix product h_{t-1} W_hh^T for all gates, written with ``out=``, and a
  :mod:`rnnlib.kernels` step that works in place, in the forward and in the backward (which
  computes the gates' derivatives at their own step, while that step's rows are in the
  cache); no array is created inside the loop;
* the forward keeps only what the backward needs: the activated gates (for the RNN, its
  outputs), the states h_{t-1}, and the kernel's ``saved`` buffers (for the LSTM c_{t-1} and
  tanh c_t; for the GRU q = h W_hn^T + b_hn).
"""

from typing import NamedTuple

import numpy as np


class Tape(NamedTuple):
    """What the forward pass keeps for the backward pass (T rows each, in packed order)."""

    x: np.ndarray  # (T, H_in) the layer's input rows
    kept: np.ndarray  # (T, G*H) the activated gates, or for the RNN (T, H) its output rows
    h_prev: np.ndarray  # (T, H_out) the state each row was computed from
    saved: tuple  # the kernel's (T, H) buffers
    m: np.ndarray | None  # (T, H) LSTM output before the projection, when there is one
    steps: list  # (lo, hi) row ranges, in processing order


def step_ranges(batch_sizes, reverse):
    """The (lo, hi) packed-row range of every time step, in the order they are processed."""
    ends = np.cumsum(batch_sizes)
    ranges = [(int(end - size), int(end)) for size, end in zip(batch_sizes, ends, strict=True)]
    return ranges[::-1] if reverse else ranges


def affine(x, weight, bias):
    """x W^T + b, with no bias when ``bias`` is None."""
    out = x @ weight.T
    return out if bias is None else out + bias


def fold(cell, w):
    """The weights as one call uses them: sigmoid gates' rows times 1/2, biases summed.

    Returns the transposed weights ``w_ih_t`` (H_in, G*H) and ``w_hh_t`` (H_out, G*H) with each
    gate's columns multiplied by its ``cell.scales`` entry (σ(x) = (1 + tanh(x/2))/2, see
    :mod:`rnnlib.kernels`), the bias (G*H,) of the input projection, b_ih + b_hh scaled alike
    (None without biases), and the GRU's b_hn (H,), which stays inside r * (W_hn h + b_hn)
    (else None). The transposes are copies, made once per call (scaling the columns copies them
    anyway); whether BLAS reads a copy or a transposed view faster is not what this is for.
    """
    hidden = w["weight_hh"].shape[0] // cell.gates
    scale = np.repeat(np.asarray(cell.scales, w["weight_hh"].dtype), hidden)  # (G*H,)
    w_ih, w_hh = (np.ascontiguousarray(w[name].T) * scale for name in ("weight_ih", "weight_hh"))
    if "bias_ih" not in w:
        return w_ih, w_hh, None, None
    b_hh, b_inner = w["bias_hh"], None
    if cell.inner_bias:
        b_inner = b_hh[-hidden:]
        b_hh = np.concatenate([b_hh[:-hidden], np.zeros_like(b_inner)])
    return w_ih, w_hh, (w["bias_ih"] + b_hh) * scale, b_inner


def chunks(steps, size):
    """The steps in runs of ``size``, each with its packed rows' range (lo, hi)."""
    for start in range(0, len(steps), size):
        part = steps[start:start + size]
        yield part, min(lo for lo, _ in part), max(hi for _, hi in part)


def forward(cell, x, batch_sizes, h0, c0, w, reverse=False, empty=np.empty, stage=None):
    """Run ``cell`` over the packed rows ``x``.

    Args:
        cell: a :class:`rnnlib.kernels.Kernel`.
        x: (T, H_in) packed rows, or None with ``stage``.
        batch_sizes: (L,) rows per time step.
        h0: (N, H_out) initial state, N = batch_sizes[0]; c0: (N, H) for the LSTM, else None.
        w: dict with ``weight_ih`` (G*H, H_in), ``weight_hh`` (G*H, H_out), and optionally
            ``bias_ih``, ``bias_hh`` (G*H,) and ``weight_hr`` (H_out, H).
        reverse: process the time steps from last to first.
        empty: makes the tape's buffers and the scratch, ``empty(shape, dtype)``: ``np.empty``,
            or a module's :class:`rnnlib.workspace.Workspace` ``.empty`` to reuse the previous
            call's. ``y`` is a new array, but for the RNN, whose ``y`` is its tape's buffer:
            copy it before the next call with the same ``empty``.
        stage: None, or this layer's :class:`rnnlib.concurrency.Stage` in a wavefront (one
            direction, not reversed): the steps run in chunks of ``stage.chunk``; before a
            chunk, ``stage.take(hi)`` returns the input, whose rows [0, hi) are then final, and
            after it ``stage.give(y, hi)`` says the same of y.

    Returns:
        y (T, H_out), h_n (N, H_out), c_n (N, H) or None, and the :class:`Tape`.
    """
    w_ih_t, w_hh_t, bias, b_inner = fold(cell, w)
    w_hr = w.get("weight_hr")
    rows, batch, hidden = int(np.sum(batch_sizes)), h0.shape[0], w_hh_t.shape[1] // cell.gates
    dtype = h0.dtype
    gates = empty((rows, w_ih_t.shape[1]), dtype)  # (T, G*H)
    # (T, H_out): the RNN writes h_t over its pre-activations, which its backward does not
    # need, and keeps h_t in the tape instead; for the others a new array
    y = gates if cell.keeps_output else np.empty((rows, h0.shape[1]), dtype)
    h_prev = empty(y.shape, dtype)
    m = None if w_hr is None else empty((rows, hidden), dtype)  # (T, H)
    out = y if m is None else m  # where the cell writes h_t
    saved = tuple(empty((rows, hidden), dtype) for _ in range(cell.saved))
    gh = empty((batch, gates.shape[1]), dtype)  # (N, G*H) scratch: h_{t-1} W_hh^T
    tmp = empty((batch, hidden), dtype)  # (N, H) scratch
    h = h0.copy()  # the running state; rows past a step's n keep their value
    c = None if c0 is None else c0.copy()
    steps = step_ranges(batch_sizes, reverse)
    # without a stage, one chunk: the input projection is one product for all steps
    for part, first, last in chunks(steps, len(steps) if stage is None else stage.chunk):
        if stage is not None:
            x = stage.take(last)
        np.matmul(x[first:last], w_ih_t, out=gates[first:last])  # the input projection
        if bias is not None:
            gates[first:last] += bias
        for lo, hi in part:
            n = hi - lo  # sequences still running at this step
            h_prev[lo:hi] = h[:n]
            np.matmul(h[:n], w_hh_t, out=gh[:n])  # all gates in one product
            if b_inner is not None:
                gh[:n, -hidden:] += b_inner
            cell.forward(gates[lo:hi], gh[:n], h_prev[lo:hi], None if c is None else c[:n],
                         tuple(s[lo:hi] for s in saved), tmp[:n], out[lo:hi])
            if w_hr is not None:
                np.matmul(m[lo:hi], w_hr.T, out=y[lo:hi])  # (n, H) -> (n, H_out)
            h[:n] = y[lo:hi]
        if stage is not None:
            stage.give(y, last)
    return y, h, c, Tape(x, gates, h_prev, saved, m, steps)


def backward(cell, tape, w, dy, dh_n, dc_n, empty=np.empty):
    """Backpropagate through :func:`forward`.

    Args:
        cell, w, empty: as given to :func:`forward`.
        tape: the :class:`Tape` it returned.
        dy: (T, H_out) gradient of y; dh_n: (N, H_out) of h_n; dc_n: (N, H) of c_n, or None.

    Returns:
        dx (T, H_in), dh0 (N, H_out), dc0 (N, H) or None, and a dict of parameter gradients
        with the keys of ``w``.
    """
    w_hr = w.get("weight_hr")
    batch, hidden = dh_n.shape[0], w["weight_hh"].shape[0] // cell.gates
    dgi = empty((dy.shape[0], w["weight_hh"].shape[0]), dy.dtype)  # (T, G*H)
    dgh = empty(dgi.shape, dy.dtype) if cell.separate_dgh else dgi
    dy_total = None if w_hr is None else empty(dy.shape, dy.dtype)  # (T, H_out), for weight_hr
    dh_t = empty(dh_n.shape, dy.dtype)  # (N, H_out) scratch: the gradient reaching h_t
    dm = None if w_hr is None else empty((batch, hidden), dy.dtype)  # (N, H) scratch
    tmp = empty((batch, hidden), dy.dtype)
    dh = dh_n.copy()  # the running gradient of the state
    dc = None if dc_n is None else dc_n.copy()
    for lo, hi in reversed(tape.steps):
        n = hi - lo
        np.add(dh[:n], dy[lo:hi], out=dh_t[:n])  # from the next step, and from this output
        d_cell = dh_t[:n]
        if w_hr is not None:
            dy_total[lo:hi] = d_cell
            d_cell = np.matmul(d_cell, w_hr, out=dm[:n])  # (n, H_out) -> (n, H)
        direct = cell.backward(d_cell, None if dc is None else dc[:n], tape.kept[lo:hi],
                               tuple(s[lo:hi] for s in tape.saved), tape.h_prev[lo:hi],
                               dgi[lo:hi], dgh[lo:hi], tmp[:n])
        np.matmul(dgh[lo:hi], w["weight_hh"], out=dh[:n])
        if direct is not None:
            dh[:n] += direct
    grads = {
        "weight_ih": dgi.T @ tape.x,  # one product over all steps
        "weight_hh": dgh.T @ tape.h_prev,
    }
    if "bias_ih" in w:
        grads["bias_ih"] = dgi.sum(axis=0)
        grads["bias_hh"] = dgh.sum(axis=0)
    if w_hr is not None:
        grads["weight_hr"] = dy_total.T @ tape.m
    return dgi @ w["weight_ih"], dh, dc, grads  # dx: one product over all steps
