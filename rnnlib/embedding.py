"""A table of learned vectors, one row per token, as torch.nn.Embedding, with its backward."""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .checks import as_array, positive_int
from .module import Module
from .reference import embedding, embedding_backward


def token_indices(value, num_embeddings, who):
    """``value`` as an integer array of indices in [0, num_embeddings), or a clear refusal."""
    indices = np.asarray(value)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{who}: Expected integer token indices (as torch's int64 or int32 "
                        f"tensors), got an array of dtype {indices.dtype}; an index picks a row "
                        "of the table, so it must be a whole number (cast with .astype(np.int64))")
    bad = (indices < 0) | (indices >= num_embeddings)
    if bad.any():
        raise ValueError(f"{who}: index {indices[bad].flat[0]} is out of range: expected indices "
                         f"in [0, {num_embeddings}) for a table of {num_embeddings} rows "
                         "(torch's error: index out of range in self)")
    return indices


def padding_row(padding_idx, num_embeddings):
    """torch's ``padding_idx`` as a row number in [0, num_embeddings), or None."""
    if padding_idx is None:
        return None
    if not isinstance(padding_idx, numbers.Integral) or isinstance(padding_idx, bool):
        raise TypeError(f"padding_idx must be an int or None, got "
                        f"{type(padding_idx).__name__} {padding_idx!r}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"padding_idx must be within num_embeddings: expected an int in "
                         f"[{-num_embeddings}, {num_embeddings}) for a table of {num_embeddings} "
                         f"rows, got {padding_idx}")
    return int(padding_idx) % num_embeddings  # -1 is the last row, as in torch


class Embedding(Module):
    r"""A table of ``num_embeddings`` vectors of size ``embedding_dim``, read by index, as
    ``torch.nn.Embedding``.

    .. math::
        y_{\dots} = W[x_{\dots}]

    Args:
        num_embeddings: V, the number of rows (the vocabulary size).
        embedding_dim: E, the size of each vector.
        padding_idx: a row that gets no gradient (and starts at zero), for the padding token;
            negative values count from the end, as in torch. Default: None
        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation. Default: None (fresh entropy)

    Attributes:
        weight: the table (V, E), drawn from N(0, 1) as torch's default initialisation, with
            row ``padding_idx`` set to zero.

    Shape:
        - Input: ``(*)``, integer indices in [0, V), any shape.
        - Output: ``(*, E)``.

    Example:
        >>> emb = Embedding(10, 3, padding_idx=0)
        >>> emb(np.array([[1, 2, 0]])).shape
        (1, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 dtype: DTypeLike = np.float32, seed: int | None = None):
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.padding_idx = padding_row(padding_idx, self.num_embeddings)
        self.freeze = False
        super().__init__({"weight": (self.num_embeddings, self.embedding_dim)}, 0, dtype, seed)
        self._params["weight"][...] = self.generator.standard_normal(self.weight.shape)
        if self.padding_idx is not None:
            self._params["weight"][self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: ArrayLike, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        """An Embedding holding a copy of ``embeddings`` (V, E), as torch's ``from_pretrained``.

        Args:
            embeddings: (V, E) float32 or float64 array; its dtype becomes the module's.
            freeze: if True, backward leaves ``grads`` at zero and optimizers skip ``weight``,
                as torch's do for a weight with ``requires_grad=False``. Default: True
            padding_idx: as in the constructor; the given row is kept as it is, not zeroed.
                Default: None
        """
        table = np.asarray(embeddings)
        if table.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: Expected embeddings of 2 dimensions "
                             f"(num_embeddings, embedding_dim), got shape {table.shape}")
        rows, size = table.shape
        module = cls(rows, size, padding_idx=padding_idx, dtype=table.dtype)
        module._params["weight"][...] = table
        module.freeze = bool(freeze)
        return module

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``("weight", array)``, unless frozen: then nothing, so that optimizers leave it
        as it is (torch yields a frozen weight, whose ``requires_grad=False`` keeps it out of
        training)."""
        if not self.freeze:
            yield from super().named_parameters()

    def forward(self, input: ArrayLike) -> np.ndarray:
        """``input`` ``(*)`` integer indices -> ``(*, E)``."""
        indices = token_indices(input, self.num_embeddings, "Embedding")
        self._tape = indices
        return embedding(self.weight, indices)

    def backward(self, grad_output: ArrayLike) -> None:
        """Add the gradient of ``weight`` into ``grads`` (none on row ``padding_idx``, none at
        all when frozen). Indices have no gradient, so this returns None."""
        indices = self._recorded()
        expected = indices.shape + (self.embedding_dim,)
        grad = as_array(grad_output, self.dtype, "grad_output")
        if grad.shape != expected:
            raise ValueError(f"Embedding.backward: Expected grad_output of shape {expected} (the "
                             f"output's), got {grad.shape}")
        self._consume()
        if not self.freeze:
            self._accumulate({"weight": embedding_backward(self.weight.shape, indices, grad,
                                                           self.padding_idx)})

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
