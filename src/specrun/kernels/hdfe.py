"""High-dimensional fixed effects: factor codes, singleton pruning and the within projection.

Any number of absorbed factors (entity, time, industry, industry × year, …) is swept out of the
columns of an (n, k) array. One factor, and two crossed factors observed once per cell (a
balanced panel) without weights, are exact in one pass; everything else is solved by alternating
projections (the method of alternating projections, Gaure 2013, "OLS with multiple high
dimensional category variables", Comput. Stat. Data Anal. 66) accelerated by Irons and Tuck
(1969) extrapolation, as fixest (Bergé 2018) does. Group means are ``numpy.bincount`` sums over
integer codes, so memory stays O(n·k) whatever the number of levels. The residual equals the
residual of a (weighted) regression on every factor's dummies; ``tests/test_kernel_hdfe.py``
checks it against explicit dummy regressions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Factor:
    """One absorbed factor: integer ``codes`` (n,) in 0..levels-1, every level present."""

    name: str
    codes: np.ndarray
    levels: int

    def subset(self, keep: np.ndarray) -> Factor:
        """The factor on the rows where ``keep`` (bool, (n,)) holds, levels renumbered."""
        codes, levels = compress_codes(self.codes[keep])
        return Factor(self.name, codes, levels)


def compress_codes(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber non-negative integer codes (n,) to 0..levels-1 keeping their order."""
    if codes.size == 0:
        return codes.astype(np.intp), 0
    present = np.bincount(codes) > 0
    if present.all():
        return np.asarray(codes, dtype=np.intp), int(present.size)
    lookup = np.cumsum(present) - 1
    return lookup[codes].astype(np.intp), int(present.sum())


def factor_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes (n,) and the number of distinct values of one column ``values`` (n,).

    The codes are each value's rank among the sorted distinct values (``numpy.unique``'s
    inverse). Integer columns with a compact range are coded by offset (O(n)); columns whose
    equal values sit in contiguous runs (a panel's entity column, sorted by entity in any
    order) by their runs (O(n) comparisons, a sort of the distinct values only); others by
    sorting.
    """
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind in "iub":
        low, high = int(arr.min()), int(arr.max())
        if high - low <= 4 * arr.size:
            return compress_codes(arr - low if low else arr)
    if arr.ndim == 1 and arr.size > 1:
        runs = _run_codes(arr)
        if runs is not None:
            return runs
    _, codes = np.unique(arr, return_inverse=True)
    codes = codes.ravel().astype(np.intp)
    return codes, int(codes.max(initial=-1)) + 1


def _run_codes(arr: np.ndarray) -> tuple[np.ndarray, int] | None:
    """``numpy.unique`` codes of ``arr`` (n,) from its runs of equal values, or None when a
    value appears in more than one run (or NaN breaks equality).

    Sorting n strings dominated every fixed-effects fit at 341,000 rows; comparing neighbours
    and sorting only the runs' heads gives the same ranks when each value is one run.
    """
    with np.errstate(invalid="ignore"):
        changes = arr[1:] != arr[:-1]
    starts = np.flatnonzero(np.concatenate(([True], changes)))
    if starts.size * 2 > arr.size:
        return None  # mostly distinct: the plain sort is as cheap
    heads = arr[starts]
    if heads.dtype.kind == "f" and np.isnan(heads).any():
        return None
    distinct, head_codes = np.unique(heads, return_inverse=True)
    if distinct.size != heads.size:
        return None
    lengths = np.diff(np.append(starts, arr.size))
    return np.repeat(head_codes.ravel().astype(np.intp), lengths), int(distinct.size)


def interact(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Codes of the interaction of several columns (each (n,)): one level per observed cell."""
    codes, levels = factor_codes(columns[0])
    for column in columns[1:]:
        more, more_levels = factor_codes(column)
        codes, levels = factor_codes(codes.astype(np.int64) * more_levels + more)
    return codes, levels


def singleton_rows(factors: Sequence[Factor]) -> np.ndarray:
    """Rows to keep (bool, (n,)) after dropping singletons iteratively, as ``reghdfe`` does.

    A row alone in a level of any factor is dropped; dropping it can make other rows singletons,
    so the sweep repeats until none is left (Correia 2015, "Singletons, cluster-robust standard
    errors and fixed effect bias").
    """
    n = factors[0].codes.size if factors else 0
    keep = np.ones(n, dtype=bool)
    changed = bool(factors)
    while changed:
        changed = False
        for factor in factors:
            counts = np.bincount(factor.codes, weights=keep, minlength=factor.levels)
            lonely = keep & (counts[factor.codes] == 1)
            if lonely.any():
                keep &= ~lonely
                changed = True
    return keep


def group_sums(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group column sums of an (n, k) array, as an (n_groups, k) array."""
    # one bincount per column (an order of magnitude faster than np.add.at), each column
    # contiguous so that bincount reads it without a copy
    columns = values.T if values.flags.f_contiguous else np.asfortranarray(values).T
    out = np.empty((values.shape[1], n_groups))
    for j, column in enumerate(columns):
        out[j] = np.bincount(codes, weights=column, minlength=n_groups)
    return out.T


def group_means(
    values: np.ndarray, codes: np.ndarray, n_groups: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per-group (weighted) column means of an (n, k) array, as an (n_groups, k) array.

    An empty group's mean is NaN.
    """
    if weights is None:
        counts = np.bincount(codes, minlength=n_groups).astype(float)
        sums = group_sums(values, codes, n_groups)
    else:
        counts = np.bincount(codes, weights=weights, minlength=n_groups)
        sums = group_sums(values * weights[:, None], codes, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


@dataclass(frozen=True)
class Demeaned:
    """The residual of ``values`` on the factors' dummies, and how many sweeps it took."""

    values: np.ndarray  # (n, k)
    iterations: int  # full sweeps over all factors (0: exact one-pass formula)
    converged: bool


def grid_layout(first: Factor, second: Factor) -> str | None:
    """How two factors cover their grid: ``"sorted"`` when every (first, second) cell holds one
    row and the rows run through the cells in order (first-major, as a panel sorted by entity
    and period is), ``"grid"`` when every cell holds one row in any order, else None."""
    n = first.codes.size
    if n != first.levels * second.levels:
        return None
    cells = first.codes.astype(np.int64) * second.levels
    cells += second.codes
    # a sorted balanced panel reads as 0, 1, …, n − 1: a reshape then replaces every gather
    if np.array_equal(cells, np.arange(n, dtype=np.int64)):
        return "sorted"
    counts = np.bincount(cells, minlength=n)
    return "grid" if bool(np.all(counts == 1)) else None


def _exact_demean(
    arr: np.ndarray,
    factors: Sequence[Factor],
    weights: np.ndarray | None,
    layout: str | None,
    inverse: Sequence[np.ndarray],
    overwrite: bool,
) -> np.ndarray:
    """One factor, or two factors on a full grid (unweighted): x − x̄ᵢ − x̄ₜ + x̄ in one pass.

    Works column by column on a Fortran-ordered copy, so every column is contiguous for
    ``bincount`` and no (n, k) temporary of gathered means is made. On a sorted grid a column
    is an (levels₁, levels₂) matrix and its group means are row and column means. ``inverse``
    holds each factor's inverse (weighted) group sizes.
    """
    out = arr if overwrite and arr.flags.f_contiguous else np.array(arr, dtype=float, order="F")
    if layout == "sorted":
        first, second = factors
        for j in range(out.shape[1]):
            block = out[:, j].reshape(first.levels, second.levels)
            block -= block.mean(axis=1)[:, None]  # x − x̄ᵢ
            # its column means are x̄ₜ − x̄ on a full grid: subtracting them is exact
            block -= block.mean(axis=0)[None, :]
        return out
    for j in range(out.shape[1]):
        column = out[:, j]
        raw = column.copy() if len(factors) > 1 else column
        weighted = raw if weights is None else raw * weights
        grand = raw.mean() if len(factors) == 2 else 0.0
        for factor, inv in zip(factors, inverse, strict=True):
            means = np.bincount(factor.codes, weights=weighted, minlength=factor.levels)
            with np.errstate(invalid="ignore"):
                means *= inv
            column -= means[factor.codes]
        if len(factors) == 2:
            column += grand
    return out


class _Sweep:
    """One pass of the alternating projections: subtract each factor's group means in turn."""

    def __init__(
        self,
        factors: Sequence[Factor],
        weights: np.ndarray | None,
        inverse_counts: Sequence[np.ndarray],
    ) -> None:
        self.factors = factors
        self.weights = weights
        self.inverse_counts = inverse_counts

    def __call__(self, values: np.ndarray) -> np.ndarray:
        out = np.array(values, order="F")  # contiguous columns for bincount
        for factor, inverse in zip(self.factors, self.inverse_counts, strict=True):
            weighted = out if self.weights is None else out * self.weights[:, None]
            for j in range(out.shape[1]):
                sums = np.bincount(factor.codes, weights=weighted[:, j], minlength=factor.levels)
                with np.errstate(invalid="ignore"):
                    means = sums * inverse
                out[:, j] -= means[factor.codes]
        return out


class Projection:
    """The within projection on a set of factors (and analytic weights), set up once and
    applied to any number of arrays of n rows.

    The setup is what every column's sweep shares: the essential factors (:func:`essential`),
    whether two of them cover a full grid (then the sweep is exact in one pass), and each
    factor's inverse (weighted) group sizes. ``kernels.memo`` keeps a projection for the fits
    of a multiverse that sweep the same rows by the same effects.

    ``weights`` (n,) positive, or None. ``tol`` and ``max_iter`` govern the iterative sweep
    (:func:`demean`), when the projection is not exact in one pass.
    """

    def __init__(
        self,
        factors: Sequence[Factor],
        weights: np.ndarray | None = None,
        *,
        tol: float = 1e-8,
        max_iter: int = 10_000,
    ) -> None:
        self.factors = essential(factors)
        self.weights = weights
        self.tol = tol
        self.max_iter = max_iter
        self.layout = (
            grid_layout(*self.factors) if len(self.factors) == 2 and weights is None else None
        )
        self.exact = len(self.factors) == 1 or self.layout is not None
        self.inverse: list[np.ndarray] = []
        if self.layout != "sorted":
            with np.errstate(divide="ignore"):
                # a level without rows is never gathered back, so its infinite inverse is
                # harmless
                self.inverse = [
                    1.0 / np.bincount(f.codes, weights=weights, minlength=f.levels).astype(float)
                    for f in self.factors
                ]

    @property
    def nbytes(self) -> int:
        """Bytes held: the factors' codes, the inverse group sizes and the weights."""
        held = sum(f.codes.nbytes for f in self.factors) + sum(i.nbytes for i in self.inverse)
        return held + (0 if self.weights is None else self.weights.nbytes)

    def sweep(self, values: np.ndarray, *, overwrite: bool = False) -> Demeaned:
        """Sweep the factors out of the columns of ``values`` ((n,) or (n, k)); see
        :func:`demean`."""
        arr = np.asarray(values, dtype=float)
        flat = arr.ndim == 1
        if flat:
            arr = arr[:, None]
        if not self.factors:
            return Demeaned(arr[:, 0].copy() if flat else arr.copy(), 0, True)
        if self.exact:
            out = _exact_demean(
                arr, self.factors, self.weights, self.layout, self.inverse, overwrite
            )
            return Demeaned(out[:, 0] if flat else out, 0, True)
        out, iterations, converged = self._iterate(arr)
        return Demeaned(out[:, 0] if flat else out, iterations, converged)

    def _iterate(self, arr: np.ndarray) -> tuple[np.ndarray, int, bool]:
        """Alternating projections with the Irons–Tuck step, each column until its own
        convergence (see :func:`demean`)."""
        sweep = _Sweep(self.factors, self.weights, self.inverse)
        tol, max_iter = self.tol, self.max_iter
        scale = np.maximum(np.abs(arr).max(axis=0, initial=0.0), 1e-300)
        out = np.array(arr, order="F")
        active = np.arange(arr.shape[1])
        iterations = 0
        current = out
        while active.size and iterations < max_iter:
            current = out[:, active]
            once = sweep(current)
            iterations += 1
            change = np.abs(once - current).max(axis=0, initial=0.0)
            done = change <= tol * scale[active]
            if done.all():
                out[:, active] = once
                active = active[:0]
                break
            twice = sweep(once)
            iterations += 1
            delta = twice - once
            delta2 = delta - once + current
            ssq = np.einsum("ij,ij->j", delta2, delta2)
            coef = np.divide(
                np.einsum("ij,ij->j", delta, delta2), ssq, out=np.zeros_like(ssq), where=ssq > 0
            )
            step = twice - coef * delta
            # columns already converged keep their plain sweep and leave the active set
            step[:, done] = once[:, done]
            out[:, active] = step
            active = active[~done]
        return out, iterations, active.size == 0


def demean(
    values: np.ndarray,
    factors: Sequence[Factor],
    *,
    weights: np.ndarray | None = None,
    tol: float = 1e-8,
    max_iter: int = 10_000,
    overwrite: bool = False,
) -> Demeaned:
    """Sweep every factor out of the columns of ``values`` ((n,) or (n, k)).

    ``overwrite``: ``values`` (float64, column-major) may be swept in place where the sweep is
    exact in one pass, saving an (n, k) copy; the result then shares its memory.

    ``weights`` (n,), positive, make the projection a weighted one (analytic weights). Iteration
    stops for a column when a full sweep changes no element by more than ``tol`` times that
    column's largest absolute value; ``converged`` is False if ``max_iter`` sweeps did not get
    there. The Irons–Tuck step (fixest's ``demean``) extrapolates from x, T(x), T(T(x)) with
    coefficient δ = ⟨Δ², ΔT⟩ / ⟨Δ², Δ²⟩ per column, where ΔT = T²x − Tx and Δ² = ΔT − Tx + x.
    The one-pass sweeps treat every column on its own; the iterative one sums the Irons–Tuck
    products of all the columns in one call, so a column's last digits may depend on its
    neighbours there (a fit that must give the same bits alone or beside other columns sweeps
    each column on its own, as ``estimators.linear`` does).
    """
    projection = Projection(factors, weights, tol=tol, max_iter=max_iter)
    return projection.sweep(values, overwrite=overwrite)


def essential(factors: Sequence[Factor]) -> list[Factor]:
    """The factors whose dummies span the same space as all of ``factors``.

    A factor whose levels are unions of another's (time inside industry × time) adds nothing to
    the projection; leaving it out makes the sweep cheaper and often exact in one pass. The
    degrees of freedom are counted from the factors as given, not from these.
    """
    kept: list[int] = []
    for i in sorted(range(len(factors)), key=lambda i: -factors[i].levels):
        if not any(nested_in(factors[j], factors[i].codes) for j in kept):
            kept.append(i)
    return [factors[i] for i in sorted(kept)]


def nested_in(factor: Factor, groups: np.ndarray) -> bool:
    """Whether every level of ``factor`` lies inside one group of ``groups`` (codes, (n,))."""
    if factor.codes is groups:
        return True
    # one group per level: any row's group, scattered to its level, must match every row's.
    # Two rows of one level in different groups already disprove it, so a prefix is tried
    # first: most factors that are not nested show it within a few thousand rows.
    seen = np.empty(factor.levels, dtype=groups.dtype)
    head = min(groups.size, 65_536)
    seen[factor.codes[:head]] = groups[:head]
    if not np.array_equal(seen[factor.codes[:head]], groups[:head]):
        return False
    seen[factor.codes] = groups
    return bool(np.array_equal(seen[factor.codes], groups))
