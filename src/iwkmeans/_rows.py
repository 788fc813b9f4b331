"""The samples as the compiled core reads them: dense rows or CSR.

Every kernel takes its samples as three arrays: the values, then the column
indices and row pointers of a CSR matrix, or None twice for a dense
C-contiguous array (whose values are then read in place, without a copy).
"""
from scipy import sparse


def core_rows(X):
    """(values, indices, indptr) of validated samples, for the kernels."""
    if sparse.issparse(X):
        return X.data, X.indices, X.indptr
    return X.reshape(-1), None, None


def take_rows(X, rows):
    """The given rows of X as a dense array (centers are always dense)."""
    picked = X[rows]
    return picked.toarray() if sparse.issparse(picked) else picked
