"""Numerical stability: no RuntimeWarning up to |x| = 1e4, torch's values there, NaN propagates."""

import warnings

import numpy as np
import pytest
from conftest import (
    MODULE_KINDS,
    TOLERANCE,
    assert_close,
    make_module_twins,
    random_array,
    random_state,
    to_numpy,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st

LARGE = 1e4


def _forward_backward(torch_module, module, x, hx, grads):
    """Run both modules forward and backward on one batch; return both sides' results."""
    x_t = to_torch(x).requires_grad_()
    hx_t = tuple(to_torch(h).requires_grad_() for h in hx)
    out_t, state_t = torch_module(x_t, hx_t if len(hx) == 2 else hx_t[0])
    state_t = state_t if isinstance(state_t, tuple) else (state_t,)
    loss = sum((y * to_torch(g)).sum() for y, g in zip((out_t, *state_t), grads, strict=True))
    loss.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, invalid value) fails
        out, state = module(x, hx if len(hx) == 2 else hx[0])
        grad_x, grad_state = module.backward(grads[0], tuple(grads[1:]) if len(hx) == 2
                                             else grads[1])
    state = state if isinstance(state, tuple) else (state,)
    grad_state = grad_state if isinstance(grad_state, tuple) else (grad_state,)
    expected = [to_numpy(out_t), *map(to_numpy, state_t), to_numpy(x_t.grad),
                *(to_numpy(h.grad) for h in hx_t)]
    return [out, *state, grad_x, *grad_state], expected


@given(kind=st.sampled_from(sorted(MODULE_KINDS)), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**16))
def test_large_inputs_give_no_warning_and_match_torch(kind, dtype, seed):
    """Saturated gates (|x| up to 1e4) compute torch's values without overflow warnings."""
    rng = np.random.default_rng(seed)
    torch_module, module = make_module_twins(kind, 3, 4, dtype=dtype, seed=seed, num_layers=2,
                                             bidirectional=True)
    x = random_array(rng, (5, 2, 3), dtype, -LARGE, LARGE)
    hx = random_state(rng, kind, 4, 2, 4, dtype)
    hx = hx if isinstance(hx, tuple) else (hx,)
    grads = [random_array(rng, s, dtype) for s in [(5, 2, 8)] + [(4, 2, 4)] * len(hx)]
    actual, expected = _forward_backward(torch_module, module, x, hx, grads)
    rtol, _ = TOLERANCE[np.dtype(dtype)]
    states = ["h_n", "c_n"][: len(hx)]
    names = ["output", *states, "grad_x", *(f"grad_{s[0]}0" for s in states)]
    for name, a, e in zip(names, actual, expected, strict=True):
        scale = max(1.0, float(np.abs(e).max()))  # relu states grow with the input
        assert_close(a, e, rtol=rtol, atol=rtol * scale, what=f"{kind} {name} at |x| <= 1e4")


@pytest.mark.parametrize("kind", sorted(MODULE_KINDS))
def test_nan_propagates_like_torch(kind):
    """A NaN in one sequence's input makes its later outputs NaN, as in torch, and no others."""
    rng = np.random.default_rng(0)
    torch_module, module = make_module_twins(kind, 3, 4)
    x = random_array(rng, (5, 2, 3), np.float64)
    x[2, 1, 0] = np.nan  # sequence 1, time step 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, _ = module(x)
    expected, _ = torch_module(to_torch(x))
    assert_close(out, to_numpy(expected), what=f"{kind} output with a NaN input")
    assert np.isnan(out[2:, 1]).all(), "the NaN must reach every later step of its sequence"
    assert not np.isnan(out[:2]).any() and not np.isnan(out[:, 0]).any(), "and nothing else"
