"""Gradient clipping by global norm, with the semantics of torch.nn.utils.clip_grad_norm_."""

import numpy as np

from .module import as_modules


def clip_grad_norm_(modules, max_norm, norm_type=2.0):
    """Scale the ``grads`` of ``modules`` in place so that their joint norm is at most ``max_norm``.

    ``modules`` is one module or a list of modules (``[lstm, linear]``), clipped together.
    The norm is taken over every gradient as if concatenated into one vector (``norm_type`` may
    be ``inf``). The gradients are multiplied by ``min(1, max_norm / (total_norm + 1e-6))``; as in
    torch, a non-finite norm is not an error, and a NaN norm makes every gradient NaN.

    Returns:
        The total norm before clipping, as a float.
    """
    grads = [g for module in as_modules(modules, "clip_grad_norm_") for g in module.grads.values()]
    if norm_type == np.inf:
        total = float(np.max([np.max(np.abs(g), initial=0.0) for g in grads]))  # NaN propagates
    else:
        total = float(sum(np.sum(np.abs(g) ** norm_type) for g in grads) ** (1 / norm_type))
    scale = np.minimum(1.0, max_norm / (total + 1e-6))  # NaN propagates, as in torch's clamp
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, silently, as in torch
        for g in grads:
            g *= scale
    return total
