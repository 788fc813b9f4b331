"""BADGE (Ash et al. 2019): k-means++ seeding on gradient embeddings.

BADGE embeds each pool sample as the gradient of the loss with respect to the
model's last layer, taking the model's own prediction as the label, and
seeds k-means++ on those embeddings: a sample has a long gradient when the
model is unsure of it, and k-means++ spreads the picks over directions that
differ, so the batch is both uncertain and diverse.

For a linear last layer with weights W (n_classes x n_inputs) on inputs x and
softmax probabilities p, the cross-entropy gradient at the label
``argmax p`` is ``g(x) = (p - onehot(argmax p)) ⊗ x``, of length
n_classes x n_inputs. Its squared distances follow from the classes and the
inputs separately, because ``<a ⊗ x, b ⊗ y> = <a, b> <x, y>``:

    ||g(x) - g(y)||^2 = ||a||^2 ||x||^2 - 2 <a, b> <x, y> + ||b||^2 ||y||^2
                      = <a, a - b> ||x||^2 - <b, a - b> ||y||^2 + <a, b> ||x - y||^2

with a and b the residuals ``p - onehot``. So the seeding never forms an
embedding: each pick costs one matrix-vector product over the
probabilities and one pass over the features. The second form is the one
computed: where the model treats two samples alike (a = b) it is
``||a||^2 ||x - y||^2``, exact even for inputs far from the origin, where
the first form would be lost to cancellation.
"""

import numpy as np
from sklearn.utils import check_random_state

from .._core import (
    ScaledRows,
    effective_n_threads,
    greedy_kmeans_plusplus,
    kmeans_plusplus_draws,
    take_rows,
)
from .._validation import check_batch_size, check_data, check_n_threads


def select_badge(embeddings, batch_size, *, random_state=None, n_threads=None):
    """BADGE batch selection on gradient embeddings computed by the caller.

    Runs plain k-means++ seeding (one candidate per pick, as in the paper;
    the first pick is uniform) on the embeddings with the compiled seeding
    kernel of :func:`kmeans_plusplus`, and returns the rows it picks.

    Parameters
    ----------
    embeddings : array-like of shape (n_pool, n_dims)
        One gradient embedding per pool sample, from any model: e.g. for a
        network, ``(p - onehot(argmax p)) ⊗ h`` with h the penultimate
        layer's output.
    batch_size : int
        Number of samples to select, at most ``n_pool``.
    random_state : int, RandomState instance or None, default=None
        Source of the k-means++ draws.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Returns
    -------
    indices : ndarray of shape (batch_size,)
        Distinct row indices into ``embeddings``, in the order picked.
    """
    E = check_data(embeddings, name="embeddings")
    check_batch_size(batch_size, E.shape[0], pool_name="embeddings")
    check_n_threads(n_threads)
    no_fixed = np.empty((0, E.shape[1]), dtype=E.dtype)
    return greedy_kmeans_plusplus(
        E,
        np.ones(E.shape[0], dtype=E.dtype),
        no_fixed,
        batch_size,
        check_random_state(random_state),
        1,
        effective_n_threads(n_threads),
    )


def _residuals(proba):
    """p - onehot(argmax p), row by row (ties: the lowest class)."""
    residuals = np.array(proba, dtype=np.float64)
    residuals[np.arange(len(residuals)), np.argmax(residuals, axis=1)] -= 1.0
    return residuals


class LinearGradientEmbedding:
    """Squared distances between the implicit embeddings
    ``g_i = (p_i - onehot(argmax p_i)) ⊗ [x_i, 1]`` (the constant 1 is the
    input of the intercept) without forming any g_i.

    ``proba`` (n, n_classes) and ``X`` (n, n_features, dense or CSR) are
    validated arrays. The inputs are scaled by a power of two (a
    :class:`~iwkmeans._core.ScaledRows` frame around the origin, which
    the embedding depends on) so that no squared norm overflows or
    underflows: :meth:`framed_sq_distances_to` gives the distances times
    ``scale**2``, which changes no draw of the seeding.

    Parameters
    ----------
    proba : ndarray of shape (n, n_classes)
        Validated class probabilities of the n samples.
    X : {ndarray, sparse matrix} of shape (n, n_features)
        Validated inputs of the n samples, dense or CSR.

    Attributes
    ----------
    residuals : ndarray of float64 of shape (n, n_classes)
        ``p_i - onehot(argmax p_i)`` (ties: the lowest class).
    inputs : ScaledRows
        X in its power-of-two frame around the origin.
    input_sq_norms : ndarray of float64 of shape (n,)
        ``||[x_i, 1]||^2`` in the frame.
    """

    def __init__(self, proba, X):
        self.residuals = _residuals(proba)
        self.inputs = ScaledRows(X, shift=False, bound=1.0)
        origin = np.zeros((1, X.shape[1]))
        # ||[x, 1]||^2 in the frame: the constant input scales like x.
        self.input_sq_norms = (
            self.inputs.sq_distances_to(origin) + self.inputs.scale * self.inputs.scale
        )

    def __len__(self):
        return self.inputs.X.shape[0]

    def framed_sq_distances_to(self, row):
        """||g_i - g_row||^2 * scale**2 for every i, clipped at 0 against
        rounding.

        Parameters
        ----------
        row : int
            Index of the sample to measure from.

        Returns
        -------
        sq_distances : ndarray of float64 of shape (n,)
            Squared distance of every sample's embedding to ``g_row``, times
            the frame's ``scale**2``.
        """
        a, b = self.residuals, self.residuals[row]
        d = a - b
        input_sq_distances = self.inputs.sq_distances_to(
            self.inputs.transform(take_rows(self.inputs.X, [row]))
        )
        sq = (
            np.einsum("ij,ij->i", a, d) * self.input_sq_norms
            - (d @ b) * self.input_sq_norms[row]
            + (a @ b) * input_sq_distances
        )
        return np.maximum(sq, 0.0, out=sq)

    def sq_distances_to(self, row):
        """||g_i - g_row||^2 for every i (inf beyond float64's range).

        Parameters
        ----------
        row : int
            Index of the sample to measure from.

        Returns
        -------
        sq_distances : ndarray of float64 of shape (n,)
            Squared distance of every sample's embedding to ``g_row``, in the
            user's units.
        """
        return self.inputs.frame.squared(self.framed_sq_distances_to(row))


def implicit_kmeans_plusplus(embedding, n_picks, random_state):
    """Plain k-means++ seeding on an embedding known only through
    ``embedding.framed_sq_distances_to(row)`` (squared distances times one
    constant power of two); returns the picked rows in order.

    It draws its random numbers as :func:`select_badge` does and maps each
    draw to a row the same way (the first row at which the running total of
    D^2 exceeds ``draw * total``; once every remaining D^2 is 0, the lowest
    row not picked), so both pick the same rows from the same embeddings, up
    to the rounding of the distances.
    """
    n = len(embedding)
    first_draw, draws = kmeans_plusplus_draws(random_state, n_picks, 1)
    picks = np.empty(n_picks, dtype=np.intp)
    picked = np.zeros(n, dtype=bool)
    closest = np.full(n, np.inf)
    for c in range(n_picks):
        # Before the first pick every row is equally far: a uniform draw.
        mass, draw = (np.ones(n), first_draw) if c == 0 else (closest, draws[c, 0])
        running = np.cumsum(mass)
        if running[-1] > 0:
            pick = int(np.searchsorted(running, draw * running[-1], side="right"))
            # Rounding can put the target at the very end: the last row with mass.
            pick = min(pick, int(np.flatnonzero(mass)[-1]))
        else:
            pick = int(np.argmin(picked))
        picks[c] = pick
        picked[pick] = True
        np.minimum(closest, embedding.framed_sq_distances_to(pick), out=closest)
        closest[pick] = 0.0
    return picks
