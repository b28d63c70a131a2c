"""rnnlib.init against torch.nn.init: orthogonal_ and eye_, in place, refusing bad input."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnlib import init

shapes = st.tuples(st.integers(1, 9), st.integers(1, 9))
gains = st.floats(0.1, 3.0)


class Replay:
    """A generator whose ``standard_normal`` returns given draws: torch's, in these tests."""

    def __init__(self, draws):
        self.draws = draws

    def standard_normal(self, shape):
        assert tuple(shape) == self.draws.shape, (shape, self.draws.shape)
        return self.draws


def torch_orthogonal(shape, gain, seed):
    """torch's orthogonal_ on a float64 tensor, and the normal draws it used."""
    rows = shape[0]
    cols = int(np.prod(shape)) // rows
    draws = torch.empty(rows, cols, dtype=torch.float64).normal_(
        0, 1, generator=torch.Generator().manual_seed(seed))
    filled = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain,
                                       generator=torch.Generator().manual_seed(seed))
    return filled.numpy(), draws.numpy()


def assert_orthonormal(q, gain=1.0):
    """Orthonormal columns when tall or square, orthonormal rows when wide (times gain)."""
    q = q.reshape(q.shape[0], -1) / gain
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), rtol=0, atol=1e-10,
                               err_msg=f"Gram matrix of a {q.shape} result is not I")


@given(shape=shapes, gain=gains, seed=st.integers(0, 2**31 - 1))
def test_orthogonal_equals_torch_given_the_same_draws(shape, gain, seed):
    expected, draws = torch_orthogonal(shape, gain, seed)
    actual = init.orthogonal_(np.empty(shape), gain=gain, generator=Replay(draws))
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10,
                               err_msg="rnnlib (actual) vs torch.nn.init (desired)")


def test_orthogonal_flattens_trailing_dimensions_as_torch():
    expected, draws = torch_orthogonal((3, 2, 4), 1.0, seed=0)
    actual = init.orthogonal_(np.empty((3, 2, 4)), generator=Replay(draws))
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(7, 3), (3, 7), (5, 5), (1, 4), (4, 1)],
                         ids=["tall", "wide", "square", "one row", "one column"])
@pytest.mark.parametrize("gain", [1.0, 0.5, 2.5])
def test_orthogonal_is_orthonormal_times_gain(shape, gain):
    q = init.orthogonal_(np.empty(shape), gain=gain, generator=np.random.default_rng(0))
    assert_orthonormal(q, gain)


def test_orthogonal_fills_a_view_in_place_and_leaves_the_rest():
    rng = np.random.default_rng(1)
    hidden = 6
    weight = rng.standard_normal((4 * hidden, hidden))  # an LSTM's stacked weight_hh
    before = weight.copy()
    block = np.split(weight, 4)[2]  # the g block: a view
    returned = init.orthogonal_(block, generator=rng)
    assert returned is block
    assert_orthonormal(weight[2 * hidden:3 * hidden])
    untouched = np.r_[0:2 * hidden, 3 * hidden:4 * hidden]
    np.testing.assert_array_equal(weight[untouched], before[untouched])


def test_orthogonal_fills_a_non_contiguous_view():
    weight = np.zeros((6, 8))
    init.orthogonal_(weight[:, ::2], generator=np.random.default_rng(2))  # (6, 4), strided
    assert_orthonormal(weight[:, ::2])
    np.testing.assert_array_equal(weight[:, 1::2], 0.0)


def test_orthogonal_writes_float32_and_is_seeded():
    a = init.orthogonal_(np.empty((5, 5), np.float32), generator=np.random.default_rng(3))
    b = init.orthogonal_(np.empty((5, 5), np.float32), generator=np.random.default_rng(3))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.T.astype(np.float64) @ a, np.eye(5), rtol=0, atol=1e-6)


def test_orthogonal_of_an_empty_array_is_a_no_op():
    empty = np.empty((0, 3))
    assert init.orthogonal_(empty) is empty


@pytest.mark.parametrize(("array", "kwargs", "error", "match"), [
    (np.empty(4), {}, ValueError, "at least 2 dimensions"),
    (torch.empty(3, 3), {}, TypeError, "NumPy array"),
    (np.empty((3, 3), dtype=np.int64), {}, TypeError, "floating-point"),
    (np.empty((3, 3)), {"gain": "2"}, TypeError, "real number for gain"),
    (np.empty((3, 3)), {"generator": 0}, TypeError, "numpy.random.Generator"),
])
def test_orthogonal_refuses_bad_input(array, kwargs, error, match):
    with pytest.raises(error, match=match):
        init.orthogonal_(array, **kwargs)


def test_orthogonal_refuses_a_read_only_array():
    array = np.empty((3, 3))
    array.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        init.orthogonal_(array)


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_equals_torch(shape):
    expected = torch.nn.init.eye_(torch.empty(shape, dtype=torch.float64)).numpy()
    actual = init.eye_(np.full(shape, 7.0))
    np.testing.assert_array_equal(actual, expected)


def test_eye_fills_a_view_in_place():
    weight = np.full((12, 3), 7.0)  # an RNN-sized block stack
    init.eye_(weight[3:6])
    np.testing.assert_array_equal(weight[3:6], np.eye(3))
    np.testing.assert_array_equal(np.delete(weight, np.s_[3:6], axis=0), 7.0)


@pytest.mark.parametrize("array", [np.empty(3), np.empty((2, 2, 2))])
def test_eye_refuses_other_than_two_dimensions(array):
    with pytest.raises(ValueError, match="exactly 2 dimensions"):
        init.eye_(array)
