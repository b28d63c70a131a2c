"""The book's tolerances and its one check, as ``numpy.testing`` and ``torch.testing`` hold theirs.

Every comparison in the book and in ``tests/`` uses these. :func:`check` asserts with
``numpy.testing.assert_allclose`` and prints the measured error beside the tolerance the
assertion used, atol and rtol both. It never imports torch: tensors are read through
``np.asarray`` (after ``.detach()`` when they have one).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike


class Tolerance(NamedTuple):
    """Agreement within ``atol + rtol * |expected|``, elementwise, as assert_allclose has it.

    Attributes:
        rtol: the relative tolerance.
        atol: the absolute tolerance.
    """

    rtol: float
    atol: float


FLOAT64 = Tolerance(rtol=1e-10, atol=1e-10)
"""Forward passes in float64, rnnlib or the reference against torch; round-off only."""

FLOAT32 = Tolerance(rtol=1e-5, atol=1e-5)
"""Forward passes in float32, torch's default dtype."""

GRADIENT = Tolerance(rtol=1e-9, atol=1e-9)
"""Hand-written gradients against torch's autograd, float64 (a longer chain of round-off)."""

EXACT = Tolerance(rtol=0.0, atol=0.0)
"""The same numbers read twice (a view, a copy), not recomputed; no difference at all."""

FINITE_DIFFERENCE = Tolerance(rtol=1e-6, atol=1e-6)
"""Hand-written gradients against central differences (:func:`rnnlib.gradcheck`), float64."""


def as_numpy(value: Any) -> np.ndarray:
    """An array, a CPU tensor (with or without grad) or a number, as a NumPy array."""
    return np.asarray(value.detach() if hasattr(value, "detach") else value)


def tolerance_for(*values: np.ndarray) -> Tolerance:
    """:data:`FLOAT32` if any of the values is float32 (or lower), else :data:`FLOAT64`."""
    low = any(np.issubdtype(v.dtype, np.floating) and v.dtype.itemsize <= 4 for v in values)
    return FLOAT32 if low else FLOAT64


def check(label: str, actual: ArrayLike, expected: ArrayLike,
          tol: Tolerance | None = None) -> None:
    """Assert ``actual`` equals ``expected`` within ``tol``, and print by how much.

    Args:
        label: what is compared, printed first.
        actual: the value computed (an array, a tensor or a number).
        expected: the value it must match, of the same shape.
        tol: a :class:`Tolerance`. Default: None, which means :data:`FLOAT32` when either side
            is float32, else :data:`FLOAT64`.

    Returns nothing, so that a notebook cell ending in a check shows only its printed line.

    Raises:
        AssertionError: from ``numpy.testing.assert_allclose``, showing both sides.

    Example:
        >>> check("one plus one", np.float64(1) + 1, 2.0)
        one plus one: max |diff| = 0.0e+00 (allowed: atol 1e-10 + rtol 1e-10 × |expected|)
    """
    actual, expected = as_numpy(actual), as_numpy(expected)
    tol = tolerance_for(actual, expected) if tol is None else tol
    np.testing.assert_allclose(actual, expected, rtol=tol.rtol, atol=tol.atol,
                               err_msg=label)
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    worst = float(diff.max()) if diff.size else 0.0
    print(f"{label}: max |diff| = {worst:.1e} "
          f"(allowed: atol {tol.atol:.0e} + rtol {tol.rtol:.0e} × |expected|)")
