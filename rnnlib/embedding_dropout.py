"""Embedding dropout: whole rows of an embedding table dropped, so a token is dropped everywhere."""

from __future__ import annotations

from .embedding import Embedding
from .weight_drop import WeightDrop


class EmbeddingDropout(WeightDrop):
    r"""Runs ``embedding`` with whole rows of its ``weight`` dropped, as AWD-LSTM's
    ``embedded_dropout``.

    .. math::
        W \to W \odot \xi, \qquad \xi \in \{0, 1/(1-p)\}^{V \times 1}

    A row is token v's vector, so a dropped token reads zeros at every position of every
    sequence of the call, where dropout on the embedding's output would drop entries of single
    positions. A :class:`WeightDrop` whose mask has one entry per row; in evaluation mode the
    table is used as it is.

    Args:
        embedding: an :class:`rnnlib.Embedding`.
        dropout: the probability p of dropping a row.
        seed: seeds the generator that draws the masks. Default: None (fresh entropy)

    Attributes:
        masks: ``{"weight": mask}``, the mask (V, 1) of the latest training-mode call.

    Shape:
        - Input: ``(*)`` integer indices; output: ``(*, E)``, as the embedding's.

    Example:
        >>> import numpy as np
        >>> from rnnlib import Embedding, EmbeddingDropout
        >>> drop = EmbeddingDropout(Embedding(10, 3), dropout=0.5, seed=0)
        >>> drop(np.array([[1, 2, 1]])).shape, drop.masks["weight"].shape
        ((1, 3, 3), (10, 1))
    """

    def __init__(self, embedding: Embedding, dropout: float, *, seed: int | None = None):
        if not isinstance(embedding, Embedding):
            raise TypeError(f"EmbeddingDropout drops rows of an rnnlib.Embedding, got "
                            f"{type(embedding).__name__}")
        super().__init__(embedding, ["weight"], dropout, seed=seed)

    def _mask_shape(self, name: str) -> tuple[int, int]:
        """One entry per row (token): (V, 1), broadcast over the row's E entries."""
        return (self._params[name].shape[0], 1)
