"""rnnlib.reference's masked mean and max pooling against torch, and the padding never leaking.

The ground truth is torch on each sequence alone, cut to its real steps: ``output[b, :l_b]``
averaged or maximised over time, forward and by autograd. The reference reads the padded batch.
"""

import numpy as np
import torch
from conftest import assert_close, assert_grad_close, assert_same, random_array, to_numpy
from hypothesis import given
from hypothesis import strategies as st

from rnnlib import reference, testing

F64 = np.float64
POOLS = {"mean": (reference.masked_mean, lambda y: y.mean(dim=0)),
         "max": (reference.masked_max, lambda y: y.amax(dim=0))}


def backward(pool, output, lengths, dy):
    """The reference's gradient of the padded output, for either pooling."""
    if pool == "mean":
        return reference.masked_mean_backward(dy, lengths, output.shape[1])
    return reference.masked_max_backward(output, lengths, dy)


@st.composite
def padded_batches(draw):
    """A padded float64 output (N, L, F), its lengths (each in 1..L, the longest = L), a seed."""
    batch, steps, features = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(
        st.integers(1, 4))
    lengths = draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    lengths[draw(st.integers(0, batch - 1))] = steps
    seed = draw(st.integers(0, 2**32 - 1))
    return random_array(np.random.default_rng(seed), (batch, steps, features), F64), \
        np.array(lengths), seed


@given(case=padded_batches(), pool=st.sampled_from(sorted(POOLS)))
def test_pooling_matches_torch_on_each_sequence_alone(case, pool):
    output, lengths, seed = case
    ours, torch_pool = POOLS[pool]
    dy = random_array(np.random.default_rng(seed + 1), (len(lengths), output.shape[2]), F64)
    x = torch.from_numpy(output).requires_grad_()
    expected = torch.stack([torch_pool(x[b, :n]) for b, n in enumerate(lengths)])  # (N, F)
    expected.backward(torch.from_numpy(dy))
    what = f"masked {pool} over lengths {lengths.tolist()} of a padded {output.shape}"
    assert_close(ours(output, lengths), to_numpy(expected), what=what)
    assert_grad_close(backward(pool, output, lengths, dy), to_numpy(x.grad), f"gradient, {what}")


@given(case=padded_batches(), pool=st.sampled_from(sorted(POOLS)),
       fill=st.sampled_from([0.0, 1e6, -1e6, np.inf, -np.inf, np.nan]),
       extra=st.integers(0, 3))
def test_padding_never_leaks(case, pool, fill, extra):
    # Whatever the padded steps hold, and however many are appended, the summary is the same
    # numbers, and no gradient reaches a padded step.
    output, lengths, seed = case
    ours = POOLS[pool][0]
    padded = np.concatenate([output, np.zeros((len(lengths), extra, output.shape[2]))], axis=1)
    padded[~reference.real_steps(lengths, padded.shape[1])] = fill
    what = f"masked {pool}, lengths {lengths.tolist()}, padding {fill} with {extra} extra steps"
    assert_same(ours(padded, lengths), ours(output, lengths), what)
    dy = random_array(np.random.default_rng(seed), (len(lengths), output.shape[2]), F64)
    grad = backward(pool, padded, lengths, dy)
    assert_same(grad[~reference.real_steps(lengths, padded.shape[1])],
                np.zeros((int((padded.shape[1] - lengths).sum()), output.shape[2])),
                f"gradient at the padded steps, {what}")


def test_max_shares_the_gradient_between_ties_as_torch_amax():
    output = np.array([[[1.0, -2.0], [3.0, -2.0], [3.0, 5.0], [9.0, 9.0]]])  # (1, 4, 2)
    lengths, dy = np.array([3]), np.array([[0.6, 1.2]])  # step 3 is padding: its 9s never win
    x = torch.from_numpy(output).requires_grad_()
    x[0, :3].amax(dim=0).backward(torch.from_numpy(dy[0]))
    assert_grad_close(reference.masked_max_backward(output, lengths, dy), to_numpy(x.grad),
                      "masked max with a tie in each feature")


def test_pooling_gradients_match_central_differences():
    rng = np.random.default_rng(0)
    output, lengths = rng.normal(size=(3, 5, 2)), np.array([5, 2, 4])  # ties: probability zero
    dy, eps = rng.normal(size=(3, 2)), 1e-6
    for pool, (ours, _) in POOLS.items():
        numeric = np.zeros_like(output)
        for index in np.ndindex(output.shape):
            nudged = [output.copy(), output.copy()]
            nudged[0][index] += eps
            nudged[1][index] -= eps
            numeric[index] = np.sum(dy * (ours(nudged[0], lengths) - ours(nudged[1], lengths)))
        testing.check(f"masked {pool}: backward against central differences",
                      backward(pool, output, lengths, dy), numeric / (2 * eps),
                      tol=testing.FINITE_DIFFERENCE)
