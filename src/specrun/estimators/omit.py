"""Omit factor-level columns that are collinear, as Stata marks them ``o.`` (or ``(empty)``).

The design step (``specrun.data.design``) marks the columns built from factor levels as
omittable and passes them in ``FitContext.omittable``. An estimator calls
:func:`collinear_columns` on its regressors *after* its own transformation (the within sweep
of its fixed effects, or centring when it has a constant) and drops what it returns before its
rank check; any other collinear column still fails that check with a message. Columns are taken
in order and a later one is dropped when it lies in the span of those kept, as Stata's
``_rmcoll`` keeps the first of a collinear set.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

RELATIVE_TOLERANCE = 1e-9  # of a column's norm; sweeps leave rounding error of about 1e-14


def collinear_columns(
    x: np.ndarray, names: Sequence[str], omittable: Collection[str], *, constant: bool
) -> list[str]:
    """Names of the omittable columns of ``x`` (n × k, already swept of the model's fixed
    effects) that are zero or a combination of earlier kept columns (and of a constant when
    ``constant``). Non-omittable columns are always kept: the estimator's own rank check
    reports them."""
    if not omittable or not any(n in omittable for n in names):
        return []
    n = x.shape[0]
    basis: list[np.ndarray] = [np.full(n, 1.0 / np.sqrt(n))] if constant and n else []
    dropped: list[str] = []
    for j, name in enumerate(names):
        column = np.asarray(x[:, j], dtype=float)
        norm = float(np.linalg.norm(column))
        residual = column.copy()
        for q in basis:  # Gram–Schmidt twice over is stable enough for a rank decision
            residual -= q * (q @ residual)
        for q in basis:
            residual -= q * (q @ residual)
        left = float(np.linalg.norm(residual))
        if name in omittable and (norm == 0.0 or left <= RELATIVE_TOLERANCE * max(norm, 1.0)):
            dropped.append(name)
            continue
        if left > 0.0:
            basis.append(residual / left)
    return dropped
