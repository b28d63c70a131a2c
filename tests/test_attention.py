"""rnnlib's attention against torch: Luong's dot and Bahdanau's additive, with a boolean mask.

The reference (``rnnlib.reference.dot_attention`` and ``additive_attention``) and the modules
(``rnnlib.DotAttention``, ``rnnlib.AdditiveAttention``) are checked against torch in float64:
dot attention against ``scaled_dot_product_attention`` (with its ``scale``, boolean
``attn_mask``, True = takes part), additive attention against the same formula written with
torch's ops and differentiated by autograd. Hypothesis draws the batch, both lengths, the sizes
and the mask: none, a padding mask (N, 1, L_k), a full (N, L_q, L_k) mask with fully masked
rows, and a shared (L_q, L_k) one. Then: module == reference, gradcheck, what masked keys get
(no weight, no gradient, no influence), and the refusals.
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
)
from hypothesis import given
from hypothesis import strategies as st

import rnnlib
from rnnlib import reference, testing

F64 = np.float64
MASKS = ("none", "padding", "full", "shared")


@st.composite
def cases(draw, dot=False):
    """(query, key, value, mask, scale, seed): float64 arrays of drawn sizes, and a drawn mask;
    with ``dot``, query and key have the same number of features."""
    n, l_q, l_k = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    h_q, h_k, h_v = (draw(st.integers(1, 5)) for _ in range(3))
    h_k = h_q if dot else h_k
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(MASKS))
    if kind == "none":
        mask = None
    elif kind == "padding":  # each sequence keeps its first 1..L_k keys
        mask = (np.arange(l_k) < rng.integers(1, l_k + 1, n)[:, None])[:, None]
    elif kind == "full":  # any pattern, fully masked rows included
        mask = rng.random((n, l_q, l_k)) < 0.6
    else:  # one (L_q, L_k) mask for every sequence, broadcast over N
        mask = rng.random((l_q, l_k)) < 0.6
    query, key, value = (random_array(rng, shape, F64, -2, 2)
                         for shape in ((n, l_q, h_q), (n, l_k, h_k), (n, l_k, h_v)))
    return query, key, value, mask, draw(st.sampled_from([1.0, 0.5, 2.0])), seed


def torch_attend(scores, value, mask):
    """torch's softmax over the keys and weighted average, with rnnlib's (and SDPA's) rule for a
    fully masked row (zero weights), written so that autograd gives such a row no gradient."""
    if mask is None:
        weights = scores.softmax(dim=-1)
    else:
        mask = torch.from_numpy(np.broadcast_to(mask, scores.shape).copy())
        alive = mask.any(dim=-1, keepdim=True)
        weights = scores.masked_fill(~mask, -torch.inf).masked_fill(~alive, 0).softmax(-1) * alive
    return weights @ value, weights


def torch_additive(query, key, value, params, mask):
    """Bahdanau's scores with torch's ops, then :func:`torch_attend`."""
    hidden = torch.tanh((query @ params["q_proj_weight"].T)[:, :, None]
                        + (key @ params["k_proj_weight"].T)[:, None])
    return torch_attend((hidden @ params["score_weight"].T)[..., 0], value, mask)


def leaves(*arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def additive_twin(query, key, seed, hidden_size=3):
    """An rnnlib.AdditiveAttention for these inputs' sizes, and its parameters as torch leaves."""
    module = rnnlib.AdditiveAttention(query.shape[2], key.shape[2], hidden_size, dtype=F64,
                                      seed=seed)
    return module, dict(zip(module.state_dict(), leaves(*module.state_dict().values()),
                            strict=True))


@given(case=cases(dot=True))
def test_dot_attention_matches_torchs_scaled_dot_product_attention(case):
    query, key, value, mask, scale, seed = case
    what = f"dot attention, shapes {query.shape} {key.shape} {value.shape}, mask {mask}"
    tq, tk, tv = leaves(query, key, value)
    attn_mask = None if mask is None else torch.from_numpy(mask)
    t_context = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=attn_mask,
                                                                 scale=scale)
    _, t_weights = torch_attend(scale * tq @ tk.transpose(1, 2), tv, mask)
    module = rnnlib.DotAttention(scale, dtype=F64)
    for context, weights in (reference.dot_attention(query, key, value, mask, scale),
                             module(query, key, value, mask)):
        assert_close(context, to_numpy(t_context), what=f"context, {what}")
        assert_close(weights, to_numpy(t_weights), what=f"weights, {what}")
    grad = random_array(np.random.default_rng(seed), t_context.shape, F64)
    t_context.backward(torch.from_numpy(grad))
    expected = [to_numpy(t.grad) for t in (tq, tk, tv)]
    for name, grads in (("reference", reference.dot_attention_backward(query, key, value, mask,
                                                                       grad, scale)),
                        ("module", module.backward(grad))):
        for label, actual, torch_grad in zip("qkv", grads, expected, strict=True):
            assert_grad_close(actual, torch_grad, f"{name}: grad of {label}, {what}")


@given(case=cases(), hidden_size=st.integers(1, 4))
def test_additive_attention_matches_torch_autograd(case, hidden_size):
    query, key, value, mask, _, seed = case
    what = f"additive attention, shapes {query.shape} {key.shape} {value.shape}, mask {mask}"
    module, t_params = additive_twin(query, key, seed, hidden_size)
    tq, tk, tv = leaves(query, key, value)
    t_context, t_weights = torch_additive(tq, tk, tv, t_params, mask)
    params = module.state_dict()
    for context, weights in (reference.additive_attention(query, key, value, params, mask),
                             module(query, key, value, mask)):
        assert_close(context, to_numpy(t_context), what=f"context, {what}")
        assert_close(weights, to_numpy(t_weights), what=f"weights, {what}")
    grad = random_array(np.random.default_rng(seed), t_context.shape, F64)
    t_context.backward(torch.from_numpy(grad))
    *ref_inputs, ref_params = reference.additive_attention_backward(query, key, value, params,
                                                                    mask, grad)
    for name, inputs, grads in (("reference", ref_inputs, ref_params),
                                ("module", module.backward(grad), module.grads)):
        for label, actual, t in zip("qkv", inputs, (tq, tk, tv), strict=True):
            assert_grad_close(actual, to_numpy(t.grad), f"{name}: grad of {label}, {what}")
        for key_name, t in t_params.items():
            assert_grad_close(grads[key_name], to_numpy(t.grad), f"{name}: {key_name}, {what}")


@given(data=st.data(), dot=st.booleans())
def test_module_equals_the_reference(data, dot):
    query, key, value, mask, scale, seed = data.draw(cases(dot=dot), label="case")
    if dot:
        module = rnnlib.DotAttention(scale, dtype=F64)
        ref = reference.dot_attention(query, key, value, mask, scale)
    else:
        module = rnnlib.AdditiveAttention(query.shape[2], key.shape[2], 2, dtype=F64, seed=seed)
        ref = reference.additive_attention(query, key, value, module.state_dict(), mask)
    what = f"{module!r}, shapes {query.shape} {key.shape} {value.shape}, mask {mask}"
    for name, actual, expected in zip(("context", "weights"), module(query, key, value, mask),
                                      ref, strict=True):
        assert_close(actual, expected, what=f"{name}, module vs reference, {what}")
    grad = random_array(np.random.default_rng(seed), ref[0].shape, F64)
    if dot:
        ref_grads, ref_params = reference.dot_attention_backward(query, key, value, mask, grad,
                                                                 scale), {}
    else:
        *ref_grads, ref_params = reference.additive_attention_backward(
            query, key, value, module.state_dict(), mask, grad)
    for label, actual, expected in zip("qkv", module.backward(grad), ref_grads, strict=True):
        assert_grad_close(actual, expected, f"grad of {label}, module vs reference, {what}")
    assert list(module.grads) == list(ref_params)
    for name, expected in ref_params.items():
        assert_grad_close(module.grads[name], expected, f"{name}, module vs reference, {what}")


def test_float32_forward_matches_torch():
    rng = np.random.default_rng(0)
    q, k, v = (random_array(rng, shape, np.float32) for shape in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    mask = np.array([[[True] * 5], [[True] * 2 + [False] * 3]])
    context, _ = rnnlib.DotAttention()(q, k, v, mask)
    expected = torch.nn.functional.scaled_dot_product_attention(
        *map(torch.from_numpy, (q, k, v)), attn_mask=torch.from_numpy(mask), scale=1.0)
    assert context.dtype == np.float32
    assert_close(context, to_numpy(expected), what="float32 dot attention vs SDPA")


class ThroughContext:
    """An attention module in gradcheck's calling convention: one input, the tuple (query, key,
    value); one output, the context; backward returns the input's gradient and no state's."""

    def __init__(self, attention, mask):
        self.attention, self.mask = attention, mask

    def __getattr__(self, name):  # dtype, generator, grads, zero_grad, named_parameters
        return getattr(self.attention, name)

    def __call__(self, inputs):
        return self.attention(*inputs, mask=self.mask)[0]

    def backward(self, grad_context):
        return self.attention.backward(grad_context), None


@pytest.mark.parametrize("module", [rnnlib.DotAttention(0.7, dtype=F64),
                                    rnnlib.AdditiveAttention(3, 2, 4, dtype=F64, seed=0)],
                         ids=["dot", "additive"])
def test_gradcheck(module):
    rng = np.random.default_rng(1)
    key_size = 3 if isinstance(module, rnnlib.DotAttention) else 2
    inputs = (rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 4, key_size)),
              rng.normal(size=(2, 4, 2)))
    mask = np.array([[[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 0]],
                     [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]], bool)  # a fully masked row too
    worst = rnnlib.gradcheck(ThroughContext(module, mask), inputs)
    assert worst <= testing.FINITE_DIFFERENCE.atol, f"{module!r}: worst relative error {worst}"


@pytest.mark.parametrize("module", [rnnlib.DotAttention(dtype=F64),
                                    rnnlib.AdditiveAttention(4, 4, 3, dtype=F64, seed=0)],
                         ids=["dot", "additive"])
def test_masked_keys_get_no_weight_no_gradient_and_no_say(module):
    rng = np.random.default_rng(2)
    q, k, v = (rng.normal(size=shape) for shape in ((3, 2, 4), (3, 6, 4), (3, 6, 5)))
    lengths = np.array([6, 4, 1])
    mask = (np.arange(6) < lengths[:, None])[:, None]  # (N, 1, L_k)
    padded = np.broadcast_to(~mask, (3, 2, 6))
    context, weights = module(q, k, v, mask)
    assert_same(weights[padded], np.zeros(padded.sum()), "weights of the padded keys")
    assert_close(weights.sum(axis=-1), np.ones((3, 2)), what="each row's weights sum to 1")
    _, grad_k, grad_v = module.backward(rng.normal(size=context.shape))
    for name, grad in (("key", grad_k), ("value", grad_v)):
        at_padding = grad[np.arange(6)[None] >= lengths[:, None]]
        assert_same(at_padding, np.zeros_like(at_padding), f"grad of the padded {name}s")
    k2, v2 = k.copy(), v.copy()
    k2[~mask[:, 0]], v2[~mask[:, 0]] = 1e3, -1e3  # whatever the padding holds
    assert_same(module(q, k2, v2, mask)[0], context, "context with other values at the padding")


def test_a_query_with_no_key_gets_zeros_as_in_torch():
    rng = np.random.default_rng(3)
    q, k, v = (rng.normal(size=shape) for shape in ((1, 2, 3), (1, 4, 3), (1, 4, 2)))
    mask = np.array([[[True, False, True, False], [False] * 4]])
    context, weights = rnnlib.DotAttention(dtype=F64)(q, k, v, mask)
    sdpa = torch.nn.functional.scaled_dot_product_attention(
        *map(torch.from_numpy, (q, k, v)), attn_mask=torch.from_numpy(mask), scale=1.0)
    assert_same(to_numpy(sdpa)[0, 1], np.zeros(2), "torch's SDPA on a fully masked row")
    assert_same(context[0, 1], np.zeros(2), "rnnlib's context on a fully masked row")
    assert_same(weights[0, 1], np.zeros(4), "rnnlib's weights on a fully masked row")
    assert_close(context, to_numpy(sdpa), what="context, with and without a live key")


def test_additive_parameters_names_shapes_initialisation_and_repr():
    m = rnnlib.AdditiveAttention(5, 7, 9, seed=0)
    assert [(k, v.shape, v.dtype) for k, v in m.state_dict().items()] == [
        ("q_proj_weight", (9, 5), np.float32), ("k_proj_weight", (9, 7), np.float32),
        ("score_weight", (1, 9), np.float32)]
    for name, fan_in in (("q_proj_weight", 5), ("k_proj_weight", 7), ("score_weight", 9)):
        values = m.state_dict()[name]
        assert np.abs(values).max() <= 1 / np.sqrt(fan_in), f"{name}: nn.Linear's bound"
        assert np.abs(values).max() > 0.5 / np.sqrt(fan_in), f"{name}: drawn, not tiny"
    again = rnnlib.AdditiveAttention(5, 7, 9, seed=0).state_dict()
    for name, value in m.state_dict().items():
        assert_same(again[name], value, f"{name}: the same seed gives the same values")
    assert repr(m) == "AdditiveAttention(query_size=5, key_size=7, hidden_size=9)"
    assert repr(rnnlib.DotAttention()) == "DotAttention(scale=1.0)"
    assert list(rnnlib.DotAttention().state_dict()) == []


def _forward(module, q=(2, 3, 4), k=(2, 5, 4), v=(2, 5, 6), mask=None, dtype=F64):
    arrays = (np.ones(shape, dtype) for shape in (q, k, v))
    return module(*arrays, mask=mask)


DOT = rnnlib.DotAttention(dtype=F64)
ADD = rnnlib.AdditiveAttention(4, 4, 3, dtype=F64, seed=0)


@pytest.mark.parametrize(("call", "error", "fragments"), [
    pytest.param(lambda: _forward(DOT, mask=np.ones((2, 5), bool)), ValueError,
                 (r"broadcastable to the scores' shape \(N, L_q, L_k\) = \(2, 3, 5\)",
                  r"got shape \(2, 5\)",
                  r"padding mask of the keys is \(N, 1, L_k\) = \(2, 1, 5\)"),
                 id="mask_without_the_query_axis"),
    pytest.param(lambda: _forward(DOT, mask=np.ones((2, 1, 4), bool)), ValueError,
                 (r"\(2, 3, 5\)", r"got shape \(2, 1, 4\)"), id="mask_of_the_wrong_length"),
    pytest.param(lambda: _forward(DOT, mask=np.ones((1, 2, 1, 5), bool)), ValueError,
                 (r"\(2, 3, 5\)", r"got shape \(1, 2, 1, 5\)"), id="mask_of_four_dimensions"),
    pytest.param(lambda: _forward(DOT, mask=np.ones((2, 1, 5))), TypeError,
                 (r"Expected a boolean mask", r"True where a key takes part",
                  r"got dtype float64", r"added to the scores"), id="float_mask"),
    pytest.param(lambda: _forward(DOT, dtype=np.float32), TypeError,
                 (r"query must be an array of float64", r"got dtype float32"),
                 id="inputs_of_another_dtype"),
    pytest.param(lambda: _forward(DOT, k=(2, 5, 3), v=(2, 5, 3)), ValueError,
                 (r"same number of features", r"dot product", r"\(2, 3, 4\)",
                  r"\(2, 5, 3\)"), id="dot_query_and_key_sizes_differ"),
    pytest.param(lambda: _forward(ADD, q=(2, 3, 6)), ValueError,
                 (r"query_size=4", r"got 6", r"\(2, 3, 6\)"), id="additive_wrong_query_size"),
    pytest.param(lambda: _forward(ADD, k=(2, 5, 2), v=(2, 5, 2)), ValueError,
                 (r"key_size=4", r"got 2"), id="additive_wrong_key_size"),
    pytest.param(lambda: _forward(DOT, v=(2, 4, 6)), ValueError,
                 (r"same length L_k", r"one value per key", r"\(2, 5, 4\)", r"\(2, 4, 6\)"),
                 id="key_and_value_lengths_differ"),
    pytest.param(lambda: _forward(DOT, q=(3, 3, 4)), ValueError,
                 (r"same batch size N", r"\(3, 3, 4\)", r"\(2, 5, 4\)"), id="batch_sizes_differ"),
    pytest.param(lambda: _forward(DOT, q=(3, 4)), ValueError,
                 (r"Expected query to be 3-D", r"got 2-D", r"\(3, 4\)", r"batch axis"),
                 id="unbatched_query"),
    pytest.param(lambda: _forward(DOT, k=(2, 0, 4), v=(2, 0, 6)), ValueError,
                 (r"at least one key", r"L_k = 0"), id="no_key"),
    pytest.param(lambda: rnnlib.DotAttention(scale="1"), TypeError,
                 (r"scale must be a finite number", r"str '1'"), id="scale_not_a_number"),
    pytest.param(lambda: rnnlib.DotAttention(scale=float("inf")), TypeError,
                 (r"scale must be a finite number", r"inf"), id="scale_infinite"),
    pytest.param(lambda: rnnlib.AdditiveAttention(4, 0, 3), ValueError,
                 (r"key_size must be an int >= 1", r"got 0"), id="additive_size_zero"),
    pytest.param(lambda: rnnlib.DotAttention(dtype=F64).backward(np.ones((2, 3, 6))),
                 RuntimeError, (r"needs a forward call first",), id="backward_before_forward"),
])
def test_refusal(call, error, fragments):
    assert_refuses(call, error, fragments)


@pytest.mark.parametrize("module", [rnnlib.DotAttention(dtype=F64),
                                    rnnlib.AdditiveAttention(4, 4, 3, dtype=F64, seed=0)],
                         ids=["dot", "additive"])
def test_backward_refusals(module):
    _forward(module)
    with pytest.raises(ValueError, match=r"Expected grad_context of shape \(2, 3, 6\) \(the "
                                         r"context's: N, L_q, H_v\), got \(2, 3, 4\)"):
        module.backward(np.ones((2, 3, 4)))
    with pytest.raises(TypeError, match=r"grad_context must be an array of float64"):
        module.backward(np.ones((2, 3, 6), np.float32))
    module.backward(np.ones((2, 3, 6)))
    with pytest.raises(RuntimeError, match=r"already called for the latest forward call"):
        module.backward(np.ones((2, 3, 6)))


def test_torch_refuses_the_same_mask_shape():
    q, k, v = (torch.ones(shape, dtype=torch.float64)
               for shape in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    with pytest.raises(RuntimeError):
        torch.nn.functional.scaled_dot_product_attention(q, k, v,
                                                         attn_mask=torch.ones(2, 1, 4, dtype=bool))


def test_multihead_attentions_key_padding_mask_reads_true_as_ignore():
    """The chapter's trap: ``nn.MultiheadAttention``'s ``key_padding_mask`` has the opposite
    convention (True = ignore) to ``scaled_dot_product_attention``'s boolean ``attn_mask`` and
    rnnlib's (True = takes part)."""
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(4, 1, batch_first=True, dtype=torch.float64)
    q, k = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64)
    padding = torch.tensor([[False] * 5, [False] * 2 + [True] * 3])  # True: a padded key
    _, weights = mha(q, k, k, key_padding_mask=padding)
    assert (weights[1, :, 2:] == 0).all() and (weights[1, :, :2] > 0).all()
    _, rnnlib_weights = rnnlib.DotAttention(dtype=F64)(q.numpy(), k.numpy(), k.numpy(),
                                                       mask=~padding.numpy()[:, None])
    assert_same(rnnlib_weights[1, :, 2:], np.zeros((3, 3)), "rnnlib: True takes part")
