"""Chapter 16's regularisers against torch, with the same masks: LockedDropout, LSTMLoop
(recurrent dropout and zoneout), WeightDrop and EmbeddingDropout, and their reference functions.

torch has none of them, so the torch side is written here the way the chapter writes it: a mask
multiplied in, an ``nn.LSTMCell`` loop, ``torch.func.functional_call`` with a masked weight.
rnnlib draws its masks from its seeded generator and exposes them; the torch side reuses them.
"""

import numpy as np
import pytest
import torch
from conftest import (
    assert_close,
    assert_grad_close,
    assert_refuses,
    assert_same,
    random_array,
    to_numpy,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st

import rnnlib
from rnnlib import reference, testing

F64 = np.float64
SEEDS = st.integers(0, 2**32 - 1)


class PairBackward:
    """An LSTMLoop or WeightDrop(LSTM) seen by rnnlib.gradcheck: its output is (output, state),
    so its backward takes two arguments, which gradcheck hands only to RNNBase modules."""

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        return getattr(self.module, name)

    def __call__(self, *args):
        return self.module(*args)

    def backward(self, grads):
        return self.module.backward(*grads)


# ------------------------------------------------------------------------------ LockedDropout

def torch_locked(x, mask, batch_first):
    """The chapter's torch side: the mask (N, H) repeated along the time axis."""
    return x * mask[:, None] if batch_first else x * mask


@given(steps=st.integers(1, 5), batch=st.integers(1, 4), features=st.integers(1, 5),
       p=st.sampled_from([0.0, 0.3, 0.5, 1.0]), batch_first=st.booleans(), seed=SEEDS,
       dtype=st.sampled_from([np.float64, np.float32]))
def test_locked_dropout_matches_torch(steps, batch, features, p, batch_first, seed, dtype):
    rng = np.random.default_rng(seed)
    shape = (batch, steps, features) if batch_first else (steps, batch, features)
    x = random_array(rng, shape, dtype)
    drop = rnnlib.LockedDropout(p, batch_first, dtype=dtype, seed=seed)
    replay = np.random.default_rng(seed)
    y = drop(x)
    what = f"LockedDropout(p={p}, batch_first={batch_first}) on {shape}, {np.dtype(dtype)}"
    if p == 0:
        assert drop.mask is None, f"{what}: p = 0 draws no mask"
        assert_same(y, x, f"{what}: p = 0 is the identity")
        return
    assert_same(drop.mask, reference.dropout_mask((batch, features), p, replay).astype(dtype),
                f"{what}: the mask is chapter 5's dropout_mask of shape (N, H) from the seed")
    tx = to_torch(x).requires_grad_(dtype == F64)
    ty = torch_locked(tx, to_torch(drop.mask), batch_first)
    assert_close(y, to_numpy(ty), what=f"output of {what}")
    assert_close(reference.locked_dropout(x, drop.mask, 1 if batch_first else 0), to_numpy(ty),
                 what=f"reference.locked_dropout, {what}")
    if dtype == F64:
        g = random_array(rng, shape, dtype)
        ty.backward(to_torch(g))
        assert_grad_close(drop.backward(g), to_numpy(tx.grad), f"input gradient of {what}")


def test_locked_dropout_keeps_one_mask_over_time_and_none_in_eval():
    drop = rnnlib.LockedDropout(0.5, dtype=F64, seed=0)
    x = np.ones((6, 3, 8))
    y = drop(x)
    assert_same(y, np.broadcast_to(y[0], y.shape).copy(), "every step is dropped alike")
    assert 0 < (y == 0).mean() < 1, "some entries dropped, some kept"
    assert_same(drop.eval()(x), x, "evaluation mode: the identity")
    assert drop.mask is None
    drop.train()
    assert not np.array_equal(drop(x), y), "each training-mode call draws a new mask"


def test_locked_dropout_unbatched_input_has_one_mask_per_feature():
    drop = rnnlib.LockedDropout(0.5, dtype=F64, seed=3)
    y = drop(np.ones((4, 7)))
    assert drop.mask.shape == (7,)
    assert_same(y, np.broadcast_to(drop.mask, (4, 7)).copy(), "unbatched (L, H): mask (H,)")


def test_locked_dropout_gradcheck():
    drop = rnnlib.LockedDropout(0.4, dtype=F64, seed=0)
    error = rnnlib.gradcheck(drop, np.random.default_rng(1).normal(size=(3, 2, 4)))
    assert error < testing.FINITE_DIFFERENCE.atol, f"gradcheck error {error:.1e}"


# ------------------------------------------------------------------------------ LSTMLoop

def torch_loop(cell, x, state, xi, keep):
    """The chapter's torch loop over an nn.LSTMCell: h dropped where it enters W_hh by xi,
    then zoneout; keep = (d_h, d_c), each (L, N, H) or a scalar."""
    h, c = state
    outputs = []
    for t in range(len(x)):
        new_h, new_c = cell(x[t], (h * xi, c))
        d_h, d_c = (k[t] if torch.is_tensor(k) and k.ndim else k for k in keep)
        h, c = d_h * h + (1 - d_h) * new_h, d_c * c + (1 - d_c) * new_c
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def loop_twins(input_size, hidden_size, bias, seed, **options):
    """(torch LSTMCell, rnnlib LSTMLoop) with the same random non-zero parameters."""
    loop = rnnlib.LSTMLoop(input_size, hidden_size, bias, dtype=F64, seed=seed, **options)
    cell = torch.nn.LSTMCell(input_size, hidden_size, bias, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    loop.load_state_dict({k: rng.uniform(-0.5, 0.5, v.shape) for k, v in loop.state_dict().items()})
    cell.load_state_dict({k: to_torch(v) for k, v in loop.state_dict().items()})
    return cell, loop


@given(input_size=st.integers(1, 4), hidden_size=st.integers(1, 4), steps=st.integers(1, 5),
       batch=st.integers(1, 3), bias=st.booleans(), batch_first=st.booleans(),
       recurrent_dropout=st.sampled_from([0.0, 0.3, 1.0]),
       zoneout=st.sampled_from([0.0, 0.5, (0.05, 0.5), (0.3, 0.0), (1.0, 1.0)]),
       training=st.booleans(), with_state=st.booleans(), seed=SEEDS)
def test_lstm_loop_matches_a_torch_cell_loop(input_size, hidden_size, steps, batch, bias,
                                             batch_first, recurrent_dropout, zoneout, training,
                                             with_state, seed):
    cell, loop = loop_twins(input_size, hidden_size, bias, seed, batch_first=batch_first,
                            recurrent_dropout=recurrent_dropout, zoneout=zoneout)
    loop.train(training)
    rng = np.random.default_rng(seed + 1)
    x = random_array(rng, (steps, batch, input_size), F64)
    state = tuple(random_array(rng, (batch, hidden_size), F64, -0.5, 0.5) for _ in "hc")
    out, (h_n, c_n) = loop(x.swapaxes(0, 1) if batch_first else x, state if with_state else None)
    what = f"{loop!r} in {'training' if training else 'evaluation'} mode"
    if training and recurrent_dropout:
        assert loop.recurrent_mask.shape == (batch, hidden_size), what
    xi = to_torch(loop.recurrent_mask) if loop.recurrent_mask is not None else 1.0
    keep = (tuple(to_torch(k) for k in loop.zoneout_masks) if loop.zoneout_masks is not None
            else loop.zoneout if not training else (0.0, 0.0))
    tx = to_torch(x).requires_grad_()
    t_state = tuple(to_torch(s if with_state else np.zeros_like(s)).requires_grad_()
                    for s in state)
    t_out, (t_h, t_c) = torch_loop(cell, tx, t_state, xi, keep)
    assert_close(out.swapaxes(0, 1) if batch_first else out, to_numpy(t_out), what=f"out, {what}")
    assert_close(h_n, to_numpy(t_h), what=f"h_n, {what}")
    assert_close(c_n, to_numpy(t_c), what=f"c_n, {what}")
    dy, dh, dc = (random_array(rng, a.shape, F64) for a in (t_out, t_h, t_c))
    torch.autograd.backward((t_out, t_h, t_c), tuple(map(to_torch, (dy, dh, dc))))
    dx, (dh0, dc0) = loop.backward(dy.swapaxes(0, 1) if batch_first else dy, (dh, dc))
    assert_grad_close(dx.swapaxes(0, 1) if batch_first else dx, to_numpy(tx.grad), f"dx, {what}")
    assert_grad_close(dh0, to_numpy(t_state[0].grad), f"dh_0, {what}")
    assert_grad_close(dc0, to_numpy(t_state[1].grad), f"dc_0, {what}")
    for name, p in cell.named_parameters():
        assert_grad_close(loop.grads[name], to_numpy(p.grad), f"d{name}, {what}")


def test_lstm_loop_without_options_is_nn_lstm():
    cell, loop = loop_twins(3, 4, True, 0)
    lstm = torch.nn.LSTM(3, 4, dtype=torch.float64)
    lstm.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = random_array(np.random.default_rng(1), (6, 2, 3), F64)
    out, (h_n, c_n) = loop(x)
    t_out, (t_h, t_c) = lstm(to_torch(x))
    assert_close(out, to_numpy(t_out), what="LSTMLoop(3, 4) against nn.LSTM(3, 4)")
    assert_close(c_n, to_numpy(t_c[0]), what="c_n against nn.LSTM's")


@pytest.mark.parametrize("cell_fn", [reference.variational_lstm_cell,
                                     reference.zoneout_lstm_cell], ids=lambda f: f.__name__)
def test_reference_masked_layer_steps_match_torch(cell_fn):
    """The reference's cells and BPTT, with locked (variational) or per-step (zoneout) masks."""
    cell, loop = loop_twins(3, 4, True, 5)
    rng = np.random.default_rng(6)
    x = random_array(rng, (5, 2, 3), F64)
    state = tuple(random_array(rng, (2, 4), F64, -0.5, 0.5) for _ in "hc")
    if cell_fn is reference.variational_lstm_cell:
        xi = reference.dropout_mask((2, 4), 0.4, rng)
        masks, keep = [xi] * len(x), (0.0, 0.0)  # the same mask at every step
    else:
        xi, keep = 1.0, tuple((rng.random((5, 2, 4)) < z).astype(F64) for z in (0.2, 0.6))
        masks = list(zip(*keep, strict=True))  # a pair of masks per step
    out, (h_n, c_n) = reference.masked_layer_steps(cell_fn, x, state, loop.state_dict(), masks)
    tx, t_state = to_torch(x).requires_grad_(), tuple(to_torch(s).requires_grad_() for s in state)
    t_out, t_final = torch_loop(cell, tx, t_state, to_torch(xi),
                                tuple(to_torch(k) for k in keep))
    assert_close(out, to_numpy(t_out), what=f"{cell_fn.__name__}: output")
    assert_close(c_n, to_numpy(t_final[1]), what=f"{cell_fn.__name__}: c_n")
    dy, dh, dc = (random_array(rng, a.shape, F64) for a in (out, h_n, c_n))
    torch.autograd.backward((t_out, *t_final), tuple(map(to_torch, (dy, dh, dc))))
    dx, (dh0, dc0), grads = reference.masked_layer_steps_backward(
        cell_fn, x, state, loop.state_dict(), masks, dy, (dh, dc))
    assert_grad_close(dx, to_numpy(tx.grad), f"{cell_fn.__name__}: dx")
    assert_grad_close(dh0, to_numpy(t_state[0].grad), f"{cell_fn.__name__}: dh_0")
    assert_grad_close(dc0, to_numpy(t_state[1].grad), f"{cell_fn.__name__}: dc_0")
    for name, p in cell.named_parameters():
        assert_grad_close(grads[name], to_numpy(p.grad), f"{cell_fn.__name__}: d{name}")


def test_lstm_loop_masks_come_from_its_seed_in_order():
    loop = rnnlib.LSTMLoop(2, 3, recurrent_dropout=0.5, zoneout=(0.1, 0.6), dtype=F64, seed=9)
    replay = np.random.default_rng(9)
    for shape in [(12, 2), (12, 3), (12,), (12,)]:  # the initialisation's draws, in torch's order
        replay.uniform(size=shape)
    loop(np.zeros((4, 2, 2)))
    assert_same(loop.recurrent_mask, reference.dropout_mask((2, 3), 0.5, replay), "xi first")
    for mask, z in zip(loop.zoneout_masks, (0.1, 0.6), strict=True):
        assert_same(mask, (replay.random((4, 2, 3)) < z).astype(F64), f"then d (z = {z})")


@pytest.mark.parametrize("options", [{"recurrent_dropout": 0.4}, {"zoneout": (0.3, 0.5)},
                                     {"recurrent_dropout": 0.3, "zoneout": 0.2}], ids=str)
def test_lstm_loop_gradcheck(options):
    loop = rnnlib.LSTMLoop(2, 3, dtype=F64, seed=0, **options)
    rng = np.random.default_rng(0)
    state = (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)))
    error = rnnlib.gradcheck(PairBackward(loop), rng.normal(size=(3, 2, 2)), state)
    assert error < testing.FINITE_DIFFERENCE.atol, f"{loop!r}: gradcheck error {error:.1e}"


# ------------------------------------------------------------------------------ WeightDrop

def functional_twin(module, masks):
    """torch's LSTM/GRU/Linear with ``module``'s raw parameters as leaves, and a call that
    uses them with ``masks`` multiplied in (torch.func.functional_call)."""
    kind = {rnnlib.LSTM: torch.nn.LSTM, rnnlib.GRU: torch.nn.GRU}[type(module)]
    t = kind(module.input_size, module.hidden_size, num_layers=module.num_layers,
             dtype=torch.float64)
    raw = {k: to_torch(v).requires_grad_() for k, v in module.state_dict().items()}

    def call(x):
        params = {k: v * to_torch(masks[k]) if k in masks else v for k, v in raw.items()}
        return torch.func.functional_call(t, params, (x,))

    return raw, call


@given(kind=st.sampled_from([rnnlib.LSTM, rnnlib.GRU]), num_layers=st.integers(1, 2),
       dropout=st.sampled_from([0.3, 0.5, 1.0]), seed=SEEDS,
       which=st.sampled_from([("weight_hh_l0",), ("weight_hh_l0", "weight_ih_l0")]))
def test_weight_drop_matches_torch_functional_call(kind, num_layers, dropout, seed, which):
    module = kind(3, 4, num_layers=num_layers, dtype=F64, seed=seed)
    wrapped = rnnlib.WeightDrop(module, list(which), dropout, seed=seed)
    raw_before = module.state_dict()
    rng = np.random.default_rng(seed)
    x = random_array(rng, (5, 2, 3), F64)
    out, _ = wrapped(x)
    what = f"{wrapped!r}"
    assert set(wrapped.masks) == set(which), what
    raw, call = functional_twin(module, wrapped.masks)
    t_out, _ = call(to_torch(x))
    assert_close(out, to_numpy(t_out), what=f"output of {what}")
    dy = random_array(rng, out.shape, F64)
    t_out.backward(to_torch(dy))
    wrapped.backward(dy)
    for name, value in raw.items():
        assert_grad_close(wrapped.grads[name], to_numpy(value.grad), f"d{name} (raw), {what}")
        assert_same(module.state_dict()[name], raw_before[name], f"{name} kept raw, {what}")


def test_reference_weight_drop_is_the_layer_with_a_masked_weight():
    module = rnnlib.LSTM(3, 4, dtype=F64, seed=0)
    wrapped = rnnlib.WeightDrop(module, ["weight_hh_l0"], 0.5, seed=1)
    x = random_array(np.random.default_rng(2), (5, 2, 3), F64)
    out, (h_n, c_n) = wrapped(x)
    w = reference.weight_drop(reference.weights(module.state_dict()), "weight_hh",
                              wrapped.masks["weight_hh_l0"])
    zeros = np.zeros((2, 4))
    ref_out, (ref_h, ref_c) = reference.layer(reference.lstm_cell, x, (zeros, zeros), w)
    assert_close(out, ref_out, what="reference.weight_drop in reference.layer: output")
    assert_close(c_n[0], ref_c, what="reference.weight_drop in reference.layer: c_n")


def test_weight_drop_trains_like_a_torch_parametrization():
    """Adam on WeightDrop(LSTM) + Linear, against torch.nn.utils.parametrize replaying the masks:
    the raw weights are what both optimizers update, step after step."""
    lstm, lin = rnnlib.LSTM(3, 4, dtype=F64, seed=0), rnnlib.Linear(4, 2, dtype=F64, seed=1)
    wrapped = rnnlib.WeightDrop(lstm, ["weight_hh_l0"], 0.5, seed=2)
    t_lstm, t_lin = torch.nn.LSTM(3, 4, dtype=torch.float64), torch.nn.Linear(4, 2).double()
    t_lstm.load_state_dict({k: to_torch(v) for k, v in lstm.state_dict().items()})
    t_lin.load_state_dict({k: to_torch(v) for k, v in lin.state_dict().items()})

    class Replay(torch.nn.Module):
        mask = 1.0  # replaced by each step's mask before the call

        def forward(self, w):
            return w * self.mask

    replay = Replay()
    torch.nn.utils.parametrize.register_parametrization(t_lstm, "weight_hh_l0", replay)
    opt = rnnlib.Adam([wrapped, lin], lr=0.05)
    t_opt = torch.optim.Adam([*t_lstm.parameters(), *t_lin.parameters()], lr=0.05)
    rng = np.random.default_rng(3)
    for step in range(4):
        x, y = random_array(rng, (5, 2, 3), F64), rng.integers(0, 2, 10)
        opt.zero_grad()
        out, _ = wrapped(x)
        loss, grad = rnnlib.cross_entropy(lin(out).reshape(10, 2), y)
        wrapped.backward(lin.backward(grad.reshape(5, 2, 2)))
        opt.step()
        replay.mask = to_torch(wrapped.masks["weight_hh_l0"])
        t_loss = torch.nn.functional.cross_entropy(
            t_lin(t_lstm(to_torch(x))[0]).reshape(10, 2), torch.from_numpy(y))
        t_opt.zero_grad()
        t_loss.backward()
        t_opt.step()
        assert_close(np.array(loss), to_numpy(t_loss), what=f"loss at step {step}")
    assert_close(lstm.weight_hh_l0, to_numpy(t_lstm.parametrizations.weight_hh_l0.original),
                 what="raw weight_hh_l0 after four Adam steps")


def test_weight_drop_accumulates_each_calls_masked_gradient():
    module = rnnlib.LSTM(2, 3, dtype=F64, seed=0)
    wrapped = rnnlib.WeightDrop(module, ["weight_hh_l0"], 0.5, seed=1)
    x, dy = np.ones((4, 1, 2)), np.ones((4, 1, 3))
    total, masks = 0, []
    for _ in range(2):
        wrapped(x)
        masks.append(wrapped.masks["weight_hh_l0"])
        before = wrapped.grads["weight_hh_l0"].copy()
        wrapped.backward(dy)
        total = total + (wrapped.grads["weight_hh_l0"] - before)
    assert not np.array_equal(*masks), "each call draws its own mask"
    assert_close(wrapped.grads["weight_hh_l0"], total, what="two calls' gradients add up")


def test_weight_drop_in_eval_mode_uses_the_raw_weights():
    module = rnnlib.GRU(2, 3, dtype=F64, seed=0)
    wrapped = rnnlib.WeightDrop(module, ["weight_hh_l0"], 0.9, seed=1).eval()
    x = np.ones((4, 1, 2))
    assert wrapped.masks == {} and not module.training
    assert_same(wrapped(x)[0], module(x)[0], "evaluation mode: no weight dropped")


def test_weight_drop_gradcheck():
    wrapped = rnnlib.WeightDrop(rnnlib.LSTM(2, 3, dtype=F64, seed=0), ["weight_hh_l0"], 0.5,
                                seed=1)
    error = rnnlib.gradcheck(PairBackward(wrapped), np.random.default_rng(0).normal(size=(3, 2, 2)))
    assert error < testing.FINITE_DIFFERENCE.atol, f"gradcheck error {error:.1e}"


# ------------------------------------------------------------------------------ EmbeddingDropout

@given(num_embeddings=st.integers(2, 9), embedding_dim=st.integers(1, 4),
       padding_idx=st.sampled_from([None, 0]), dropout=st.sampled_from([0.2, 0.5]), seed=SEEDS)
def test_embedding_dropout_matches_torch(num_embeddings, embedding_dim, padding_idx, dropout,
                                         seed):
    emb = rnnlib.Embedding(num_embeddings, embedding_dim, padding_idx, dtype=F64, seed=seed)
    drop = rnnlib.EmbeddingDropout(emb, dropout, seed=seed)
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, num_embeddings, (3, 4))
    y = drop(indices)
    mask = drop.masks["weight"]
    assert mask.shape == (num_embeddings, 1)
    weight = to_torch(emb.weight).requires_grad_()
    t_y = torch.nn.functional.embedding(torch.from_numpy(indices), weight * to_torch(mask),
                                        padding_idx)
    what = f"{drop!r}, padding_idx={padding_idx}"
    assert_close(y, to_numpy(t_y), what=f"output of {what}")
    assert_close(reference.embedding_dropout(emb.weight, indices, mask), to_numpy(t_y),
                 what=f"reference.embedding_dropout, {what}")
    dy = random_array(rng, y.shape, F64)
    t_y.backward(to_torch(dy))
    assert drop.backward(dy) is None
    assert_grad_close(drop.grads["weight"], to_numpy(weight.grad), f"dweight, {what}")
    dropped = mask[indices, 0] == 0  # (3, 4): positions whose token was dropped
    assert_same(y[dropped], np.zeros((dropped.sum(), embedding_dim)),
                f"{what}: a dropped token reads zeros wherever it occurs")


def test_embedding_dropout_gradcheck():
    drop = rnnlib.EmbeddingDropout(rnnlib.Embedding(6, 3, dtype=F64, seed=0), 0.5, seed=1)
    error = rnnlib.gradcheck(drop, np.array([[0, 1, 1], [5, 2, 0]]))
    assert error < testing.FINITE_DIFFERENCE.atol, f"gradcheck error {error:.1e}"


# ------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("call, error, fragments", [
    (lambda: rnnlib.LockedDropout(1.5), ValueError, (r"\[0, 1\]", "1.5")),
    (lambda: rnnlib.LockedDropout(0.5)(np.ones((1, 2, 3, 4), np.float32)), ValueError,
     ("2-D or 3-D", "4-D")),
    (lambda: rnnlib.LockedDropout(0.5)(np.ones((2, 3))), TypeError, ("float32", "float64")),
    (lambda: rnnlib.LockedDropout(0.5)(rnnlib.pack_sequence([np.ones((2, 3), np.float32)])),
     TypeError, ("PackedSequence", "pad_packed_sequence")),
    (lambda: rnnlib.LockedDropout(0.5).backward(np.ones(3, np.float32)), RuntimeError,
     ("forward call first",)),
    (lambda: rnnlib.LSTMLoop(2, 3, zoneout=(0.1, 0.2, 0.3)), TypeError, ("pair", "zeta_h")),
    (lambda: rnnlib.LSTMLoop(2, 3, zoneout=-0.1), ValueError, (r"\[0, 1\]", "-0.1")),
    (lambda: rnnlib.LSTMLoop(2, 3, recurrent_dropout=2), ValueError, ("recurrent_dropout",)),
    (lambda: rnnlib.LSTMLoop(2, 3)(np.ones((4, 2), np.float32)), ValueError, ("3-D", "2-D")),
    (lambda: rnnlib.LSTMLoop(2, 3)(np.ones((4, 1, 5), np.float32)), ValueError,
     ("input_size=2", r"\b5\b")),
    (lambda: rnnlib.LSTMLoop(2, 3)(np.ones((4, 1, 2), np.float32),
                                   (np.ones((1, 3), np.float32), np.ones((2, 3), np.float32))),
     ValueError, ("c_0 has batch size 2", "input has batch size 1")),
    (lambda: rnnlib.WeightDrop(rnnlib.LSTM(2, 3), ["weight_hh"], 0.5), ValueError,
     ("no parameter 'weight_hh'", "weight_hh_l0")),
    (lambda: rnnlib.WeightDrop(rnnlib.LSTM(2, 3), "weight_hh_l0", 0.5), TypeError,
     ("list of parameter names",)),
    (lambda: rnnlib.WeightDrop(torch.nn.LSTM(2, 3), ["weight_hh_l0"], 0.5), TypeError,
     ("rnnlib module", "LSTM")),
    (lambda: rnnlib.WeightDrop(rnnlib.LSTM(2, 3), ["weight_hh_l0"], -1), ValueError,
     (r"\[0, 1\]",)),
    (lambda: rnnlib.EmbeddingDropout(rnnlib.Linear(2, 3), 0.1), TypeError,
     ("rnnlib.Embedding", "Linear")),
], ids=[f"refusal_{i}" for i in range(16)])
def test_refusals(call, error, fragments):
    assert_refuses(call, error, fragments)


def test_lstm_loop_backward_refuses_a_misshaped_gradient():
    loop = rnnlib.LSTMLoop(2, 3, batch_first=True)
    loop(np.ones((1, 4, 2), np.float32))
    with pytest.raises(ValueError, match=r"\(1, 4, 3\).*\(4, 1, 3\)"):
        loop.backward(np.ones((4, 1, 3), np.float32))
