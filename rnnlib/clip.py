"""Gradient clipping by global norm, with the semantics of torch.nn.utils.clip_grad_norm_."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .module import Module, as_modules, distinct_parameters


def clip_grad_norm_(modules: Module | Sequence[Module], max_norm: float,
                    norm_type: float = 2.0) -> float:
    """Scale the ``grads`` of ``modules`` in place so that their joint norm is at most ``max_norm``.

    The norm is taken over every gradient as if concatenated into one vector. The gradients are
    multiplied by ``min(1, max_norm / (total_norm + 1e-6))``; as in torch, a non-finite norm is
    not an error, and a NaN norm makes every gradient NaN.

    Args:
        modules: one module, or a list of modules (``[lstm, linear]``) clipped together, where
            torch takes their parameters.
        max_norm: the largest norm the gradients keep.
        norm_type: the p of the p-norm; ``inf`` for the largest absolute value. Default: 2.0

    Returns:
        The total norm before clipping, as a float.

    Example:
        >>> from rnnlib import Linear
        >>> linear = Linear(2, 1, seed=0)
        >>> linear.grads["weight"][...] = [[3.0, 4.0]]  # norm 5, with the zero bias gradient
        >>> clip_grad_norm_(linear, max_norm=1.0)
        5.0
        >>> linear.grads["weight"].round(4)
        array([[0.6, 0.8]], dtype=float32)
    """
    found = as_modules(modules, "clip_grad_norm_")
    # The norm counts a tied parameter once, with its gradients summed, as torch's does; the
    # scaling then applies to every module's own share of it.
    norms = [g for _, _, g in distinct_parameters(found)]
    grads = [g for module in found for g in module.grads.values()]
    if norm_type == np.inf:
        total = float(np.max([np.max(np.abs(g), initial=0.0) for g in norms]))  # NaN propagates
    else:
        total = float(sum(np.sum(np.abs(g) ** norm_type) for g in norms) ** (1 / norm_type))
    scale = np.minimum(1.0, max_norm / (total + 1e-6))  # NaN propagates, as in torch's clamp
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, silently, as in torch
        for g in grads:
            g *= scale
    return total
