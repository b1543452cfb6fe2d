"""Input validation shared by every public function of :mod:`companion`.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError``
(right kind, wrong content) with a message that names the offending argument.
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp


def as_float_array(a, name: str, ndim: int | None = None, allow_empty: bool = False) -> np.ndarray:
    """Return ``a`` as a float64 array after checking type, shape and finiteness."""
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be numeric array-like, got a string")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} must be numeric array-like ({exc})") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric array-like, got dtype {arr.dtype}") from exc
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one value is required")
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"{name} contains {bad}; all values must be finite")
    return arr


def check_scalar(x, name: str, *, low: float | None = None, low_inclusive: bool = True,
                 high: float | None = None) -> float:
    """Check a real scalar parameter and return it as ``float``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if low is not None:
        if low_inclusive and x < low:
            raise ValueError(f"{name} must be >= {low}, got {x}")
        if not low_inclusive and x <= low:
            raise ValueError(f"{name} must be > {low}, got {x}")
    if high is not None and x > high:
        raise ValueError(f"{name} must be <= {high}, got {x}")
    return x


def check_X_coef(X, coef, intercept=0.0):
    """Validate a design matrix ``X`` (n, p), coefficients ``coef`` (p,) and a scalar intercept."""
    X = as_float_array(X, "X", ndim=2)
    coef = as_float_array(coef, "coef", ndim=1)
    if coef.shape[0] != X.shape[1]:
        raise ValueError(
            f"coef has {coef.shape[0]} entries but X has {X.shape[1]} columns; they must match")
    intercept = check_scalar(intercept, "intercept")
    return X, coef, intercept


def check_y_length(y: np.ndarray, n: int) -> None:
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n} rows; they must match")


def check_design(X, name: str = "X"):
    """Validate a design matrix: a dense float64 C-contiguous array, or a scipy.sparse matrix
    returned as float64 CSR/CSC (other sparse formats are converted to CSR; never densified)."""
    if sp.issparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional, got shape {X.shape}")
        if X.format not in ("csr", "csc"):
            X = X.tocsr()
        if np.iscomplexobj(X.data):
            raise TypeError(f"{name} must be real-valued, got complex dtype {X.dtype}")
        try:
            X = X.astype(np.float64, copy=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric, got dtype {X.dtype}") from exc
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{name} is empty (shape {X.shape}); at least one value is required")
        if not np.all(np.isfinite(X.data)):
            bad = "NaN" if np.isnan(X.data).any() else "inf"
            raise ValueError(f"{name} contains {bad}; all values must be finite")
        return X
    return np.ascontiguousarray(as_float_array(X, name, ndim=2))
