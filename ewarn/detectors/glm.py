"""A small batched quasi-Poisson GLM (log link) for the Farrington detectors.

It follows R's ``glm.fit`` step by step — start at μ = y + 0.1, iteratively reweighted least squares,
stop when the deviance changes by less than 1e-8 relative (at most 25 iterations) — so its numbers
agree with ``surveillance::farringtonFlexible`` to rounding. Like R, the working weights and the
covariance it returns are those of the last iteration's start (R's ``weights`` and ``qr``), and the
dispersion is Pearson's χ² over the residual degrees of freedom.

Every problem of a batch shares one design matrix (the Farrington layout only depends on the
distance from the judged day); days differ in their counts and in which rows are present.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

EPSILON = 1e-8  # glm.control() defaults
MAX_ITERATIONS = 25


@dataclass(frozen=True)
class QuasiPoissonFit:
    """One fitted model per problem of the batch (leading axis)."""

    coefficients: np.ndarray  # (D, q)
    fitted: np.ndarray  # (D, n) μ
    cov_unscaled: np.ndarray  # (D, q, q) (XᵀWX)⁻¹ at the last iteration's weights
    working_weights: np.ndarray  # (D, n) prior weight × μ of the last iteration's start
    dispersion: np.ndarray  # (D,) Pearson χ² / residual df, not floored (NaN for an invalid fit)
    df_residual: np.ndarray  # (D,)
    converged: np.ndarray  # (D,) bool
    valid: np.ndarray  # (D,) bool: False when no coefficients with a finite deviance were found

    def hat_values(self, design: Design) -> np.ndarray:
        """Leverages h_i = w_i xᵢᵀ(XᵀWX)⁻¹xᵢ, as R's ``hatvalues`` gives them."""
        return self.working_weights * design.quadratic(self.cov_unscaled)


class Design:
    """A design matrix shared by a batch of fits, with what makes XᵀWX cheap to form.

    Every XᵀWX entry is Σ wᵢ xᵢₐxᵢᵦ; many of the products xᵢₐxᵢᵦ are zero or repeat (a trend and
    one-hot factor levels give 2·levels + 1 distinct columns instead of (levels + 1)²), so they are
    kept once in ``basis`` and ``spread`` puts the sums back in place.
    """

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix
        n, q = matrix.shape
        products = (matrix[:, :, None] * matrix[:, None, :]).reshape(n, q * q)
        nonzero = np.flatnonzero(np.any(products != 0, axis=0))
        basis, which = np.unique(products[:, nonzero].T, axis=0, return_inverse=True)
        self.basis = np.ascontiguousarray(basis.T)  # (n, r)
        self.spread = np.zeros((basis.shape[0], q * q))  # (r, q²)
        self.spread[which.ravel(), nonzero] = 1.0

    def gram(self, weights: np.ndarray) -> np.ndarray:
        """XᵀWX for each row of ``weights`` (D, n) → (D, q, q)."""
        q = self.matrix.shape[1]
        return ((weights @ self.basis) @ self.spread).reshape(-1, q, q)

    def quadratic(self, matrices: np.ndarray) -> np.ndarray:
        """xᵢᵀMxᵢ for every row i and each M of ``matrices`` (D, q, q) → (D, n)."""
        return (matrices.reshape(matrices.shape[0], -1) @ self.spread.T) @ self.basis.T


def _solve(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve a[d] X = b[d] for each problem (b is (D, q, k)); a singular system gives zeros and
    False, and its fit fails instead of the whole batch."""
    try:
        return np.linalg.solve(a, b), np.ones(a.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        solution, solved = np.zeros(b.shape), np.ones(a.shape[0], dtype=bool)
        for d in range(a.shape[0]):
            try:
                solution[d] = np.linalg.solve(a[d], b[d])
            except np.linalg.LinAlgError:
                solved[d] = False
        return solution, solved


def fit_quasi_poisson(design: Design, y: np.ndarray, prior: np.ndarray, offset: np.ndarray) -> QuasiPoissonFit:
    """Fit log μ = Xβ + offset for each row of ``y`` (rows with prior weight 0 are left out).

    ``design`` is (n, q) and shared; ``y``, ``prior`` and ``offset`` are (D, n). A column with no
    present row in a problem gets coefficient 0 and does not count towards the rank, as R drops an
    empty factor level. A step that makes some μ zero or infinite is halved back towards the
    previous coefficients, as glm.fit does; where even that fails (or on the first step, where R
    stops with an error) the fit is marked invalid.
    """
    gram = design.gram
    design = design.matrix
    n_problems, n_columns = y.shape[0], design.shape[1]
    present = prior > 0
    y = np.where(present, y, 0.0)
    used = present.astype(float) @ (design != 0) > 0  # (D, q)
    pad = np.where(used, 0.0, 1.0)[:, :, None] * np.eye(n_columns)

    # Poisson deviance 2 Σ w (y log(y/μ) − (y − μ)) = 2 (Σ w (y log y − y) − Σ w y log μ + Σ w μ)
    weighted_y = prior * y
    deviance_base = np.sum(prior * special.xlogy(y, y) - weighted_y, axis=1)
    gaps = not present.all()

    def evaluate(
        coefficients: np.ndarray, rows: slice | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """η, μ, deviance and validity (finite deviance, every μ > 0, as glm.fit's checks)."""
        eta_new = coefficients @ design.T + offset[rows]
        with np.errstate(over="ignore", invalid="ignore"):
            mu_new = np.exp(eta_new)
            dev = 2.0 * (deviance_base[rows] - np.sum(weighted_y[rows] * eta_new - prior[rows] * mu_new, axis=1))
            smallest = np.min(np.where(present[rows], mu_new, np.inf) if gaps else mu_new, axis=1)
        return eta_new, mu_new, dev, np.isfinite(dev) & (smallest > 0)

    mu = y + 0.1
    eta = np.log(mu)
    dev_old = 2.0 * (deviance_base - np.sum(weighted_y * eta - prior * mu, axis=1))
    beta = np.zeros((n_problems, n_columns))
    weights = np.zeros_like(y)
    normal = np.broadcast_to(np.eye(n_columns), (n_problems, n_columns, n_columns)).copy()
    converged = np.zeros(n_problems, dtype=bool)
    valid = np.ones(n_problems, dtype=bool)
    for iteration in range(MAX_ITERATIONS):
        live = valid & ~converged
        if not live.any():
            break
        # problems still iterating (a slice while all are: the daily job fits one at a time)
        rows = slice(None) if live.all() else np.flatnonzero(live)
        y_now, mu_now = y[rows], mu[rows]
        w = prior[rows] * mu_now
        z = eta[rows] - offset[rows] + (y_now - mu_now) / mu_now
        a = gram(w) + pad[rows]
        step, solved = _solve(a, ((w * z) @ design)[:, :, None])
        step = step[:, :, 0]
        eta_new, mu_new, dev, ok = evaluate(step, rows)
        ok &= solved
        if iteration > 0:
            previous = beta[rows]
            for _ in range(MAX_ITERATIONS):
                halve = np.flatnonzero(~ok & solved)
                if halve.size == 0:
                    break
                step[halve] = (step[halve] + previous[halve]) / 2
                at = halve if isinstance(rows, slice) else rows[halve]
                eta_new[halve], mu_new[halve], dev[halve], ok[halve] = evaluate(step[halve], at)
        beta[rows], eta[rows], mu[rows] = step, eta_new, mu_new
        weights[rows], normal[rows] = w, a
        valid[rows] = ok
        converged[rows] = ok & (np.abs(dev - dev_old[rows]) / (np.abs(dev) + 0.1) < EPSILON)
        dev_old[rows] = dev

    cov = _solve(normal, np.broadcast_to(np.eye(n_columns), normal.shape))[0] - pad  # (XᵀWX)⁻¹
    df = present.sum(axis=1) - used.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.sum(np.where(present, weights * ((y - mu) / mu) ** 2, 0.0), axis=1)
        dispersion = np.where(valid & (df > 0), pearson / df, np.nan)
    return QuasiPoissonFit(beta, mu, cov, weights, dispersion, df, converged, valid)
