"""The in-place kernels the layers run (rnnlib.kernels) against the readable steps (cells)."""

import numpy as np
import pytest
from conftest import BACKWARD_TOL, TOLERANCE, assert_close, random_array

from rnnlib.cells import CELLS
from rnnlib.kernels import KERNELS

N, H = 3, 4


def _kernel_step(kernel, gi, gh, h, c, dh, dc):
    """One forward and backward step of ``kernel``, fed as the recurrence feeds it: sigmoid
    gates' pre-activations scaled by 1/2, both affine maps given separately."""
    scale = np.repeat(kernel.scales, H)  # (G*H,)
    a, gh = gi * scale, gh * scale
    if not kernel.inner_bias:  # the recurrence adds the whole of gh for RNN and LSTM
        a, gh = a + gh, np.zeros_like(gh)
    saved = tuple(np.empty((N, H)) for _ in range(kernel.saved))
    out, tmp = np.empty((N, H)), np.empty((N, H))
    c_next = None if c is None else c.copy()
    kernel.forward(a, gh, h, c_next, saved, tmp, out)
    dgi = np.empty_like(a)
    dgh = np.empty_like(a) if kernel.separate_dgh else dgi
    dc_prev = None if dc is None else dc.copy()
    direct = kernel.backward(dh, dc_prev, out if kernel.keeps_output else a, saved, h, dgi, dgh,
                             tmp)
    return out, c_next, dgi, dgh, 0.0 if direct is None else direct, dc_prev


@pytest.mark.parametrize("mode", sorted(CELLS))
@pytest.mark.parametrize("seed", range(3))
def test_kernel_matches_the_reference_step(mode, seed):
    rng = np.random.default_rng(seed)
    cell, kernel = CELLS[mode], KERNELS[mode]
    gi, gh = (random_array(rng, (N, cell.gates * H), np.float64, -3, 3) for _ in range(2))
    h, dh = (random_array(rng, (N, H), np.float64) for _ in range(2))
    c, dc = (random_array(rng, (N, H), np.float64) if mode == "LSTM" else None for _ in range(2))
    h_ref, c_ref, cache = cell.forward(gi, gh, h, c)
    expected = (h_ref, c_ref, *cell.backward(dh, dc, cache))
    actual = _kernel_step(kernel, gi, gh, h, c, dh, dc)
    names = ("h_t", "c_t", "dgi", "dgh", "dh_direct", "dc_prev")
    for name, got, want in zip(names, actual, expected, strict=True):
        if want is None:
            assert got is None, f"{mode} {name}: expected None, got {got!r}"
            continue
        tol = TOLERANCE[np.dtype(np.float64)][1] if name in ("h_t", "c_t") else BACKWARD_TOL
        shape = np.shape(want) or (N, H)  # dh_direct may be the scalar 0.0
        assert_close(np.array(np.broadcast_to(got, shape)), np.array(np.broadcast_to(want, shape)),
                     rtol=tol, atol=tol, what=f"{mode} {name}")
