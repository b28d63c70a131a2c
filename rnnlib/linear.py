"""A fully connected layer y = x W^T + b, as torch.nn.Linear, with its backward pass."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .checks import as_array, check_features, flag, positive_int
from .module import Module
from .recurrence import affine


class Linear(Module):
    r"""Applies an affine map to the last dimension, as ``torch.nn.Linear``.

    .. math::
        y = x W^T + b

    Args:
        in_features: H_in, the size of each input row.
        out_features: H_out, the size of each output row.
        bias: if False, the layer has no ``bias``. Default: True
        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation. Default: None (fresh entropy)

    Attributes:
        weight: (H_out, H_in), drawn from U(-1/sqrt(H_in), 1/sqrt(H_in)): the bound torch's
            default initialisation gives.
        bias: (H_out,), drawn from the same distribution.

    Shape:
        - Input: ``(*, H_in)``, any number of leading dimensions.
        - Output: ``(*, H_out)``.

    Example:
        >>> lin = Linear(20, 10)
        >>> lin(np.zeros((64, 20), np.float32)).shape
        (64, 10)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 dtype: DTypeLike = np.float32, seed: int | None = None):
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.bias_enabled = flag(bias, "bias")
        shapes: dict[str, tuple[int, ...]] = {"weight": (self.out_features, self.in_features)}
        if self.bias_enabled:
            shapes["bias"] = (self.out_features,)
        super().__init__(shapes, self.in_features, dtype, seed)  # bound 1/sqrt(in_features)

    def forward(self, input: ArrayLike) -> np.ndarray:
        """``input`` ``(*, H_in)`` -> ``(*, H_out)``."""
        x = as_array(input, self.dtype, "input")
        if x.ndim == 0:
            raise ValueError(f"Linear: Expected input with at least 1 dimension (*, "
                             f"{self.in_features}), got a 0-D array")
        check_features(x, self.in_features, "Linear")
        self._tape = x
        return affine(x, self.weight, self._params.get("bias"))

    def backward(self, grad_output: ArrayLike) -> np.ndarray:
        """Gradient of the input, shaped like it; ``weight`` and ``bias`` gradients are added to
        ``grads``."""
        x = self._recorded()
        grad = as_array(grad_output, self.dtype, "grad_output")
        expected = x.shape[:-1] + (self.out_features,)
        if grad.shape != expected:
            raise ValueError(f"Linear.backward: Expected grad_output of shape {expected} (the "
                             f"output's), got {grad.shape}")
        self._consume()
        rows, grad_rows = x.reshape(-1, self.in_features), grad.reshape(-1, self.out_features)
        grads = {"weight": grad_rows.T @ rows}  # (H_out, H_in): summed over every leading index
        if self.bias_enabled:
            grads["bias"] = grad_rows.sum(axis=0)
        self._accumulate(grads)
        return grad @ self.weight  # (*, H_in)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias_enabled}")
