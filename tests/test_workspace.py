"""A layer module reuses its buffers from call to call (rnnlib.workspace): nothing a caller holds
changes, and every result equals a fresh module's."""

import copy

import numpy as np
import pytest
from conftest import MODULE_KINDS, assert_close

import rnnlib
from rnnlib.workspace import Workspace

H_IN, H, N = 3, 4, 2
CASES = [(kind, dict(num_layers=2, bidirectional=True)) for kind in sorted(MODULE_KINDS)]
CASES.append(("lstm", dict(num_layers=2, proj_size=2)))  # proj_size is LSTM-only
IDS = [f"{kind}-{'proj' if 'proj_size' in options else 'bidirectional'}" for kind, options in CASES]


def _build(kind, options):
    _, cls, extra = MODULE_KINDS[kind]
    return cls(H_IN, H, dtype=np.float64, seed=0, **extra, **options)


def _call(m, x, grad):
    """Forward and backward; everything returned, copied, and the parameter gradients."""
    out, state = m(x)
    m.zero_grad()
    grad_x, _ = m.backward(grad)
    states = state if isinstance(state, tuple) else (state,)
    return [out.copy(), *(s.copy() for s in states), grad_x.copy(),
            *(g.copy() for g in m.grads.values())]


def _inputs(steps, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (steps, N, H_IN)), rng.uniform(-1, 1, (steps, N, 2 * H))


@pytest.mark.parametrize(("kind", "options"), CASES, ids=IDS)
def test_results_held_by_the_caller_survive_the_next_call(kind, options):
    m = _build(kind, options)
    x1, _ = _inputs(5, 1)
    out1, state1 = m(x1)
    held = [out1, *(state1 if isinstance(state1, tuple) else (state1,))]
    kept = [a.copy() for a in held]
    m(_inputs(5, 2)[0])  # same shapes: reuses every buffer of the first call
    for i, (now, before) in enumerate(zip(held, kept, strict=True)):
        assert_close(now, before, rtol=0, atol=0, what=f"{kind} result {i} after the next call")


@pytest.mark.parametrize(("kind", "options"), CASES, ids=IDS)
def test_reused_buffers_give_a_fresh_modules_results(kind, options):
    """Calls of changing length, and a forward whose tape is dropped, change nothing."""
    m = _build(kind, options)
    width = m.num_directions * (m.proj_size or m.hidden_size)
    for steps, seed in ((5, 1), (3, 2), (5, 3), (5, 4)):
        x, grad = _inputs(steps, seed)
        grad = grad[..., :width]
        m(_inputs(steps, seed + 10)[0])  # a forward whose tape the next forward replaces
        got = _call(m, x, grad)
        want = _call(_build(kind, options), x, grad)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_close(g, w, rtol=0, atol=0, what=f"{kind} L={steps} result {i}")


def test_a_copy_of_a_module_carries_no_buffers():
    m = rnnlib.LSTM(H_IN, H, dtype=np.float64, seed=0)
    x, grad = _inputs(5, 1)
    m(x)
    twin = copy.deepcopy(m)
    assert all(b._arrays == [] for b in twin._tape_buffers.values()), "deepcopy copied the buffers"
    got, want = _call(twin, x, grad[..., :H]), _call(m, x, grad[..., :H])
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert_close(g, w, rtol=0, atol=0, what=f"copy's result {i}")


def test_workspace_reuses_by_position_shape_and_dtype():
    ws = Workspace()
    a, b = ws.empty((2, 3), np.float32), ws.empty((4,), np.float64)
    ws.restart()
    assert ws.empty((2, 3), np.float32) is a, "same position, shape and dtype: not reused"
    assert ws.empty((5,), np.float64) is not b, "a new shape reused the old array"
    ws.restart()
    assert ws.empty((2, 3), np.float64) is not a, "a new dtype reused the old array"
