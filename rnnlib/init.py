"""Initialisation in place, with the names and semantics of torch.nn.init (orthogonal_, eye_)."""

from __future__ import annotations

import numbers

import numpy as np


def _writable_float(array, name, ndims, wanted):
    """Refuse what torch.nn.init would refuse, and what NumPy cannot fill in place.

    ``ndims`` tells whether a number of dimensions is accepted, ``wanted`` says which in words.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array (or a view of one) to fill in place, "
                        f"got {type(array).__name__}")
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating-point array, got dtype {array.dtype}: "
                        "an integer array cannot hold the values")
    if not ndims(array.ndim):
        raise ValueError(f"{name}: expected an array with {wanted} dimensions, got shape "
                         f"{array.shape}: a matrix is needed")
    if not array.flags.writeable:
        raise ValueError(f"{name}: the array is read-only, so it cannot be filled in place")


def orthogonal_(array: np.ndarray, gain: float = 1.0,
                generator: np.random.Generator | None = None) -> np.ndarray:
    """Fill ``array`` in place with a (semi-)orthogonal matrix times ``gain``, as torch does.

    The algorithm of ``torch.nn.init.orthogonal_`` (Saxe et al., 2014): draw a standard normal
    matrix of shape (rows, cols), where rows = ``array.shape[0]`` and cols the product of the
    other dimensions; transpose it when rows < cols; take its QR factorisation; multiply each
    column of Q by the sign of the matching diagonal entry of R (which makes Q uniformly
    distributed); transpose back. A tall or square result has orthonormal columns
    (``Q.T @ Q = I``), a wide one orthonormal rows. The matrix is computed in float64 and then
    written in the array's dtype.

    Args:
        array: a floating-point NumPy array with at least 2 dimensions, or a view of one (such as
            one gate's block ``np.split(weight_hh, 4)[k]``); trailing dimensions are flattened.
        gain: the factor the matrix is multiplied by. Default: 1.0
        generator: a ``numpy.random.Generator`` (anything with ``standard_normal(shape)``) to
            draw from. Default: None (a fresh, unseeded one)

    Returns:
        ``array``, filled.

    Raises:
        TypeError: if ``array`` is not a floating-point NumPy array, ``gain`` is not a real
            number, or ``generator`` has no ``standard_normal``.
        ValueError: if ``array`` has fewer than 2 dimensions or is read-only.
    """
    _writable_float(array, "orthogonal_", lambda n: n >= 2, "at least 2")
    if not isinstance(gain, numbers.Real) or isinstance(gain, bool):
        raise TypeError(f"orthogonal_: expected a real number for gain, got {gain!r}")
    if generator is None:
        generator = np.random.default_rng()
    if not hasattr(generator, "standard_normal"):
        raise TypeError("orthogonal_: expected a numpy.random.Generator for generator, got "
                        f"{type(generator).__name__}, which has no standard_normal")
    if array.size == 0:
        return array  # nothing to fill, as in torch
    rows = array.shape[0]
    cols = array.size // rows
    flattened = np.asarray(generator.standard_normal((rows, cols)), dtype=np.float64)
    if rows < cols:
        flattened = flattened.T  # (cols, rows): QR of a tall matrix
    q, r = np.linalg.qr(flattened)  # q: orthonormal columns
    q = q * np.sign(np.diag(r))  # column j times the sign of R[j, j]
    if rows < cols:
        q = q.T  # (rows, cols): orthonormal rows
    array[...] = (gain * q).reshape(array.shape)
    return array


def eye_(array: np.ndarray) -> np.ndarray:
    """Fill the 2-D ``array`` in place with the identity matrix (ones on the main diagonal).

    As ``torch.nn.init.eye_``: a non-square array gets ones at (j, j) for j < min(rows, cols).

    Args:
        array: a 2-D floating-point NumPy array, or a view of one.

    Returns:
        ``array``, filled.

    Raises:
        TypeError: if ``array`` is not a floating-point NumPy array.
        ValueError: if ``array`` is not 2-D or is read-only.
    """
    _writable_float(array, "eye_", lambda n: n == 2, "exactly 2")
    array[...] = np.eye(*array.shape)
    return array
