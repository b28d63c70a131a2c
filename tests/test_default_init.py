"""The law of the default initialisation: U(-1/sqrt(H), 1/sqrt(H)), each parameter drawn apart.

``test_cells.py`` checks the bound and the seeding; a bound alone would let through all zeros or
a narrower law. These tests check the distribution itself, with Kolmogorov-Smirnov tests at fixed
seeds (deterministic, so never flaky), each paired with a law the same test must reject.
"""

import numpy as np
import pytest
import torch
from scipy import stats

import rnnlib

ALPHA = 1e-3  # significance level: a p-value below it rejects the law
MODULES = {  # name -> (rnnlib module, torch module), built from (input_size, hidden_size, seed)
    "RNNCell": (lambda i, h, s: rnnlib.RNNCell(i, h, seed=s), torch.nn.RNNCell),
    "LSTMCell": (lambda i, h, s: rnnlib.LSTMCell(i, h, seed=s), torch.nn.LSTMCell),
    "GRUCell": (lambda i, h, s: rnnlib.GRUCell(i, h, seed=s), torch.nn.GRUCell),
    "LSTM(2 layers)": (lambda i, h, s: rnnlib.LSTM(i, h, 2, seed=s),
                       lambda i, h: torch.nn.LSTM(i, h, 2)),
}


def values(state_dict):
    """Every parameter entry of a state_dict, as one float64 vector."""
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in state_dict.values()])


def torch_values(make, input_size, hidden_size, seed):
    torch.manual_seed(seed)
    return values(make(input_size, hidden_size).state_dict())


def uniform(bound):
    return stats.uniform(loc=-bound, scale=2 * bound).cdf


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_default_init_is_uniform_on_one_over_sqrt_hidden_size(name, seed):
    """rnnlib's and torch's parameters pass the KS test for U(-1/sqrt(H), 1/sqrt(H)), with
    variance 1/(3H), and both reject U(-0.9/sqrt(H), 0.9/sqrt(H))."""
    make_rnnlib, make_torch = MODULES[name]
    input_size, hidden_size = 5, 64
    bound = 1 / np.sqrt(hidden_size)
    drawn = {"rnnlib": values(make_rnnlib(input_size, hidden_size, seed).state_dict()),
             "torch": torch_values(make_torch, input_size, hidden_size, seed)}
    for lib, v in drawn.items():
        p_law = stats.kstest(v, uniform(bound)).pvalue
        p_narrow = stats.kstest(v, uniform(0.9 * bound)).pvalue
        variance_ratio = v.var() * 3 * hidden_size
        assert p_law > ALPHA > p_narrow, (
            f"{lib} {name}, seed {seed}: KS p = {p_law:.2g} for U(-1/sqrt(H), 1/sqrt(H)), "
            f"p = {p_narrow:.2g} for the narrower law; expected > {ALPHA} and < {ALPHA}")
        assert abs(variance_ratio - 1) < 0.1, (
            f"{lib} {name}, seed {seed}: variance {v.var():.4g}, expected 1/(3H) = "
            f"{1 / (3 * hidden_size):.4g} (ratio {variance_ratio:.3f})")
    p_same = stats.ks_2samp(drawn["rnnlib"], drawn["torch"]).pvalue
    assert p_same > ALPHA, f"{name}, seed {seed}: rnnlib and torch differ in law, KS p = {p_same}"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_two_biases_are_drawn_apart(seed):
    """b_ih and b_hh are independent draws: their sum, the only bias the cell sees, is triangular
    on (-2/sqrt(H), 2/sqrt(H)) with sqrt(2) times the spread of one bias, not uniform."""
    hidden_size = 1024
    bound = 1 / np.sqrt(hidden_size)
    torch.manual_seed(seed)
    cells = {"rnnlib": rnnlib.RNNCell(1, hidden_size, seed=seed).state_dict(),
             "torch": torch.nn.RNNCell(1, hidden_size).state_dict()}
    triangular = stats.triang(c=0.5, loc=-2 * bound, scale=4 * bound).cdf
    for lib, sd in cells.items():
        b_ih, b_hh = (np.asarray(sd[k], dtype=np.float64) for k in ("bias_ih", "bias_hh"))
        b_sum = b_ih + b_hh  # (H,)
        p_triangular = stats.kstest(b_sum, triangular).pvalue
        p_uniform = stats.kstest(b_sum, uniform(2 * bound)).pvalue
        ratio = b_sum.std() / b_ih.std()
        assert p_triangular > ALPHA > p_uniform, (
            f"{lib}, seed {seed}: b_ih + b_hh KS p = {p_triangular:.2g} (triangular), "
            f"{p_uniform:.2g} (uniform); expected > {ALPHA} and < {ALPHA}")
        assert abs(ratio - np.sqrt(2)) < 0.1 * np.sqrt(2), (
            f"{lib}, seed {seed}: std(b_ih + b_hh) / std(b_ih) = {ratio:.3f}, expected sqrt(2)")
