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
"""

from typing import NamedTuple

import numpy as np


class Tape(NamedTuple):
    """What the forward pass keeps for the backward pass."""

    x: np.ndarray  # (T, H_in) the layer's input rows
    h_prev: np.ndarray  # (T, H_out) the state each row was computed from
    m: np.ndarray | None  # (T, H) LSTM output before the projection, when there is one
    caches: list  # one cell cache per time step, in processing order
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


def forward(cell, x, batch_sizes, h0, c0, w, reverse=False):
    """Run ``cell`` over the packed rows ``x``.

    Args:
        cell: a :class:`rnnlib.cells.Cell`.
        x: (T, H_in) packed rows.
        batch_sizes: (L,) rows per time step.
        h0: (N, H_out) initial state, N = batch_sizes[0]; c0: (N, H) for the LSTM, else None.
        w: dict with ``weight_ih`` (G*H, H_in), ``weight_hh`` (G*H, H_out), and optionally
            ``bias_ih``, ``bias_hh`` (G*H,) and ``weight_hr`` (H_out, H).
        reverse: process the time steps from last to first.

    Returns:
        y (T, H_out), h_n (N, H_out), c_n (N, H) or None, and the :class:`Tape`.
    """
    gi = affine(x, w["weight_ih"], w.get("bias_ih"))  # (T, G*H): one product for all steps
    w_hr = w.get("weight_hr")
    y = np.empty((x.shape[0], h0.shape[1]), dtype=x.dtype)  # (T, H_out)
    h_prev = np.empty_like(y)
    m = None if w_hr is None else np.empty((x.shape[0], w_hr.shape[1]), dtype=x.dtype)  # (T, H)
    steps = step_ranges(batch_sizes, reverse)
    caches = []
    h, c = h0, c0
    for lo, hi in steps:
        n = hi - lo  # sequences still running at this step
        gh = affine(h[:n], w["weight_hh"], w.get("bias_hh"))  # (n, G*H)
        h_new, c_new, cache = cell.forward(gi[lo:hi], gh, h[:n], None if c is None else c[:n])
        if w_hr is not None:
            m[lo:hi] = h_new
            h_new = h_new @ w_hr.T  # (n, H) -> (n, H_out)
        y[lo:hi] = h_new
        h_prev[lo:hi] = h[:n]
        h = np.concatenate([h_new, h[n:]])  # finished sequences keep their state
        c = None if c is None else np.concatenate([c_new, c[n:]])
        caches.append(cache)
    return y, h, c, Tape(x, h_prev, m, caches, steps)


def backward(cell, tape, w, dy, dh_n, dc_n):
    """Backpropagate through :func:`forward`.

    Args:
        cell, w: as given to :func:`forward`.
        tape: the :class:`Tape` it returned.
        dy: (T, H_out) gradient of y; dh_n: (N, H_out) of h_n; dc_n: (N, H) of c_n, or None.

    Returns:
        dx (T, H_in), dh0 (N, H_out), dc0 (N, H) or None, and a dict of parameter gradients
        with the keys of ``w``.
    """
    dgi = np.empty((dy.shape[0], w["weight_hh"].shape[0]), dtype=dy.dtype)  # (T, G*H)
    dgh = np.empty_like(dgi)
    w_hr = w.get("weight_hr")
    dy_total = None if w_hr is None else np.empty_like(dy)  # (T, H_out) for weight_hr's gradient
    dh, dc = dh_n, dc_n
    for (lo, hi), cache in zip(reversed(tape.steps), reversed(tape.caches), strict=True):
        n = hi - lo
        dh_t = dh[:n] + dy[lo:hi]  # from the next step, and from this step's output
        if w_hr is not None:
            dy_total[lo:hi] = dh_t
            dh_t = dh_t @ w_hr  # (n, H_out) -> (n, H)
        dgi_t, dgh_t, dh_direct, dc_prev = cell.backward(
            dh_t, None if dc is None else dc[:n], cache
        )
        dgi[lo:hi] = dgi_t
        dgh[lo:hi] = dgh_t
        dh = np.concatenate([dh_direct + dgh_t @ w["weight_hh"], dh[n:]])
        dc = None if dc is None else np.concatenate([dc_prev, dc[n:]])
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
