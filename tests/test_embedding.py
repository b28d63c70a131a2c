"""rnnlib.Embedding against torch.nn.Embedding: lookup, gradient, padding_idx, from_pretrained."""

import numpy as np
import pytest
import torch
from conftest import (
    assert_close,
    assert_grad_close,
    assert_same,
    assert_state_dict_like_torch,
    random_array,
    to_numpy,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st

import rnnlib
from rnnlib import testing

F64 = np.float64


def embedding_twins(num_embeddings, embedding_dim, padding_idx, seed, dtype=F64):
    """(torch Embedding, rnnlib Embedding) holding the same weight."""
    m = rnnlib.Embedding(num_embeddings, embedding_dim, padding_idx, dtype=dtype, seed=seed)
    t = torch.nn.Embedding(num_embeddings, embedding_dim, padding_idx,
                           dtype=to_torch(m.weight).dtype)
    t.load_state_dict({"weight": to_torch(m.weight)})
    return t, m


@given(num_embeddings=st.integers(1, 9), embedding_dim=st.integers(1, 5),
       shape=st.sampled_from([(), (1,), (6,), (4, 3), (2, 3, 2)]),
       data=st.data(), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_embedding_forward_and_backward_match_torch(num_embeddings, embedding_dim, shape, data,
                                                    seed, dtype):
    padding_idx = data.draw(st.one_of(st.none(), st.integers(-num_embeddings, num_embeddings - 1)),
                            label="padding_idx")  # negative: counted from the end
    t, m = embedding_twins(num_embeddings, embedding_dim, padding_idx, seed, dtype)
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, num_embeddings, shape)  # repeats, and the padding row, likely
    what = (f"Embedding({num_embeddings}, {embedding_dim}, padding_idx={padding_idx}) on "
            f"indices {indices.tolist()}, {np.dtype(dtype)}")
    y, y_t = m(indices), t(torch.from_numpy(indices))
    assert_close(y, to_numpy(y_t), what=f"output of {what}")
    if dtype != F64:
        return  # gradients are compared in float64 only
    g = random_array(rng, y.shape, dtype)
    assert m.backward(g) is None, f"{what}: indices have no gradient, backward returns None"
    y_t.backward(to_torch(g))
    assert_grad_close(m.grads["weight"], to_numpy(t.weight.grad), f"grad of weight, {what}")
    if padding_idx is not None:
        assert_same(m.grads["weight"][padding_idx], np.zeros(embedding_dim),
                    f"{what}: the padding row's gradient")


def test_embedding_gradcheck_with_repeated_indices():
    # Without padding_idx: with it, the padding row's gradient is zero by decree, not by calculus
    # (the forward pass does read that row), so central differences would rightly disagree.
    m = rnnlib.Embedding(5, 3, dtype=F64, seed=0)
    worst = rnnlib.gradcheck(m, np.array([[0, 1, 4], [4, 4, 1]]))
    assert worst <= testing.FINITE_DIFFERENCE.atol, f"gradcheck: worst relative error {worst}"


def test_embedding_init_state_dict_and_repr_are_torchs():
    m, t = rnnlib.Embedding(300, 40, padding_idx=-1, seed=0), torch.nn.Embedding(300, 40, -1)
    assert_state_dict_like_torch(m, t, "Embedding(300, 40, padding_idx=-1)")
    assert repr(m) == repr(t), f"rnnlib {m!r}, torch {t!r}"
    assert m.padding_idx == t.padding_idx == 299
    assert_same(m.weight[299], np.zeros(40, np.float32), "the padding row starts at zero")
    rest = m.weight[:299].astype(F64).ravel()
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1) < 0.02, (
        f"N(0, 1) init: mean {rest.mean()}, std {rest.std()} over {rest.size} draws")
    assert_same(rnnlib.Embedding(300, 40, seed=0).weight, rnnlib.Embedding(300, 40, seed=0).weight,
                "the same seed gives the same table")


def test_from_pretrained_copies_and_freezes_as_torch_does():
    table = np.random.default_rng(0).normal(size=(6, 3))
    frozen, t = rnnlib.Embedding.from_pretrained(table), torch.nn.Embedding.from_pretrained(
        torch.from_numpy(table))
    assert frozen.weight.dtype == F64 and frozen.weight is not table
    assert_same(frozen.weight, table, "from_pretrained keeps the values")
    trainable = rnnlib.Embedding.from_pretrained(table, freeze=False, padding_idx=2)
    assert_same(trainable.weight[2], table[2], "from_pretrained does not zero the padding row")
    assert not t.weight.requires_grad
    optimizers = [rnnlib.SGD([frozen, trainable], lr=0.5)]
    indices = np.array([0, 2, 5])
    for m in (frozen, trainable):
        m.backward(np.ones_like(m(indices)))
    optimizers[0].step()
    assert_same(frozen.weight, table, "a frozen table is not updated")
    assert_same(frozen.grads["weight"], np.zeros_like(table), "a frozen table gets no gradient")
    moved = np.flatnonzero(np.any(trainable.weight != table, axis=1))
    assert moved.tolist() == [0, 5], f"rows updated: {moved.tolist()}, expected [0, 5]"


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda m: m(np.array([0.0, 1.0])), TypeError, "integer token indices"),
    (lambda m: m(np.array([True, False])), TypeError, "integer token indices"),
    (lambda m: m(np.array([1, 4])), ValueError,
     "index 4 is out of range: expected indices in \\[0, 4\\)"),
    (lambda m: m(np.array([-1, 2])), ValueError, "index -1 is out of range"),
    (lambda m: m.backward(np.zeros((2, 3))), RuntimeError, "forward call first"),
    (lambda m: (m(np.array([1, 2])), m.backward(np.zeros((3, 3)))), ValueError,
     "Expected grad_output of shape \\(2, 3\\)"),
    (lambda m: (m(np.array([1, 2])), m.backward(np.zeros((2, 3), np.float32))), TypeError,
     "float64"),
])
def test_embedding_refusals(call, error, message):
    with pytest.raises(error, match=message):
        call(rnnlib.Embedding(4, 3, dtype=F64))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"padding_idx": 4}, ValueError, "expected an int in \\[-4, 4\\)"),
    ({"padding_idx": -5}, ValueError, "got -5"),
    ({"padding_idx": 1.0}, TypeError, "padding_idx must be an int or None"),
    ({"num_embeddings": 0}, ValueError, "num_embeddings must be an int >= 1"),
])
def test_embedding_constructor_refusals(kwargs, error, message):
    args = {"num_embeddings": 4, "embedding_dim": 3} | kwargs
    with pytest.raises(error, match=message):
        rnnlib.Embedding(**args)
    if isinstance(kwargs.get("padding_idx"), int):  # torch refuses the same padding_idx
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            torch.nn.Embedding(**args)


def test_from_pretrained_refuses_a_table_that_is_not_2d():
    with pytest.raises(ValueError, match="Expected embeddings of 2 dimensions"):
        rnnlib.Embedding.from_pretrained(np.zeros(5))
