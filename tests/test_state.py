"""rnnlib.InitialState, a learned initial state, against torch's Parameter.expand().contiguous().

Forward, backward and training are compared in float64 with random non-zero states, weights and
upstream gradients: the gradient of the shared state is the sum over the batch of the gradients
of its N copies, which torch's autograd of ``expand`` computes.
"""

import numpy as np
import pytest
import torch
from conftest import BACKWARD_TOL, assert_close, assert_grad_close, make_module_twins
from hypothesis import given
from hypothesis import strategies as st

import rnnlib

F64 = np.float64
L, H_IN, H = 5, 3, 4


def twin_states(num_states, hidden_size, rng):
    """(torch Parameter, rnnlib InitialState) holding the same random (num_states, 1, H) state."""
    value = rng.uniform(-1, 1, (num_states, 1, hidden_size))
    state = rnnlib.InitialState(num_states, hidden_size, dtype=F64)
    state.load_state_dict({"state": value})
    return torch.nn.Parameter(torch.tensor(value)), state


@given(num_states=st.integers(1, 3), batch=st.integers(0, 4), hidden_size=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_forward_and_backward_match_expand(num_states, batch, hidden_size, seed):
    rng = np.random.default_rng(seed)
    param, state = twin_states(num_states, hidden_size, rng)
    expanded = param.expand(-1, batch, -1).contiguous()  # (num_states, N, H)
    repeated = state(batch)
    assert_close(repeated, expanded.detach(), what="forward")
    grad = rng.uniform(-1, 1, (num_states, batch, hidden_size))
    (expanded * torch.tensor(grad)).sum().backward()
    assert state.backward(grad) is None
    assert_grad_close(state.grads["state"], param.grad, "grads['state']")


def test_forward_returns_a_copy():
    state = rnnlib.InitialState(1, H, dtype=F64)
    h0 = state(3)
    h0 += 1.0
    assert np.all(state.state == 0), "writing into forward's result changed the parameter"


def test_gradients_accumulate_until_zero_grad():
    rng = np.random.default_rng(0)
    param, state = twin_states(2, H, rng)
    for batch in (3, 1):  # two forward-backward rounds, as two torch backward calls add into .grad
        grad = rng.uniform(-1, 1, (2, batch, H))
        (param.expand(-1, batch, -1).contiguous() * torch.tensor(grad)).sum().backward()
        state(batch)
        state.backward(grad)
    assert_grad_close(state.grads["state"], param.grad, "accumulated grads['state']")
    state.zero_grad()
    assert np.all(state.grads["state"] == 0)


@pytest.mark.parametrize("kind", ["rnn_tanh", "gru", "lstm"])
def test_through_a_recurrent_module(kind):
    """h_0 (and c_0 for the LSTM) learned, two layers: the state gradients equal torch's."""
    rng = np.random.default_rng(1)
    t_mod, r_mod = make_module_twins(kind, H_IN, H, num_layers=2, seed=2)
    n = 3
    names = ("h_0", "c_0") if kind == "lstm" else ("h_0",)
    twins = [twin_states(2, H, rng) for _ in names]
    x = rng.uniform(-1, 1, (L, n, H_IN))
    w_out = rng.uniform(-1, 1, (L, n, H))
    t_hx = [p.expand(-1, n, -1).contiguous() for p, _ in twins]
    t_out, _ = t_mod(torch.tensor(x), tuple(t_hx) if kind == "lstm" else t_hx[0])
    (t_out * torch.tensor(w_out)).sum().backward()
    r_hx = [s(n) for _, s in twins]
    r_mod(x, tuple(r_hx) if kind == "lstm" else r_hx[0])
    _, grad_hx = r_mod.backward(w_out)
    for name, (param, state), grad in zip(names, twins, grad_hx if kind == "lstm" else (grad_hx,),
                                          strict=True):
        state.backward(grad)
        assert_grad_close(state.grads["state"], param.grad, f"{kind} learned {name}")


def test_trains_with_sgd_like_torch():
    rng = np.random.default_rng(3)
    t_rnn, r_rnn = make_module_twins("rnn_tanh", H_IN, H, seed=4)
    param, state = twin_states(1, H, rng)
    x, target = rng.uniform(-1, 1, (L, 3, H_IN)), rng.uniform(-1, 1, (L, 3, H))
    t_opt = torch.optim.SGD([*t_rnn.parameters(), param], lr=0.5, momentum=0.9)
    r_opt = rnnlib.SGD([r_rnn, state], lr=0.5, momentum=0.9)
    for _ in range(4):
        t_out, _ = t_rnn(torch.tensor(x), param.expand(-1, 3, -1).contiguous())
        t_opt.zero_grad()
        ((t_out - torch.tensor(target)) ** 2).mean().backward()
        t_opt.step()
        r_out, _ = r_rnn(x, state(3))
        r_opt.zero_grad()
        _, grad_h0 = r_rnn.backward(2 * (r_out - target) / r_out.size)
        state.backward(grad_h0)
        r_opt.step()
    assert_close(state.state, param.detach(), rtol=BACKWARD_TOL, atol=BACKWARD_TOL,
                 what="trained state")


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((0, 4), {}, ValueError, "num_states must be an int >= 1, got 0"),
    ((1, 2.0), {}, TypeError, "hidden_size must be an int, got float"),
    ((True, 4), {}, TypeError, "num_states must be an int, got bool"),
    ((1, 4), {"dtype": np.int64}, TypeError, "dtype must be float32 or float64, got int64"),
])
def test_refuses_bad_construction(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        rnnlib.InitialState(*args, **kwargs)


@pytest.mark.parametrize("batch, error, message", [
    (-1, ValueError, "batch_size must be an int >= 0, got -1"),
    (2.0, TypeError, "batch_size must be an int, got float"),
    (None, TypeError, "batch_size must be an int, got NoneType"),
])
def test_refuses_bad_batch_size(batch, error, message):
    with pytest.raises(error, match=message):
        rnnlib.InitialState(1, H)(batch)


def test_refuses_bad_backward():
    state = rnnlib.InitialState(1, H, dtype=F64)
    with pytest.raises(RuntimeError, match=r"needs a forward call first"):
        state.backward(np.zeros((1, 3, H)))
    state(3)
    with pytest.raises(ValueError, match=r"Expected grad_h0 of shape \(1, 3, 4\).*got \(3, 1, 4\)"):
        state.backward(np.zeros((3, 1, H)))  # laid out batch-first
    with pytest.raises(TypeError, match=r"grad_h0 must be an array of float64.*got dtype float32"):
        state.backward(np.zeros((1, 3, H), np.float32))
    with pytest.raises(TypeError, match=r"got a tuple.*\(grad_h0, grad_c0\)"):
        state.backward((np.zeros((1, 3, H)), np.zeros((1, 3, H))))
    state.backward(np.zeros((1, 3, H)))
    with pytest.raises(RuntimeError, match=r"already called for the latest forward call"):
        state.backward(np.zeros((1, 3, H)))  # each forward is differentiated once
