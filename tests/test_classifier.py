"""rnnlib.Linear, rnnlib.cross_entropy and optimizers over several modules, against torch.

What a classifier or a language model adds to a recurrent layer: the linear read-out, the loss,
and one optimizer (and one clipping) for the parameters of both modules.
"""

import math

import numpy as np
import pytest
import torch
from conftest import (
    BACKWARD_TOL,
    TOLERANCE,
    assert_close,
    assert_grad_close,
    assert_seeded_uniform_init,
    assert_state_dict_like_torch,
    make_module_twins,
    random_array,
    random_parameters,
    to_numpy,
    to_torch,
    torch_twin,
)
from hypothesis import given
from hypothesis import strategies as st

import rnnlib

F64 = np.float64
STEPS = 8
LOSS_TOL = 1e-10  # rtol and atol on the loss of twin models, float64


def linear_twins(in_features, out_features, bias, seed, dtype=F64):
    """(torch Linear, rnnlib Linear) with identical U(-0.5, 0.5) parameters."""
    m = rnnlib.Linear(in_features, out_features, bias=bias, dtype=dtype, seed=seed)
    t = random_parameters(torch_twin(m, torch.nn.Linear, in_features, out_features, bias=bias),
                          np.random.default_rng(seed))
    m.load_state_dict(t.state_dict())
    return t, m


# --------------------------------------------------------------------------- Linear
@given(in_features=st.integers(1, 6), out_features=st.integers(1, 6), bias=st.booleans(),
       lead=st.sampled_from([(), (4,), (3, 2)]), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_linear_forward_and_backward_match_torch(in_features, out_features, bias, lead, seed,
                                                 dtype):
    t, m = linear_twins(in_features, out_features, bias, seed, dtype)
    rng = np.random.default_rng(seed + 1)
    x = random_array(rng, lead + (in_features,), dtype)
    what = f"Linear({in_features}, {out_features}, bias={bias}) on {x.shape} {np.dtype(dtype)}"
    y = m(x)
    x_t = to_torch(x).requires_grad_(True)
    y_t = t(x_t)
    assert_close(y, to_numpy(y_t), what=f"output of {what}")
    if dtype != np.float64:
        return  # gradients are compared in float64 only
    g = random_array(rng, y.shape, dtype)
    grad_x = m.backward(g)
    y_t.backward(to_torch(g))
    assert_grad_close(grad_x, to_numpy(x_t.grad), f"grad_input of {what}")
    for name, p in t.named_parameters():
        assert_grad_close(m.grads[name], to_numpy(p.grad), f"grad of {name}, {what}")


def test_linear_state_dict_and_init_are_torchs():
    assert_state_dict_like_torch(rnnlib.Linear(5, 3), torch.nn.Linear(5, 3), "Linear(5, 3)")
    assert_state_dict_like_torch(rnnlib.Linear(5, 3, bias=False),
                                 torch.nn.Linear(5, 3, bias=False), "Linear(5, 3, bias=False)")
    assert_seeded_uniform_init(lambda s: rnnlib.Linear(16, 3, seed=s), 16, 0, "Linear(16, 3)")
    assert repr(rnnlib.Linear(5, 3)) == repr(torch.nn.Linear(5, 3))


def test_linear_gradients_accumulate_until_zero_grad():
    t, m = linear_twins(3, 2, True, seed=7)
    x = random_array(np.random.default_rng(0), (4, 3), F64)
    for _ in range(2):
        m.backward(np.ones_like(m(x)))
        t(to_torch(x)).sum().backward()
    for name, p in t.named_parameters():
        assert_grad_close(m.grads[name], to_numpy(p.grad), f"twice-accumulated grad of {name}")
    m.zero_grad()
    assert all(np.all(g == 0) for g in m.grads.values())


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda m: m(np.zeros((2, 4))), ValueError, "input_size=3"),
    (lambda m: m(np.zeros((2, 3), np.float32)), TypeError, "float64"),
    (lambda m: m(np.float64(1.0)), ValueError, "at least 1 dimension"),
    (lambda m: m.backward(np.zeros((2, 2))), RuntimeError, "forward call first"),
    (lambda m: (m(np.zeros((2, 3))), m.backward(np.zeros((3, 2)))), ValueError, "(2, 2)"),
])
def test_linear_refusals(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(rnnlib.Linear(3, 2, dtype=F64))


# --------------------------------------------------------------------------- cross_entropy
@given(n=st.integers(1, 7), c=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       ignore=st.booleans(), dtype=st.sampled_from([np.float64, np.float32]))
def test_cross_entropy_matches_torch(n, c, seed, ignore, dtype):
    rng = np.random.default_rng(seed)
    logits = random_array(rng, (n, c), dtype, -5.0, 5.0)
    target = rng.integers(0, c, n)
    if ignore:
        target[rng.random(n) < 0.4] = -100
        target[0] = rng.integers(0, c)  # at least one row counts
    loss, grad = rnnlib.cross_entropy(logits, target)
    x_t = to_torch(logits).requires_grad_(True)
    loss_t = torch.nn.functional.cross_entropy(x_t, torch.from_numpy(target))
    loss_t.backward()
    tol = BACKWARD_TOL if dtype == np.float64 else TOLERANCE[np.dtype(np.float32)][0]
    what = f"cross_entropy on {n} rows, {c} classes, targets {target.tolist()}"
    assert isinstance(loss, float), f"{what}: loss is a {type(loss).__name__}, expected float"
    assert math.isclose(loss, loss_t.item(), rel_tol=tol, abs_tol=tol), (
        f"{what}: rnnlib {loss!r}, torch {loss_t.item()!r}")
    assert_close(grad, to_numpy(x_t.grad), rtol=tol, atol=tol, what=f"gradient, {what}")


def test_cross_entropy_is_stable_and_ignores_everything_like_torch():
    logits = np.array([[1000.0, 0.0], [-1000.0, 1000.0]])
    loss, grad = rnnlib.cross_entropy(logits, np.array([1, 0]))
    loss_t = torch.nn.functional.cross_entropy(to_torch(logits), torch.tensor([1, 0]))
    assert loss == loss_t.item() == 1500.0, (loss, loss_t.item())
    assert np.all(np.isfinite(grad)), grad
    all_ignored, grad = rnnlib.cross_entropy(logits, np.array([-100, -100]))
    torch_ignored = torch.nn.functional.cross_entropy(to_torch(logits), torch.tensor([-100, -100]))
    assert math.isnan(all_ignored) and math.isnan(torch_ignored.item())
    assert np.all(grad == 0), grad


@pytest.mark.parametrize(("logits", "target", "error", "message"), [
    (np.zeros((2, 3)), np.array([0, 3]), ValueError, "out of bounds for 3 classes"),
    (np.zeros((2, 3)), np.array([0, -1]), ValueError, "out of bounds"),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), ValueError, "integer class indices"),
    (np.zeros((2, 3)), np.array([0, 1, 2]), ValueError, "shape"),
    (np.zeros((2, 3, 4)), np.zeros((2, 3), int), ValueError, "flatten"),
    (np.zeros((2, 3), int), np.array([0, 1]), TypeError, "float32 or float64"),
])
def test_cross_entropy_refusals(logits, target, error, message):
    with pytest.raises(error, match=message):
        rnnlib.cross_entropy(logits, target)


# --------------------------------------------------------------------------- several modules
class Classifier:
    """Twin LSTM(batch_first) + Linear on the last step, trained with cross-entropy."""

    def __init__(self, seed=0):
        self.t_rnn, self.m_rnn = make_module_twins("lstm", 3, 4, dtype=F64, seed=seed,
                                                   num_layers=2, batch_first=True)
        self.t_lin, self.m_lin = linear_twins(4, 5, True, seed)
        rng = np.random.default_rng(seed + 1)
        self.x = random_array(rng, (6, 7, 3), F64)  # (N, L, H_in)
        self.y = rng.integers(0, 5, 6)

    def lib_step(self):
        out, _ = self.m_rnn(self.x)  # (N, L, H)
        loss, grad = rnnlib.cross_entropy(self.m_lin(out[:, -1]), self.y)
        grad_out = np.zeros_like(out)
        grad_out[:, -1] = self.m_lin.backward(grad)
        self.m_rnn.backward(grad_out)
        return loss

    def torch_step(self):
        out, _ = self.t_rnn(to_torch(self.x))
        loss = torch.nn.functional.cross_entropy(self.t_lin(out[:, -1]), to_torch(self.y))
        loss.backward()
        return loss.item()

    def pairs(self):
        for t, m in ((self.t_rnn, self.m_rnn), (self.t_lin, self.m_lin)):
            params = dict(m.named_parameters())
            for name, p in t.named_parameters():
                yield f"{type(m).__name__}.{name}", params[name], m.grads[name], p


@pytest.mark.parametrize(("name", "config"), [("SGD", dict(lr=0.5, momentum=0.9)),
                                              ("Adam", dict(lr=0.05, weight_decay=0.01))])
def test_one_optimizer_trains_two_modules_like_torch(name, config):
    problem = Classifier()
    lib = getattr(rnnlib, name)([problem.m_rnn, problem.m_lin], **config)
    ref = getattr(torch.optim, name)(list(problem.t_rnn.parameters())
                                     + list(problem.t_lin.parameters()), **config)
    losses = []
    for step in range(1, STEPS + 1):
        lib.zero_grad()
        ref.zero_grad()
        loss, loss_t = problem.lib_step(), problem.torch_step()
        what = f"{name}({config}) on [LSTM, Linear], step {step}"
        assert math.isclose(loss, loss_t, rel_tol=LOSS_TOL, abs_tol=LOSS_TOL), (
            f"loss {what}: rnnlib {loss!r}, torch {loss_t!r}")
        total = rnnlib.clip_grad_norm_([problem.m_rnn, problem.m_lin], 0.3)
        total_t = torch.nn.utils.clip_grad_norm_(ref.param_groups[0]["params"], 0.3)
        assert math.isclose(total, float(total_t), rel_tol=BACKWARD_TOL), (
            f"total norm {what}: rnnlib {total!r}, torch {float(total_t)!r}")
        for key, _, grad, p in problem.pairs():
            assert_grad_close(grad, to_numpy(p.grad), f"clipped grad of {key}, {what}")
        lib.step()
        ref.step()
        for key, value, _, p in problem.pairs():
            assert_close(value, to_numpy(p), what=f"{key} after {what}")
        losses.append(loss)
    assert losses[-1] < losses[0], f"{name} did not lower the loss: {losses}"


@pytest.mark.parametrize("bad", [[], (), "lstm", [rnnlib.Linear(2, 2), "linear"], None])
def test_optimizers_and_clipping_refuse_what_is_not_modules(bad):
    for call in (lambda: rnnlib.SGD(bad, lr=0.1), lambda: rnnlib.Adam(bad),
                 lambda: rnnlib.clip_grad_norm_(bad, 1.0)):
        with pytest.raises(TypeError, match="rnnlib module"):
            call()


def test_optimizers_and_clipping_refuse_a_module_given_twice():
    lin = rnnlib.Linear(2, 2)
    for call in (lambda: rnnlib.SGD([lin, lin], lr=0.1), lambda: rnnlib.Adam([lin, lin]),
                 lambda: rnnlib.clip_grad_norm_([lin, lin], 1.0)):
        with pytest.raises(ValueError, match="more than once"):
            call()
