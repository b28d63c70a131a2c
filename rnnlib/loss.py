"""Cross-entropy of logits against class indices, as torch.nn.functional.cross_entropy."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def log_softmax(input: np.ndarray) -> np.ndarray:
    """log(softmax(input)) over the last dimension, computed stably (max subtracted).

    Args:
        input: logits ``(*, C)``, float32 or float64.

    Returns:
        An array shaped like ``input``, in its dtype.

    Example:
        >>> np.exp(log_softmax(np.array([0.0, np.log(3.0)])))
        array([0.25, 0.75])
    """
    shifted = input - input.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(input: ArrayLike, target: ArrayLike,
                  ignore_index: int = -100) -> tuple[float, np.ndarray]:
    r"""Mean negative log-likelihood of ``target`` under softmax(``input``), and its gradient.

    .. math::
        \ell = -\frac{1}{|S|} \sum_{n \in S} \log \mathrm{softmax}(x_n)_{y_n}, \qquad
        \partial \ell / \partial x_n = (\mathrm{softmax}(x_n) - \mathrm{onehot}(y_n)) / |S|

    where S holds the rows whose target is not ``ignore_index`` (torch's ``reduction='mean'``).

    Args:
        input: (N, C) logits, float32 or float64.
        target: (N,) integer class indices in [0, C), or ``ignore_index``.
        ignore_index: a target value whose rows count neither in the loss nor in the mean.
            Default: -100

    Returns:
        ``(loss, grad_input)``: the loss as a float, and its gradient (N, C) in input's dtype
        (zero on ignored rows). With every row ignored the loss is nan, as in torch.

    Example:
        >>> loss, grad = cross_entropy(np.zeros((2, 3)), np.array([0, 2]))
        >>> round(loss, 4), grad.shape
        (1.0986, (2, 3))
    """
    logits = np.asarray(input)
    if logits.dtype not in (np.float32, np.float64):
        raise TypeError(f"cross_entropy: input must be float32 or float64 logits, got dtype "
                        f"{logits.dtype}")
    labels = np.asarray(target)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: Expected input of shape (N, C), got {logits.shape}; "
                         "flatten a sequence to (N*L, C) first")
    if labels.dtype.kind not in "iu" or labels.shape != logits.shape[:1]:
        raise ValueError(f"cross_entropy: Expected target of integer class indices with shape "
                         f"({logits.shape[0]},), got dtype {labels.dtype}, shape {labels.shape}")
    kept = labels != ignore_index
    classes = logits.shape[1]
    if np.any((labels[kept] < 0) | (labels[kept] >= classes)):
        bad = labels[kept][(labels[kept] < 0) | (labels[kept] >= classes)]
        raise ValueError(f"cross_entropy: target {bad[0]} is out of bounds for {classes} classes "
                         f"(expected 0 <= target < {classes}, or ignore_index={ignore_index})")
    rows = np.flatnonzero(kept)
    count = rows.size
    log_p = log_softmax(logits)  # (N, C)
    loss = -log_p[rows, labels[rows]].sum() / count if count else np.nan
    grad = np.exp(log_p)  # softmax, (N, C)
    grad[rows, labels[rows]] -= 1
    grad[~kept] = 0
    if count:
        grad /= count
    return float(loss), grad
