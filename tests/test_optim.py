"""rnnlib.SGD, rnnlib.Adam and rnnlib.clip_grad_norm_ against torch.optim and torch.nn.utils.

Twin modules (float64, identical random parameters) are trained side by side on one fixed batch:
each step is zero_grad, forward, backward of the fixed linear loss
sum(w_out * output) + sum(w_h * h_n) (+ sum(w_c * c_n)), and an optimizer step. After every one of
ten steps the parameters must agree within OPTIM_TOL.
"""

import math

import numpy as np
import pytest
import torch
from conftest import (
    BACKWARD_TOL,
    assert_close,
    assert_grad_close,
    make_module_twins,
    random_array,
    to_numpy,
    to_torch,
)

import rnnlib

OPTIM_TOL = 1e-10  # rtol and atol on parameters after optimizer steps, float64
STEPS = 10
F64 = np.float64
L, N, H_IN, H = 5, 3, 3, 4

MODULES = {  # id -> (kind, twin kwargs)
    "lstm": ("lstm", dict(num_layers=2, bidirectional=True)),
    "lstm_proj": ("lstm", dict(num_layers=2, proj_size=2)),
    "gru": ("gru", dict(num_layers=2, bidirectional=True)),
}

SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.9, dampening=0.3),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.01),
]
ADAM_CONFIGS = [
    dict(),
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.01),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.01, amsgrad=True),
]
OPTIMIZERS = ([pytest.param("SGD", c, id=f"SGD-{c}") for c in SGD_CONFIGS]
              + [pytest.param("Adam", c, id=f"Adam-{c}") for c in ADAM_CONFIGS])


class Problem:
    """Twin modules and one fixed batch with fixed upstream weights."""

    def __init__(self, module_id, seed=0):
        kind, kwargs = MODULES[module_id]
        self.lstm = kind == "lstm"
        self.t, self.m = make_module_twins(kind, H_IN, H, dtype=F64, seed=seed, **kwargs)
        rng = np.random.default_rng(seed + 1)
        self.x = random_array(rng, (L, N, H_IN), F64)
        out, state = self.m(self.x)
        self.w_out = random_array(rng, out.shape, F64)
        states = state if self.lstm else (state,)
        self.w_state = tuple(random_array(rng, s.shape, F64) for s in states)

    def lib_backward(self):
        self.m(self.x)
        self.m.backward(self.w_out, self.w_state if self.lstm else self.w_state[0])

    def torch_backward(self):
        out, state = self.t(to_torch(self.x))
        states = state if self.lstm else (state,)
        loss = (to_torch(self.w_out) * out).sum()
        loss = loss + sum((to_torch(w) * s).sum() for w, s in zip(self.w_state, states,
                                                                  strict=True))
        loss.backward()

    def compare_grads(self, what):
        for name, p in self.t.named_parameters():
            assert_grad_close(self.m.grads[name], to_numpy(p.grad), f"grad of {name}, {what}")

    def compare_parameters(self, what):
        params = dict(self.m.named_parameters())
        for name, p in self.t.named_parameters():
            assert_close(params[name], to_numpy(p), rtol=OPTIM_TOL, atol=OPTIM_TOL,
                         what=f"{name}, {what}")


def make_optimizers(problem, name, config):
    lib = getattr(rnnlib, name)(problem.m, **config)
    ref = getattr(torch.optim, name)(problem.t.parameters(), **config)
    return lib, ref


@pytest.mark.parametrize("module_id", sorted(MODULES))
@pytest.mark.parametrize(("name", "config"), OPTIMIZERS)
def test_optimizer_steps_match_torch(module_id, name, config):
    problem = Problem(module_id)
    lib, ref = make_optimizers(problem, name, config)
    start = problem.m.state_dict()
    for step in range(1, STEPS + 1):
        what = f"{name}({config}) on {module_id}, after step {step}"
        lib.zero_grad()
        ref.zero_grad()
        for grad_name, g in problem.m.grads.items():
            assert np.all(g == 0), f"{grad_name} not reset by zero_grad(), {what}"
        problem.lib_backward()
        problem.torch_backward()
        problem.compare_grads(what)
        lib.step()
        ref.step()
        problem.compare_parameters(what)
    moved = [n for n, p in problem.m.named_parameters() if not np.array_equal(p, start[n])]
    assert moved == list(start), f"parameters that did not move: {set(start) - set(moved)}"


@pytest.mark.parametrize("module_id", sorted(MODULES))
def test_training_steps_with_clipping_match_torch(module_id):
    """zero_grad, backward, clip_grad_norm_, Adam step: ten steps as in a training loop."""
    problem = Problem(module_id, seed=3)
    lib, ref = make_optimizers(problem, "Adam", dict(lr=0.02))
    for step in range(1, STEPS + 1):
        what = f"clip + Adam on {module_id}, step {step}"
        lib.zero_grad()
        ref.zero_grad()
        problem.lib_backward()
        problem.torch_backward()
        total = rnnlib.clip_grad_norm_(problem.m, 0.5)
        total_t = torch.nn.utils.clip_grad_norm_(problem.t.parameters(), 0.5)
        assert math.isclose(total, float(total_t), rel_tol=BACKWARD_TOL, abs_tol=BACKWARD_TOL), (
            f"total norm {what}: rnnlib {total!r}, torch {float(total_t)!r}")
        problem.compare_grads(f"clipped, {what}")
        lib.step()
        ref.step()
        problem.compare_parameters(what)


# --------------------------------------------------------------------------- clip_grad_norm_
def _set_torch_grads(problem):
    """Give torch's parameters exactly rnnlib's gradients, so clipping alone is compared."""
    for name, p in problem.t.named_parameters():
        p.grad = torch.from_numpy(problem.m.grads[name].copy())


def _numpy_norm(grads, norm_type):
    flat = np.concatenate([g.ravel() for g in grads.values()])
    return float(np.linalg.norm(flat, ord=norm_type))


@pytest.mark.parametrize("module_id", ["lstm", "gru"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("clipped", [True, False], ids=["clipped", "unclipped"])
def test_clip_grad_norm_matches_torch(module_id, norm_type, clipped):
    problem = Problem(module_id, seed=5)
    problem.lib_backward()
    _set_torch_grads(problem)
    before = {name: g.copy() for name, g in problem.m.grads.items()}
    norm = _numpy_norm(before, norm_type)
    max_norm = 0.5 * norm if clipped else 2.0 * norm  # the norm is above or below the limit
    what = f"clip_grad_norm_(max_norm={max_norm}, norm_type={norm_type}) on {module_id}"

    total = rnnlib.clip_grad_norm_(problem.m, max_norm, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(problem.t.parameters(), max_norm,
                                             norm_type=norm_type)
    assert isinstance(total, float), f"{what} returned {type(total).__name__}, expected float"
    assert math.isclose(total, float(total_t), rel_tol=OPTIM_TOL, abs_tol=OPTIM_TOL), (
        f"total norm of {what}: rnnlib {total!r}, torch {float(total_t)!r}")
    for name, p in problem.t.named_parameters():
        assert_close(problem.m.grads[name], to_numpy(p.grad), rtol=OPTIM_TOL, atol=OPTIM_TOL,
                     what=f"clipped grad of {name}, {what}")
    after = _numpy_norm(problem.m.grads, norm_type)
    if clipped:
        assert after < max_norm, f"{what}: norm after clipping {after} >= max_norm"
        assert math.isclose(after, max_norm, rel_tol=1e-5), f"{what}: clipped to {after}"
    else:
        for name, g in problem.m.grads.items():
            np.testing.assert_array_equal(g, before[name], strict=True,
                                          err_msg=f"{what} must leave {name} unchanged")


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_of_zero_gradients(norm_type):
    problem = Problem("gru")
    _set_torch_grads(problem)  # all zeros: no backward yet
    total = rnnlib.clip_grad_norm_(problem.m, 1.0, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(problem.t.parameters(), 1.0, norm_type=norm_type)
    assert total == float(total_t) == 0.0
    for name, g in problem.m.grads.items():
        np.testing.assert_array_equal(g, np.zeros_like(g), strict=True, err_msg=name)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_grad_norm_of_non_finite_gradients(bad, norm_type):
    problem = Problem("lstm", seed=5)
    problem.lib_backward()
    problem.m.grads["weight_hh_l0"][0, 0] = bad
    _set_torch_grads(problem)
    what = f"clip_grad_norm_ with a {bad} gradient, norm_type={norm_type}"
    total = rnnlib.clip_grad_norm_(problem.m, 1.0, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(problem.t.parameters(), 1.0, norm_type=norm_type)
    assert math.isnan(total) == math.isnan(float(total_t)) and (
        math.isnan(total) or total == float(total_t)), (
        f"total norm of {what}: rnnlib {total!r}, torch {float(total_t)!r}")
    for name, p in problem.t.named_parameters():
        np.testing.assert_array_equal(problem.m.grads[name], to_numpy(p.grad), strict=True,
                                      err_msg=f"clipped grad of {name}, {what}")
