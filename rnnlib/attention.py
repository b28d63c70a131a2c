"""Attention over a sequence of keys, Luong's dot and Bahdanau's additive, with a padding mask."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .checks import as_array, positive_int
from .module import Module


def read_inputs(module, query, key, value, mask):
    """query, key, value as 3-D arrays of the module's dtype, and the mask as booleans broadcast
    to the scores' shape (N, L_q, L_k), or None; anything else refused with a clear message."""
    who = type(module).__name__
    arrays = [as_array(a, module.dtype, name)
              for a, name in ((query, "query"), (key, "key"), (value, "value"))]
    for array, name in zip(arrays, ("query", "key", "value"), strict=True):
        if array.ndim != 3:
            raise ValueError(f"{who}: Expected {name} to be 3-D, (N, L, features), got "
                             f"{array.ndim}-D (shape {array.shape}); for one sequence add a "
                             "batch axis of size 1")
    q, k, v = arrays
    if k.shape[1] == 0:
        raise ValueError(f"{who}: Expected at least one key, got key of shape {k.shape} with "
                         "L_k = 0: a softmax over no key gives no weights to average with")
    if not q.shape[0] == k.shape[0] == v.shape[0]:
        raise ValueError(f"{who}: query, key and value must have the same batch size N, got "
                         f"shapes {q.shape}, {k.shape} and {v.shape}")
    if k.shape[1] != v.shape[1]:
        raise ValueError(f"{who}: key and value must have the same length L_k (one value per "
                         f"key), got key {k.shape} and value {v.shape}")
    if mask is None:
        return q, k, v, None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{who}: Expected a boolean mask (True where a key takes part, as "
                        f"torch's scaled_dot_product_attention reads a boolean attn_mask), got "
                        f"dtype {mask.dtype}; a float mask would be added to the scores, which "
                        "rnnlib does not do")
    scores = (q.shape[0], q.shape[1], k.shape[1])
    try:
        fits = mask.ndim <= 3 and np.broadcast_shapes(mask.shape, scores) == scores
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{who}: Expected a mask broadcastable to the scores' shape (N, L_q, "
                         f"L_k) = {scores}, one entry per query and key (or 1 to repeat), got "
                         f"shape {mask.shape}; a padding mask of the keys is (N, 1, L_k) = "
                         f"{(scores[0], 1, scores[2])}")
    return q, k, v, np.broadcast_to(mask, scores)


def masked_softmax(scores, mask):
    """Softmax over the last axis, in place, with masked-out keys at weight 0; a row where no key
    takes part is all zeros, as torch's scaled_dot_product_attention returns it."""
    if mask is not None:
        scores[~mask] = -np.inf
    top = scores.max(axis=-1, keepdims=True)  # -inf in a row with no key
    top[np.isneginf(top)] = 0
    scores -= top
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    scores /= total
    return scores


def softmax_and_average_backward(weights, value, grad_context):
    """(grad of the scores, grad of the value), given the context's gradient."""
    grad_weights = grad_context @ value.swapaxes(1, 2)  # (N, L_q, L_k)
    grad_weights -= (grad_weights * weights).sum(axis=-1, keepdims=True)
    grad_weights *= weights  # through the softmax: w * (dw - sum(w * dw))
    return grad_weights, weights.swapaxes(1, 2) @ grad_context  # (N, L_q, L_k), (N, L_k, H_v)


class Attention(Module):
    """What both attentions share: the mask, the softmax, the weighted average, their backward.

    Subclasses check the sizes (``_check_sizes``), compute the scores (``_scores(query, key)``
    returns them and what their backward needs) and differentiate them
    (``_scores_backward(query, key, saved, grad_scores)``).
    """

    def forward(self, query: ArrayLike, key: ArrayLike, value: ArrayLike,
                mask: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(context, weights)``: ``(N, L_q, H_v)`` and ``(N, L_q, L_k)``.

        Args:
            query: ``(N, L_q, H_q)``, one row per position that asks.
            key: ``(N, L_k, H_k)``, one row per position that can be attended to.
            value: ``(N, L_k, H_v)``, what each key's position contributes to the context.
            mask: None, or booleans broadcastable to ``(N, L_q, L_k)``: True where the key
                takes part, as torch's ``scaled_dot_product_attention`` reads a boolean
                ``attn_mask``; a padding mask is ``(N, 1, L_k)``. Default: None
        """
        q, k, v, mask = read_inputs(self, query, key, value, mask)
        self._check_sizes(q, k)
        scores, saved = self._scores(q, k)  # (N, L_q, L_k)
        weights = masked_softmax(scores, mask)
        self._tape = q, k, v, weights, saved
        return weights @ v, weights.copy()  # (N, L_q, H_v)

    def backward(self, grad_context: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(grad_query, grad_key, grad_value)``, each shaped like its input, given
        ``grad_context`` = ∂loss/∂context; parameter gradients are added to ``grads``.

        The weights are returned by forward for inspection only: no gradient flows from them.
        A masked-out key gets no gradient, and neither does its value.
        """
        q, k, v, weights, saved = self._recorded()
        grad = as_array(grad_context, self.dtype, "grad_context")
        expected = (q.shape[0], q.shape[1], v.shape[2])
        if grad.shape != expected:
            raise ValueError(f"{type(self).__name__}.backward: Expected grad_context of shape "
                             f"{expected} (the context's: N, L_q, H_v), got {grad.shape}")
        self._consume()
        grad_scores, grad_value = softmax_and_average_backward(weights, v, grad)
        return (*self._scores_backward(q, k, saved, grad_scores), grad_value)


class DotAttention(Attention):
    r"""Luong's dot attention: each query scores each key by their dot product.

    .. math::
        \alpha = \mathrm{softmax}(\mathrm{scale} \cdot \mathrm{query}\, \mathrm{key}^\top),
        \qquad \mathrm{context} = \alpha\, \mathrm{value}

    with the softmax over the keys. With ``scale=1/sqrt(H_k)`` this is torch's
    ``scaled_dot_product_attention`` (its default scale); with the default ``scale=1`` it is
    that function called with ``scale=1.0``.

    Args:
        scale: multiplies every score. Default: 1.0 (Luong's dot attention)
        dtype: the dtype query, key and value must have (rnnlib never converts): float32 or
            float64. Default: float32

    Shape:
        - Input: query ``(N, L_q, H_k)``, key ``(N, L_k, H_k)``, value ``(N, L_k, H_v)``, and
          an optional boolean mask broadcastable to ``(N, L_q, L_k)``, True where the key takes
          part.
        - Output: ``(context, weights)``, ``(N, L_q, H_v)`` and ``(N, L_q, L_k)``. A query
          whose every key is masked out gets zero weights and a zero context (and no
          gradient), as torch's ``scaled_dot_product_attention`` returns it.

    Example:
        >>> attention = DotAttention(dtype=np.float64)
        >>> keys = np.ones((2, 5, 4))
        >>> context, weights = attention(np.ones((2, 3, 4)), keys, keys)
        >>> context.shape, weights.shape
        ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, scale: float = 1.0, *, dtype: DTypeLike = np.float32):
        if (not isinstance(scale, numbers.Real) or isinstance(scale, bool)
                or not np.isfinite(scale)):
            raise TypeError(f"scale must be a finite number (1.0 for Luong's dot attention), "
                            f"got {type(scale).__name__} {scale!r}")
        self.scale = float(scale)
        super().__init__({}, 0, dtype, None)

    def _check_sizes(self, query, key):
        if query.shape[2] != key.shape[2]:
            raise ValueError(f"DotAttention: query and key must have the same number of "
                             f"features, since each score is their dot product; got query "
                             f"{query.shape} and key {key.shape} (AdditiveAttention takes "
                             "different sizes)")

    def _scores(self, query, key):
        scores = query @ key.swapaxes(1, 2)  # (N, L_q, L_k)
        scores *= self.scale
        return scores, None

    def _scores_backward(self, query, key, saved, grad_scores):
        grad_scores *= self.scale
        return grad_scores @ key, grad_scores.swapaxes(1, 2) @ query  # like query, like key

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class AdditiveAttention(Attention):
    r"""Bahdanau's additive attention: a one-layer network scores each query against each key.

    .. math::
        \mathrm{score} = \tanh(\mathrm{query}\, W_{\mathrm{query}}^\top
        + \mathrm{key}\, W_{\mathrm{key}}^\top)\, w_{\mathrm{score}}^\top, \qquad
        \alpha = \mathrm{softmax}(\mathrm{score}), \qquad
        \mathrm{context} = \alpha\, \mathrm{value}

    for every query and key, with the softmax over the keys.

    torch has no such module. The parameters are named as ``nn.MultiheadAttention`` names its
    separate query and key projections (``q_proj_weight``, ``k_proj_weight``), and are laid
    out, and initialised, as the weights of ``nn.Linear(in, out, bias=False)`` layers would be.

    Args:
        query_size: H_q, the features of each query.
        key_size: H_k, the features of each key.
        hidden_size: H_att, the size of the scoring network's hidden layer.
        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation. Default: None (fresh entropy)

    Attributes:
        q_proj_weight: W_query ``(H_att, H_q)``, drawn from U(-1/sqrt(H_q), 1/sqrt(H_q)).
        k_proj_weight: W_key ``(H_att, H_k)``, drawn from U(-1/sqrt(H_k), 1/sqrt(H_k)).
        score_weight: w_score ``(1, H_att)``, drawn from U(-1/sqrt(H_att), 1/sqrt(H_att)).

    Shape:
        - Input: query ``(N, L_q, H_q)``, key ``(N, L_k, H_k)``, value ``(N, L_k, H_v)``, and
          an optional boolean mask broadcastable to ``(N, L_q, L_k)``, True where the key takes
          part.
        - Output: ``(context, weights)``, ``(N, L_q, H_v)`` and ``(N, L_q, L_k)``. A query
          whose every key is masked out gets zero weights and a zero context (and no
          gradient), as torch's ``scaled_dot_product_attention`` returns it.

    Example:
        >>> attention = AdditiveAttention(4, 6, 8, seed=0)
        >>> keys = np.ones((2, 5, 6), np.float32)
        >>> context, weights = attention(np.ones((2, 3, 4), np.float32), keys, keys)
        >>> context.shape, weights.shape
        ((2, 3, 6), (2, 3, 5))
    """

    def __init__(self, query_size: int, key_size: int, hidden_size: int, *,
                 dtype: DTypeLike = np.float32, seed: int | None = None):
        self.query_size = positive_int(query_size, "query_size")
        self.key_size = positive_int(key_size, "key_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        columns = {"q_proj_weight": self.query_size, "k_proj_weight": self.key_size,
                   "score_weight": self.hidden_size}
        shapes = {name: (1 if name == "score_weight" else self.hidden_size, size)
                  for name, size in columns.items()}
        super().__init__(shapes, 0, dtype, seed)
        for name, size in columns.items():  # nn.Linear's bound: 1/sqrt(in_features)
            bound = 1 / np.sqrt(size)
            self._params[name][...] = self.generator.uniform(-bound, bound, shapes[name])

    def _check_sizes(self, query, key):
        for array, name, size in ((query, "query", self.query_size),
                                  (key, "key", self.key_size)):
            if array.shape[2] != size:
                raise ValueError(f"AdditiveAttention: Expected {name} with {name}_size={size} "
                                 f"features in its last dimension, got {array.shape[2]} (shape "
                                 f"{array.shape})")

    def _scores(self, query, key):
        hidden = (query @ self.q_proj_weight.T)[:, :, None] + (key @ self.k_proj_weight.T)[:, None]
        np.tanh(hidden, out=hidden)  # (N, L_q, L_k, H_att)
        return hidden @ self.score_weight[0], hidden  # (N, L_q, L_k), and tanh's output

    def _scores_backward(self, query, key, hidden, grad_scores):
        n_q, n_k = query.shape[0] * query.shape[1], key.shape[0] * key.shape[1]
        grad_score_weight = grad_scores.reshape(1, -1) @ hidden.reshape(-1, self.hidden_size)
        np.square(hidden, out=hidden)
        np.subtract(1, hidden, out=hidden)  # tanh' = 1 - tanh^2
        hidden *= grad_scores[..., None] * self.score_weight[0]  # grad of tanh's input
        grad_q, grad_k = hidden.sum(axis=2), hidden.sum(axis=1)  # (N, L_q, H_att), (N, L_k, H_att)
        self._accumulate({
            "q_proj_weight": grad_q.reshape(n_q, -1).T @ query.reshape(n_q, -1),
            "k_proj_weight": grad_k.reshape(n_k, -1).T @ key.reshape(n_k, -1),
            "score_weight": grad_score_weight})
        return grad_q @ self.q_proj_weight, grad_k @ self.k_proj_weight

    def extra_repr(self) -> str:
        return (f"query_size={self.query_size}, key_size={self.key_size}, "
                f"hidden_size={self.hidden_size}")
