"""Tied weights: an Embedding and a Linear sharing one array, as torch's `lin.weight = emb.weight`.

Assigning a module's parameter name shares the array; optimizers then update a shared array
once, with the sum of its gradients, as torch's ``parameters()`` lists a tied Parameter once.
Checked against torch in float64, step by step, with Adam and SGD with momentum.
"""

import numpy as np
import pytest
import torch
from conftest import assert_close, assert_same, to_numpy, to_torch

import rnnlib
from rnnlib.module import distinct_parameters

F64 = np.float64
V, H = 7, 4


class TorchTied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, H, dtype=torch.float64)
        self.lstm = torch.nn.LSTM(H, H, dtype=torch.float64)
        self.lin = torch.nn.Linear(H, V, dtype=torch.float64)
        self.lin.weight = self.emb.weight  # tied: one Parameter, listed once by parameters()

    def forward(self, x):
        return self.lin(self.lstm(self.emb(x))[0])


def tied_twins(seed=0):
    emb = rnnlib.Embedding(V, H, dtype=F64, seed=seed)
    lstm = rnnlib.LSTM(H, H, dtype=F64, seed=seed + 1)
    lin = rnnlib.Linear(H, V, dtype=F64, seed=seed + 2)
    lin.weight = emb.weight
    t = TorchTied()
    for part, module in (("emb", emb), ("lstm", lstm), ("lin", lin)):
        getattr(t, part).load_state_dict({k: to_torch(v) for k, v in module.state_dict().items()})
    return (emb, lstm, lin), t


def rnnlib_step(modules, opt, x, y):
    emb, lstm, lin = modules
    opt.zero_grad()
    out, _ = lstm(emb(x))
    loss, grad = rnnlib.cross_entropy(lin(out).reshape(-1, V), y.ravel())
    emb.backward(lstm.backward(lin.backward(grad.reshape(*x.shape, V)))[0])
    opt.step()
    return loss


@pytest.mark.parametrize("optimizer, options", [
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    # Plain SGD and momentum are linear in the gradient, so updating a tied weight twice, once
    # per module, would go unnoticed; weight decay is not, and Adam is not.
    ("SGD", {"lr": 0.3, "momentum": 0.9, "weight_decay": 0.1}),
])
def test_tied_training_matches_torch(optimizer, options):
    modules, t = tied_twins()
    emb, _, lin = modules
    assert lin.weight is emb.weight, "assigning the parameter shares the array"
    assert len(list(t.parameters())) == 6, "torch lists the tied weight once: 6, not 7"
    opt = getattr(rnnlib, optimizer)(list(modules), **options)
    t_opt = getattr(torch.optim, optimizer)(t.parameters(), **options)
    rng = np.random.default_rng(0)
    for step in range(5):
        x, y = rng.integers(0, V, (3, 2)), rng.integers(0, V, (3, 2))  # (L, N)
        loss = rnnlib_step(modules, opt, x, y)
        t_loss = torch.nn.functional.cross_entropy(t(torch.from_numpy(x)).reshape(-1, V),
                                                   torch.from_numpy(y).ravel())
        t_opt.zero_grad()
        t_loss.backward()
        t_opt.step()
        assert_close(np.array(loss), to_numpy(t_loss), what=f"{optimizer} loss at step {step}")
    assert_close(emb.weight, to_numpy(t.emb.weight), what=f"tied weight after 5 {optimizer} steps")
    assert lin.weight is emb.weight, "still one array after training"


def test_a_tied_weight_is_updated_once_with_the_sum_of_its_gradients():
    (emb, lstm, lin), _ = tied_twins()
    emb.grads["weight"][...] = 1.0
    lin.grads["weight"][...] = 2.0
    found = {key: grad for key, p, grad in distinct_parameters([emb, lstm, lin])}
    assert (1, "weight") not in found and (2, "weight") not in found
    assert_same(found[0, "weight"], np.full((V, H), 3.0), "one entry, the summed gradient")
    assert len(found) == 1 + 4 + 1, "embedding weight, the LSTM's four, the linear bias"


def test_a_wrapper_and_its_module_count_a_gradient_once():
    """WeightDrop shares its module's parameters and gradients: given both, each counts once."""
    lstm = rnnlib.LSTM(2, 3, dtype=F64, seed=0)
    wrapped = rnnlib.WeightDrop(lstm, ["weight_hh_l0"], 0.5, seed=1)
    lstm.grads["weight_hh_l0"][...] = 1.0
    grads = {key[1]: g for key, _, g in distinct_parameters([wrapped, lstm])}
    assert_same(grads["weight_hh_l0"], np.ones((12, 3)), "the same gradient array, once")


def test_untied_modules_are_unaffected():
    lin = rnnlib.Linear(3, 2, dtype=F64, seed=0)
    lin.grads["weight"][...] = 5.0
    (key, p, grad), _ = distinct_parameters([lin])
    assert key == (0, "weight") and p is lin.weight and grad is lin.grads["weight"]


@pytest.mark.parametrize("value, error, fragment", [
    ([[0.0] * H] * V, TypeError, "expected a NumPy array"),
    (np.zeros((H, V)), ValueError, r"shape \(4, 7\).*expected shape \(7, 4\)"),
    (np.zeros((V, H), np.float32), ValueError, "dtype float32.*dtype float64"),
])
def test_assigning_a_parameter_refuses_what_cannot_be_shared(value, error, fragment):
    lin = rnnlib.Linear(H, V, dtype=F64)
    with pytest.raises(error, match=fragment):
        lin.weight = value


def test_other_attributes_stay_ordinary():
    lin = rnnlib.Linear(2, 3)
    lin.note = "kept"
    assert lin.note == "kept" and "note" not in lin.state_dict()


def test_clip_grad_norm_counts_a_tied_weight_once():
    modules, t = tied_twins()
    emb, lstm, lin = modules
    x, y = np.array([[1, 2], [3, 0], [6, 5]]), np.array([[2, 3], [0, 6], [5, 4]])
    out, _ = lstm(emb(x))
    loss, grad = rnnlib.cross_entropy(lin(out).reshape(-1, V), y.ravel())
    emb.backward(lstm.backward(lin.backward(grad.reshape(*x.shape, V)))[0])
    torch.nn.functional.cross_entropy(t(torch.from_numpy(x)).reshape(-1, V),
                                      torch.from_numpy(y).ravel()).backward()
    total = rnnlib.clip_grad_norm_(list(modules), max_norm=0.1)
    t_total = torch.nn.utils.clip_grad_norm_(t.parameters(), max_norm=0.1)
    assert_close(np.array(total), to_numpy(t_total), what="norm with the tied weight once")
    summed = emb.grads["weight"] + lin.grads["weight"]
    assert_close(summed, to_numpy(t.emb.weight.grad), what="tied gradient after clipping")
