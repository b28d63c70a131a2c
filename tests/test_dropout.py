"""Training mode: dropout between layers, as in torch, and none in evaluation mode."""

import numpy as np
import pytest
import torch
from conftest import (
    MODULE_KINDS,
    assert_close,
    make_module_twins,
    numpy_state_dict,
    random_array,
    to_numpy,
    to_torch,
)

import rnnlib


@pytest.mark.parametrize("kind", sorted(MODULE_KINDS))
def test_eval_mode_has_no_dropout(kind):
    """With dropout=0.5 in eval mode, rnnlib equals torch in eval mode, call after call."""
    torch_module, module = make_module_twins(kind, 3, 4, num_layers=3, dropout=0.5)
    x = random_array(np.random.default_rng(0), (5, 2, 3), np.float64)
    expected = to_numpy(torch_module(to_torch(x))[0])
    for _ in range(2):
        assert_close(module(x)[0], expected, what=f"{kind} eval-mode output")


@pytest.mark.parametrize("kind", sorted(MODULE_KINDS))
def test_dropout_one_zeroes_the_upper_layers_input_as_torch(kind):
    """With p = 1 every layer above the first reads zeros: torch's train-mode output, exactly."""
    torch_module, module = make_module_twins(kind, 3, 4, num_layers=2, dropout=1.0,
                                             bidirectional=True)
    torch_module.train()
    module.train()
    x = random_array(np.random.default_rng(1), (5, 2, 3), np.float64)
    expected = to_numpy(torch_module(to_torch(x))[0])
    assert_close(module(x)[0], expected, what=f"{kind} train-mode output with dropout=1")


@pytest.mark.parametrize("kind", sorted(MODULE_KINDS))
def test_train_mode_applies_one_mask_between_layers(kind):
    """rnnlib's train-mode output is a stack of single-layer torch modules with its mask between.

    The mask is rebuilt by replaying the module's generator: U(0, 1) draws of the layer
    output's shape, kept where >= p and scaled by 1 / (1 - p).
    """
    p, steps, batch = 0.4, 5, 2
    torch_module, module = make_module_twins(kind, 3, 4, num_layers=2, dropout=p)
    state = numpy_state_dict(torch_module)
    module.train()
    x = random_array(np.random.default_rng(2), (steps, batch, 3), np.float64)
    replay = np.random.default_rng()
    replay.bit_generator.state = module.generator.bit_generator.state
    out = module(x)[0]
    mask = (replay.random((steps * batch, 4)) >= p) / (1 - p)  # (L*N, H) packed rows
    torch_class, _, extra = MODULE_KINDS[kind]
    layers = []
    for k in range(2):
        layer = torch_class(3 if k == 0 else 4, 4, dtype=torch.float64, **extra)
        layer.load_state_dict({name.replace(f"_l{k}", "_l0"): torch.from_numpy(value)
                               for name, value in state.items() if name.endswith(f"_l{k}")})
        layers.append(layer)
    hidden = layers[0](to_torch(x))[0] * to_torch(mask.reshape(steps, batch, 4))
    expected = to_numpy(layers[1](hidden)[0])
    assert_close(out, expected, what=f"{kind} train-mode output with dropout={p}")
    assert 0 < (mask == 0).mean() < 1, "the mask must drop some elements and keep others"


def test_train_mode_draws_fresh_masks_from_a_seeded_generator():
    """Two train-mode calls differ; the same seed reproduces them; eval() stops the dropout."""
    x = random_array(np.random.default_rng(3), (6, 2, 3), np.float32)
    first, second = (rnnlib.GRU(3, 5, num_layers=2, dropout=0.5, seed=7) for _ in range(2))
    a, b = first(x)[0], first(x)[0]
    assert not np.array_equal(a, b), "each train-mode call draws a new mask"
    np.testing.assert_array_equal(second(x)[0], a, err_msg="the same seed, the same masks")
    first.eval()
    np.testing.assert_array_equal(first(x)[0], first(x)[0], err_msg="eval mode is deterministic")


def test_dropout_with_one_layer_warns_like_torch():
    """dropout > 0 with num_layers = 1 has no effect, and both libraries say so."""
    with pytest.warns(UserWarning, match="num_layers"):
        torch.nn.LSTM(3, 4, dropout=0.5)
    with pytest.warns(UserWarning, match="num_layers=1"):
        rnnlib.LSTM(3, 4, dropout=0.5)


@pytest.mark.parametrize("library", ["torch", "rnnlib"])
def test_dropout_masks_are_independent_draws_at_every_step(library):
    """The mask between two layers drops a fraction p, keeps the rest at exactly 1 / (1 - p),
    and is drawn afresh at every step: an entry's status changes between two steps in a
    fraction 2p(1 - p), where one mask reused at every step (variational dropout) would give 0.

    A probe makes the mask its output: layer 0 (zero weights, bias 1) outputs 1 at every step,
    layer 1 (ReLU, W_ih = I, all else 0) outputs what it reads. The fractions are tested within
    5 standard errors of independent draws; the status changes over disjoint pairs of steps
    (0, 1), (2, 3), ..., so that the indicators are independent.
    """
    p, steps, batch, hidden = 0.4, 50, 20, 100
    torch.manual_seed(0)
    probe = torch.nn.RNN(hidden, hidden, num_layers=2, nonlinearity="relu", dropout=p).double()
    weights = {name: torch.zeros_like(v) for name, v in probe.state_dict().items()}
    weights["bias_ih_l0"] = torch.ones(hidden, dtype=torch.float64)
    weights["weight_ih_l1"] = torch.eye(hidden, dtype=torch.float64)
    probe.load_state_dict(weights)
    zeros = np.zeros((steps, batch, hidden))  # the input, never read
    if library == "torch":
        mask = to_numpy(probe.train()(to_torch(zeros))[0])
    else:
        twin = rnnlib.RNN(hidden, hidden, num_layers=2, nonlinearity="relu", dropout=p,
                          dtype=np.float64, seed=0)
        twin.load_state_dict(numpy_state_dict(probe))
        mask = twin.train()(zeros)[0]
    assert_close(mask[mask != 0], np.full((mask != 0).sum(), 1 / (1 - p)),
                 what=f"{library}: the kept entries")
    dropped = (mask == 0).mean()
    se = np.sqrt(p * (1 - p) / mask.size)
    assert abs(dropped - p) < 5 * se, f"{library}: dropped {dropped:.4f}, expected p = {p}"
    changed = ((mask[0::2] == 0) != (mask[1::2] == 0)).mean()  # disjoint pairs of steps
    q = 2 * p * (1 - p)
    se_q = np.sqrt(q * (1 - q) / mask[0::2].size)
    assert abs(changed - q) < 5 * se_q, (
        f"{library}: status changed in {changed:.4f} of step pairs, expected 2p(1-p) = {q}")
